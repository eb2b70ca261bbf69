// What conntrack and SNAT cost: the figures both the static lints and the
// live lints (`validate --live`) reason with.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "ir/ir.h"

namespace natc::check {

// Kernel memory per conntrack entry, measured on kernel 6.18 (slabinfo of
// nf_conntrack; older guides say ~300), and per hash bucket.
inline constexpr uint64_t kConntrackEntryBytes = 384;
inline constexpr uint64_t kBucketBytes = 8;
// Source ports NAT uses by default (1024-65535) per public address, per
// destination address, port and protocol.
inline constexpr uint64_t kPortsPerAddress = 64512;

inline uint64_t conntrack_bytes(uint64_t max, uint64_t buckets) {
  return max * kConntrackEntryBytes + buckets * kBucketBytes;
}

// Flows a pool can carry to any one destination: addresses x ports,
// saturating well below overflow (an IPv6 pool can be a whole /64).
inline uint64_t pool_room(const ir::Pool& p) {
  uint64_t addresses = 0;
  for (const auto& r : p.addresses) addresses = std::min(addresses + r.count(), UINT64_MAX / 2 / 65536);
  return addresses * (p.ports ? p.ports->size() : kPortsPerAddress);
}

inline std::string mib(uint64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MiB"; }

}  // namespace natc::check
