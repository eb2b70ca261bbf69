#include "spec/cache.h"

#include <cstdio>

#include "base/binary.h"

namespace natc::spec {

constexpr std::string_view kMagic = "natc-parse-cache\n";
constexpr uint32_t kVersion = 1;

class TreeCodec {
 public:
  static void write(base::BinaryWriter& w, const Tree& t) {
    w.str(t.arena_);
    w.u32(t.root_);
    w.u32(uint32_t(t.nodes_.size()));
    for (const Tree::Node& n : t.nodes_) {
      w.u8(uint8_t(n.kind));
      w.u8(n.plain);
      w.u32(n.loc.line);
      w.u32(n.loc.col);
      w.u32(n.text);
      w.u32(n.len);
      w.u32(n.first);
      w.u32(n.next);
    }
  }

  static std::optional<Tree> read(base::BinaryReader& r) {
    Tree t;
    t.arena_ = r.str();
    t.root_ = r.u32();
    t.nodes_.resize(r.count(26));
    for (Tree::Node& n : t.nodes_) {
      uint8_t kind = r.u8();
      if (kind > uint8_t(Kind::Map)) return std::nullopt;
      n.kind = Kind(kind);
      n.plain = r.u8() != 0;
      n.loc.line = r.u32();
      n.loc.col = r.u32();
      n.text = r.u32();
      n.len = r.u32();
      n.first = r.u32();
      n.next = r.u32();
    }
    if (!r.done() || !is_tree(t)) return std::nullopt;
    return t;
  }

 private:
  // Every link points forward and at a node nothing else points at, so a
  // walk ends and visits each node once; every count is what it counts.
  static bool is_tree(const Tree& t) {
    size_t n = t.nodes_.size();
    if (t.root_ >= n) return false;
    std::vector<uint8_t> reached(n, 0);
    reached[t.root_] = 1;
    auto link = [&](uint32_t from, uint32_t to) {
      if (to == Tree::kNone) return true;
      if (to <= from || to >= n || reached[to]) return false;
      reached[to] = 1;
      return true;
    };
    for (uint32_t i = 0; i < n; ++i) {
      const Tree::Node& node = t.nodes_[i];
      if (!link(i, node.first) || !link(i, node.next)) return false;
      bool container = node.kind == Kind::Seq || node.kind == Kind::Map;
      if (node.kind == Kind::Scalar && (node.text > t.arena_.size() || node.len > t.arena_.size() - node.text))
        return false;
      if (!container && node.first != Tree::kNone) return false;
      if (container) {
        uint32_t count = 0;
        for (uint32_t c = node.first; c != Tree::kNone && count <= node.len; c = t.nodes_[c].next) ++count;
        if (count != node.len || (node.kind == Kind::Map && count % 2)) return false;
      }
    }
    return true;
  }
};

std::string cache_name(std::string_view path) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(base::checksum64(path)));
  return std::string("parse-") + hex + ".tree";
}

std::string encode_cached(std::string_view path, const base::SourceFile::Stamp& stamp, const Tree& t) {
  base::BinaryWriter w;
  w.str(path);
  w.u64(stamp.size);
  w.u64(stamp.mtime_ns);
  w.u64(stamp.inode);
  w.u64(stamp.device);
  TreeCodec::write(w, t);
  return w.file(kMagic, kVersion);
}

std::optional<Tree> decode_cached(std::string_view bytes, std::string_view path, const base::SourceFile::Stamp& stamp,
                                  std::string* why) {
  auto r = base::BinaryReader::open(bytes, kMagic, kVersion, why);
  if (!r) return std::nullopt;
  base::SourceFile::Stamp was;
  bool same_file = r->str() == path;
  was.size = r->u64();
  was.mtime_ns = r->u64();
  was.inode = r->u64();
  was.device = r->u64();
  if (!same_file || !(was == stamp)) {
    *why = "made for another file or an older version of it";
    return std::nullopt;
  }
  auto t = TreeCodec::read(*r);
  if (!t) *why = "malformed";
  return t;
}

std::optional<Tree> ParseCache::get(const base::SourceFile::Part& file) {
  std::optional<Tree> t;
  if (file.stamp) {
    std::string why;
    if (auto bytes = dir_.read(cache_name(file.name))) t = decode_cached(*bytes, file.name, *file.stamp, &why);
  }
  ++(t ? hits : misses);
  return t;
}

void ParseCache::put(const base::SourceFile::Part& file, const Tree& t) {
  if (file.stamp) held_.emplace_back(cache_name(file.name), encode_cached(file.name, *file.stamp, t));
}

void ParseCache::commit() {
  for (const auto& [name, bytes] : held_) {
    try {
      dir_.write(name, bytes);
    } catch (const std::exception&) {
      return;
    }
  }
  held_.clear();
}

}  // namespace natc::spec
