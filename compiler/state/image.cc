#include "state/image.h"

#include "base/binary.h"

namespace natc::state {
namespace {

constexpr std::string_view kMagic = "natc-image\n";
constexpr uint32_t kVersion = 1;

using base::BinaryReader;
using base::BinaryWriter;

// --- writing -----------------------------------------------------------------

enum Tag : uint8_t { kRange, kProto, kPort };

void put_parts(BinaryWriter& w, const std::vector<nft::Part>& parts) {
  w.u8(uint8_t(parts.size()));
  for (const auto& p : parts) {
    if (const auto* r = std::get_if<nft::AddrRange>(&p)) {
      w.u8(kRange);
      w.u8(uint8_t(r->first.family));
      w.bytes(r->first.bytes.data(), r->first.size());
      w.bytes(r->last.bytes.data(), r->last.size());
    } else if (const auto* proto = std::get_if<nft::Proto>(&p)) {
      w.u8(kProto);
      w.u8(uint8_t(*proto));
    } else {
      w.u8(kPort);
      w.u16(std::get<uint16_t>(p));
    }
  }
}

// --- reading -----------------------------------------------------------------

template <class Enum>
bool enum_of(uint8_t v, Enum last, Enum* out) {
  if (v > uint8_t(last)) return false;
  *out = Enum(v);
  return true;
}

bool get_parts(BinaryReader& r, std::vector<nft::Part>* parts) {
  size_t n = r.u8();
  parts->reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint8_t tag = r.u8();
    if (tag == kRange) {
      nft::AddrRange range;
      if (!enum_of(r.u8(), base::Family::V6, &range.first.family)) return false;
      range.last.family = range.first.family;
      r.bytes(range.first.bytes.data(), range.first.size());
      r.bytes(range.last.bytes.data(), range.last.size());
      parts->emplace_back(range);
    } else if (tag == kProto) {
      parts->emplace_back(nft::Proto(r.u8()));
    } else if (tag == kPort) {
      parts->emplace_back(r.u16());
    } else {
      return false;
    }
  }
  return r.ok();
}

bool get_set(BinaryReader& r, nft::Set* s) {
  s->name = r.str();
  if (!enum_of(r.u8(), base::Family::V6, &s->family)) return false;
  for (size_t i = 0, n = r.u8(); i < n && r.ok(); ++i)
    if (!enum_of(r.u8(), nft::Field::Sport, &s->key.emplace_back())) return false;
  for (size_t i = 0, n = r.u8(); i < n && r.ok(); ++i)
    if (!enum_of(r.u8(), nft::Data::Port, &s->data.emplace_back())) return false;
  uint8_t flags = r.u8();
  s->interval = flags & 1;
  s->counter = flags & 2;
  if (!enum_of(r.u8(), nft::Role::NptAccept, &s->role)) return false;
  size_t n = r.count(6);  // two part counts, an entry's length
  s->elements.resize(n);
  for (auto& e : s->elements) {
    if (!get_parts(r, &e.key) || !get_parts(r, &e.data)) return false;
    e.entry = r.str();
  }
  return r.ok();
}

}  // namespace

std::string encode_image(std::string_view instance, uint32_t genid, const std::vector<nft::Set>& sets) {
  BinaryWriter w;
  w.str(instance);
  w.u32(genid);
  w.u32(uint32_t(sets.size()));
  for (const auto& s : sets) {
    w.str(s.name);
    w.u8(uint8_t(s.family));
    w.u8(uint8_t(s.key.size()));
    for (auto f : s.key) w.u8(uint8_t(f));
    w.u8(uint8_t(s.data.size()));
    for (auto d : s.data) w.u8(uint8_t(d));
    w.u8(uint8_t(uint8_t(s.interval) | uint8_t(s.counter) << 1));
    w.u8(uint8_t(s.role));
    w.u32(uint32_t(s.elements.size()));
    for (const auto& e : s.elements) {
      put_parts(w, e.key);
      put_parts(w, e.data);
      w.str(e.entry);
    }
  }
  return w.file(kMagic, kVersion);
}

std::optional<Image> decode_image(std::string_view bytes, std::string* why) {
  auto r = BinaryReader::open(bytes, kMagic, kVersion, why);
  if (!r) return std::nullopt;
  Image img;
  img.instance = r->str();
  img.genid = r->u32();
  img.sets.resize(r->count(12));
  for (auto& s : img.sets)
    if (!r->ok() || !get_set(*r, &s)) r->fail();
  if (!r->done()) {
    *why = "malformed";
    return std::nullopt;
  }
  return img;
}

void write_image(Dir& d, kernel::Kernel& k, uint32_t genid, const std::vector<nft::Set>& sets) {
  std::string instance = k.instance();
  if (instance.empty()) {
    d.remove(std::string(kImageFile));
    return;
  }
  d.write(std::string(kImageFile), encode_image(instance, genid, sets));
}

std::optional<kernel::Live> live_from_image(kernel::Kernel& k, Dir& d, std::string* why) {
  std::string instance = k.instance();
  if (instance.empty()) {
    *why = "no ruleset generation to trust here";
    return std::nullopt;
  }
  auto bytes = d.read(std::string(kImageFile));
  if (!bytes) {
    *why = "no image of the last apply";
    return std::nullopt;
  }
  std::string problem;
  auto img = decode_image(*bytes, &problem);
  if (!img) {
    *why = "the image of the last apply is damaged (" + problem + ")";
    return std::nullopt;
  }
  if (img->instance != instance) {
    *why = "the image is from another boot or network namespace";
    return std::nullopt;
  }
  auto partial = k.dump_unchanged(img->genid);
  if (!partial) {
    *why = "the ruleset changed since natc's last apply";
    return std::nullopt;
  }
  kernel::Live live = k.decode(*partial);
  live.sets.reserve(img->sets.size());
  for (auto& s : img->sets) live.sets.push_back({std::move(s), true});
  kernel::finish_hash(live);
  return live;
}

kernel::Live read_live(kernel::Kernel& k, Dir& d, std::string* how) {
  std::string why;
  if (auto live = live_from_image(k, d, &why)) {
    *how = "image";
    return std::move(*live);
  }
  *how = "dump: " + why;
  return k.read();
}

}  // namespace natc::state
