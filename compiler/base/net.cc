#include "base/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

namespace natc::base {
namespace {

bool parse_uint(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out <= max;
}

}  // namespace

std::string_view family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

size_t AddrHash::operator()(const Addr& a) const {
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  uint64_t h = (lo ^ hi * 0x9e3779b97f4a7c15ull) + uint64_t(a.family);  // splitmix64's finish
  h = (h ^ h >> 30) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ h >> 27) * 0x94d049bb133111ebull;
  return size_t(h ^ h >> 31);
}

std::optional<Addr> parse_addr(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  Addr a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.family = Family::V6;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::string to_string(const Addr& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.family == Family::V4 ? AF_INET : AF_INET6, a.bytes.data(), buf, sizeof buf);
  return buf;
}

bool next(Addr* a) {
  for (size_t i = a->size(); i-- > 0;)
    if (++a->bytes[i] != 0) return true;
  return false;
}

uint64_t distance(const Addr& first, const Addr& last) {
  uint64_t d = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    int diff = int(last.bytes[i]) - int(first.bytes[i]);
    if (d > (std::numeric_limits<uint64_t>::max() >> 8)) return std::numeric_limits<uint64_t>::max();
    // Borrow handled by letting d go through signed steps: d*256 + diff >= 0
    // whenever last >= first, which the callers guarantee.
    d = d * 256 + static_cast<uint64_t>(static_cast<int64_t>(diff));
  }
  return d;
}

Addr Prefix::last() const {
  Addr a = addr;
  for (size_t bit = len; bit < a.size() * 8; ++bit) a.bytes[bit / 8] |= uint8_t(0x80 >> (bit % 8));
  return a;
}

PrefixError parse_prefix(std::string_view text, Prefix* out) {
  size_t slash = text.find('/');
  auto addr = parse_addr(text.substr(0, slash));
  if (!addr) return PrefixError::Syntax;
  uint64_t max = addr->size() * 8, len = max;
  if (slash != std::string_view::npos && !parse_uint(text.substr(slash + 1), max, &len)) return PrefixError::Length;
  out->addr = *addr;
  out->len = uint8_t(len);
  bool host_bits = false;
  for (size_t bit = len; bit < max; ++bit) {
    uint8_t mask = uint8_t(0x80 >> (bit % 8));
    if (out->addr.bytes[bit / 8] & mask) host_bits = true;
    out->addr.bytes[bit / 8] &= uint8_t(~mask);
  }
  return host_bits ? PrefixError::HostBits : PrefixError::None;
}

std::string to_string(const Prefix& p) {
  std::string s = to_string(p.addr);
  if (p.len != p.addr.size() * 8) s += "/" + std::to_string(p.len);
  return s;
}

AddrRange to_range(const Prefix& p) { return {p.first(), p.last()}; }

std::vector<AddrRange> merge_ranges(std::vector<AddrRange> r, bool join_adjacent) {
  std::sort(r.begin(), r.end(), [](const AddrRange& a, const AddrRange& b) { return a.first < b.first; });
  std::vector<AddrRange> out;
  for (const AddrRange& x : r) {
    if (!out.empty() && out.back().first.family == x.first.family) {
      Addr after = out.back().last;
      bool at_top = !next(&after);
      bool joins = join_adjacent ? !(after < x.first) : !(out.back().last < x.first);
      if (at_top || joins) {  // overlapping (or adjacent, when joining those)
        if (out.back().last < x.last) out.back().last = x.last;
        continue;
      }
    }
    out.push_back(x);
  }
  return out;
}

uint64_t AddrRange::count() const {
  uint64_t d = distance(first, last);
  return d == std::numeric_limits<uint64_t>::max() ? d : d + 1;
}

std::optional<Prefix> AddrRange::as_prefix() const {
  for (size_t len = 0; len <= first.size() * 8; ++len) {
    Prefix p{first, uint8_t(len)};
    // first must be the network address of that prefix, and last its end.
    if (p.last() == last) {
      Prefix net{last, uint8_t(len)};
      for (size_t bit = len; bit < first.size() * 8; ++bit) net.addr.bytes[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
      if (net.addr == first) return p;
    }
  }
  return std::nullopt;
}

std::string to_string(const AddrRange& r) {
  if (r.first == r.last) return to_string(r.first);
  if (auto p = r.as_prefix()) return to_string(*p);
  return to_string(r.first) + "-" + to_string(r.last);
}

std::optional<PortRange> parse_port_range(std::string_view text) {
  size_t dash = text.find('-');
  uint64_t a = 0, b = 0;
  if (!parse_uint(text.substr(0, dash), 65535, &a) || a == 0) return std::nullopt;
  b = a;
  if (dash != std::string_view::npos && (!parse_uint(text.substr(dash + 1), 65535, &b) || b < a)) return std::nullopt;
  return PortRange{uint16_t(a), uint16_t(b)};
}

std::string to_string(const PortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

}  // namespace natc::base
