#include "kernel/kernel.h"

#include <string_view>

namespace natc::kernel {
namespace {

// FNV-1a, fed field by field.
class Fnv {
 public:
  void byte(uint8_t b) { h_ = (h_ ^ b) * 0x100000001b3ull; }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(uint8_t(v >> (8 * i)));
  }
  void text(std::string_view s) {
    for (char c : s) byte(uint8_t(c));
    byte(0xff);  // a separator: "ab","c" differs from "a","bc"
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

// Spreads a hash over all 64 bits (splitmix64's finalizer), so that sums of
// hashes, which do not depend on order, stay as good as the hashes.
uint64_t spread(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t set_hash(const nft::Set& s) {
  Fnv def;
  def.text(s.name);
  def.byte(uint8_t(s.family));
  for (auto f : s.key) def.byte(uint8_t(f));
  def.byte(0xff);
  for (auto d : s.data) def.byte(uint8_t(d));
  def.byte(0xff);
  def.byte(uint8_t(s.interval) | uint8_t(s.counter) << 1);
  def.byte(uint8_t(s.role));
  uint64_t elements = 0;
  for (const auto& e : s.elements) {
    Fnv h;
    h.u64(nft::key_hash(e.key));
    h.u64(nft::key_hash(e.data));
    h.text(e.entry);
    elements += spread(h.value());
  }
  return spread(def.value() ^ spread(elements));
}

}  // namespace

void finish_hash(Live& live) {
  uint64_t sets = 0;
  for (const auto& s : live.sets)
    if (s.known) sets += set_hash(s.set);
  Fnv h;
  h.u64(live.rest_hash);
  h.u64(sets);
  live.hash = h.value();
}

std::optional<nft::Table> to_table(const Live& live) {
  nft::Table t;
  if (!live.other_objects.empty()) return std::nullopt;
  t.helpers = live.helpers;
  for (const auto& s : live.sets) {
    if (!s.known) return std::nullopt;
    t.sets.push_back(s.set);
  }
  for (const auto& c : live.chains) {
    if (!c.known) return std::nullopt;
    nft::Chain ch = c.chain;
    for (const auto& r : c.rules) {
      if (!r.rule) return std::nullopt;
      ch.rules.push_back(*r.rule);
    }
    t.chains.push_back(std::move(ch));
  }
  return t;
}

}  // namespace natc::kernel
