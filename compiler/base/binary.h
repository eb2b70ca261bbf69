// Compact binary files natc writes for itself (the state image, the parse
// cache): fixed-width little-endian numbers and length-prefixed strings,
// behind a header with a format name, a version and a checksum. A Reader
// never reads past its input and never allocates more than the input
// could describe, so a damaged or hostile file is an error, never a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace natc::base {

// A checksum of files natc wrote (it tells damage, it is no MAC): FNV-1a's
// multiply over eight bytes at a time, megabytes in a millisecond or two.
inline uint64_t checksum64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ uint8_t(bytes[i])) * 0x100000001b3ull;
  return h;
}

class BinaryWriter {
 public:
  void u8(uint8_t v) { out_ += char(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void bytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  void str(std::string_view s) {
    u32(uint32_t(s.size()));
    out_.append(s);
  }
  // The file: `magic`, `version`, the payload's checksum, the payload.
  std::string file(std::string_view magic, uint32_t version) const {
    BinaryWriter head;
    head.bytes(magic.data(), magic.size());
    head.u32(version);
    head.u64(checksum64(out_));
    return head.out_ + out_;
  }

 private:
  void put(uint64_t v, int n) {
    char b[8];
    for (int i = 0; i < n; ++i) b[i] = char(uint8_t(v >> (8 * i)));
    out_.append(b, size_t(n));
  }
  std::string out_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  // The payload of a file BinaryWriter::file wrote with this magic and
  // version; nullopt with `why` otherwise.
  static std::optional<BinaryReader> open(std::string_view file, std::string_view magic, uint32_t version,
                                          std::string* why) {
    BinaryReader r(file);
    if (file.substr(0, magic.size()) != magic) return fail(why, "not a natc file of this kind");
    r.at_ = magic.size();
    if (r.u32() != version) return fail(why, "written by another version of natc");
    uint64_t sum = r.u64();
    if (!r.ok_) return fail(why, "truncated");
    std::string_view payload = file.substr(r.at_);
    if (checksum64(payload) != sum) return fail(why, "checksum mismatch");
    return BinaryReader(payload);
  }

  uint8_t u8() { return uint8_t(get(1)); }
  uint16_t u16() { return uint16_t(get(2)); }
  uint32_t u32() { return uint32_t(get(4)); }
  uint64_t u64() { return get(8); }
  bool bytes(void* p, size_t n) {
    if (!take(n)) return false;
    std::memcpy(p, in_.data() + at_ - n, n);
    return true;
  }
  std::string_view str() {
    uint32_t n = u32();
    if (!take(n)) return {};
    return in_.substr(at_ - n, n);
  }
  // A count of things each at least `min_size` bytes long: never more than
  // what is left could hold (0 and a failed reader otherwise).
  size_t count(size_t min_size) {
    uint32_t n = u32();
    if (min_size != 0 && n > left() / min_size) ok_ = false;
    return ok_ ? n : 0;
  }
  void fail() { ok_ = false; }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && at_ == in_.size(); }
  size_t left() const { return in_.size() - at_; }

 private:
  static std::optional<BinaryReader> fail(std::string* why, const char* what) {
    if (why) *why = what;
    return std::nullopt;
  }
  bool take(size_t n) {
    if (!ok_ || n > left()) return ok_ = false;
    at_ += n;
    return true;
  }
  uint64_t get(int n) {
    if (!take(size_t(n))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(uint8_t(in_[at_ - size_t(n) + size_t(i)])) << (8 * i);
    return v;
  }
  std::string_view in_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace natc::base
