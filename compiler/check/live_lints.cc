#include "check/check.h"
#include "check/sizes.h"

namespace natc::check {
namespace {

constexpr uint64_t kMemoryShare = 4;   // warn above a quarter of RAM
constexpr uint64_t kChainLength = 8;   // warn above 8 entries per bucket
constexpr uint64_t kBusyPercent = 50;  // warn above half a pool's room

}  // namespace

void live_lints(const spec::Spec& s, const ir::Ir& ir, const LiveFacts& f, base::Diagnostics& d) {
  const spec::Conntrack* c = s.conntrack ? &*s.conntrack : nullptr;
  std::optional<uint64_t> max = c && c->max.set ? c->max.v : f.max;
  std::optional<uint64_t> buckets = c && c->buckets.set ? c->buckets.v : f.buckets;
  base::Loc at = c && c->max.set ? c->max.loc : c ? c->loc : base::Loc{};
  if (max && f.mem_total) {
    uint64_t bytes = conntrack_bytes(*max, buckets.value_or(0));
    if (bytes * kMemoryShare > *f.mem_total)
      d.report(base::Code::ConntrackMemoryLive, at,
               "a full conntrack table (max " + std::to_string(*max) + ") takes about " + mib(bytes) + ", " +
                   std::to_string(bytes * 100 / *f.mem_total) + "% of this machine's " + mib(*f.mem_total),
               "about 384 bytes per entry; lower conntrack.max or shorten timeouts so the table empties faster");
  }
  if (max && buckets && *buckets && *max / *buckets > kChainLength) {
    base::Loc bat = c && c->buckets.set ? c->buckets.loc : at;
    d.report(base::Code::BucketsLoad, bat,
             "conntrack.max " + std::to_string(*max) + " over " + std::to_string(*buckets) +
                 " buckets: a full table searches chains of about " + std::to_string(*max / *buckets) + " entries",
             "set conntrack.buckets to at least max/" + std::to_string(kChainLength) + " (" +
                 std::to_string(*max / kChainLength) + ")");
  }
  for (const ir::Pool& p : ir.pools) {
    auto it = f.pool_busiest.find(p.entry.name);
    if (it == f.pool_busiest.end()) continue;
    uint64_t room = pool_room(p);
    auto [flows, where] = it->second;
    if (room && flows * 100 > room * kBusyPercent)
      d.report(base::Code::PoolBusy, p.entry.loc,
               "SNAT pool '" + p.entry.name + "' carries " + std::to_string(flows) + " flows to " + where +
                   " now, of about " + std::to_string(room) + " it can hold for one destination",
               "a public address carries about 64,512 flows per destination address, port and protocol; "
               "add addresses before new connections to it fail");
  }
  cotenancy_lints(ir, f, d);
}

}  // namespace natc::check
