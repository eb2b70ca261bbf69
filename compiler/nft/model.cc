#include <algorithm>

#include "nft/model.h"

namespace natc::nft {

std::string part_bytes(const std::vector<Part>& parts) {
  std::string k;
  for (const auto& p : parts) {
    k += char(p.index());
    if (auto* r = std::get_if<ir::AddrRange>(&p)) {
      k.append(reinterpret_cast<const char*>(r->first.bytes.data()), r->first.size());
      k.append(reinterpret_cast<const char*>(r->last.bytes.data()), r->last.size());
    } else if (auto* proto = std::get_if<ir::Proto>(&p)) {
      k += char(*proto);
    } else {
      uint16_t port = std::get<uint16_t>(p);
      k += char(port >> 8), k += char(port & 0xff);
    }
  }
  return k;
}

ir::Addr host_mask(const ir::Prefix& p) {
  ir::Addr m{p.addr.family};
  for (size_t bit = p.len; bit < m.size() * 8; ++bit) m.bytes[bit / 8] |= uint8_t(0x80 >> (bit % 8));
  return m;
}

size_t key_hash(const std::vector<Part>& parts) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over what part_bytes would write
  auto mix = [&](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  for (const auto& p : parts) {
    mix(uint8_t(p.index()));
    if (auto* r = std::get_if<ir::AddrRange>(&p)) {
      for (size_t i = 0; i < r->first.size(); ++i) mix(r->first.bytes[i]);
      for (size_t i = 0; i < r->last.size(); ++i) mix(r->last.bytes[i]);
    } else if (auto* proto = std::get_if<ir::Proto>(&p)) {
      mix(uint8_t(*proto));
    } else {
      uint16_t port = std::get<uint16_t>(p);
      mix(uint8_t(port >> 8)), mix(uint8_t(port & 0xff));
    }
  }
  return size_t(h);
}

bool Set::keys(Field f) const { return std::find(key.begin(), key.end(), f) != key.end(); }

}  // namespace natc::nft
