// IPv4/IPv6 addresses, prefixes, address ranges and port ranges: values only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natc::base {

enum class Family : uint8_t { V4, V6 };
std::string_view family_name(Family f);  // "IPv4" / "IPv6"

struct Addr {
  Family family = Family::V4;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4, network order
  size_t size() const { return family == Family::V4 ? 4 : 16; }
  friend bool operator==(const Addr&, const Addr&) = default;
  friend auto operator<=>(const Addr&, const Addr&) = default;
};
// For hash tables keyed by address (1M conntrack flows by host).
struct AddrHash {
  size_t operator()(const Addr& a) const;
};
std::optional<Addr> parse_addr(std::string_view text);
std::string to_string(const Addr& a);
// a + 1 (false on overflow) and a - b as a saturating 64-bit count.
bool next(Addr* a);
uint64_t distance(const Addr& first, const Addr& last);

struct Prefix {
  Addr addr;
  uint8_t len = 0;
  Addr first() const { return addr; }
  Addr last() const;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};
enum class PrefixError { None, Syntax, Length, HostBits };
// "10.0.0.0/24" or a bare address (a host prefix). With HostBits, `*out`
// holds the network the user probably meant.
PrefixError parse_prefix(std::string_view text, Prefix* out);
std::string to_string(const Prefix& p);  // bare address for host prefixes

// An inclusive range of addresses of one family.
struct AddrRange {
  Addr first, last;
  bool overlaps(const AddrRange& o) const {
    return first.family == o.first.family && !(last < o.first || o.last < first);
  }
  bool contains(const Addr& a) const { return !(a < first) && !(last < a); }
  uint64_t count() const;  // saturates at UINT64_MAX
  // The range as one prefix, when it is exactly one.
  std::optional<Prefix> as_prefix() const;
  friend bool operator==(const AddrRange&, const AddrRange&) = default;
};
AddrRange to_range(const Prefix& p);
// The union of `ranges` as sorted, disjoint ranges: what an interval set can
// hold. Adjacent ranges are joined too unless `join_adjacent` is false
// (an interval set can hold them apart, each with its own name).
std::vector<AddrRange> merge_ranges(std::vector<AddrRange> ranges, bool join_adjacent = true);
std::string to_string(const AddrRange& r);  // "a", "a/n" or "a-b"

struct PortRange {
  uint16_t first = 0, last = 0;
  uint32_t size() const { return uint32_t(last) - first + 1; }
  bool overlaps(const PortRange& o) const { return !(last < o.first || o.last < first); }
  friend bool operator==(const PortRange&, const PortRange&) = default;
};
// "80", "8000-8010"; 1..65535, first <= last.
std::optional<PortRange> parse_port_range(std::string_view text);
std::string to_string(const PortRange& r);

}  // namespace natc::base
