#include "status/status.h"

#include <algorithm>
#include <set>

#include "base/proto.h"
#include "ir/lower.h"
#include "plan/render.h"
#include "spec/spec.h"
#include "state/records.h"
#include "status/flows.h"

namespace natc::status {
namespace {

constexpr size_t kTopPorts = 10;

// Packets and bytes per entry: the counters of natc's counting sets (the
// forward accepts and the subnet sets), summed by element entry.
std::map<std::string, nft::Counter> traffic_of(const kernel::Live& live) {
  std::map<std::string, nft::Counter> traffic;
  for (const auto& ls : live.sets)
    if (ls.set.counter)
      for (const auto& e : ls.set.elements)
        if (e.counter) traffic[e.entry].packets += e.counter->packets, traffic[e.entry].bytes += e.counter->bytes;
  return traffic;
}

// Each pool's address range, from the rules that translate to it.
std::vector<std::pair<std::string, ir::AddrRange>> pool_ranges(const kernel::Live& live) {
  std::vector<std::pair<std::string, ir::AddrRange>> out;
  for (const auto& lc : live.chains)
    for (const auto& lr : lc.rules) {
      if (!lr.rule || lr.rule->pool.empty()) continue;
      for (const auto& s : lr.rule->stmts) {
        auto* n = std::get_if<nft::Nat>(&s);
        if (!n || n->map) continue;
        const std::string& pool = lr.rule->pool;
        if (std::none_of(out.begin(), out.end(), [&](auto& p) { return p.first == pool; }))
          out.push_back({pool, n->addr});
      }
    }
  return out;
}

void count_pools(const kernel::Live& live, const std::vector<conntrack::Flow>& flows, Report& r) {
  // The address a flow was translated to is the destination of its reply.
  std::map<std::pair<std::string, ir::Addr>, uint64_t> per_address;
  auto ranges = pool_ranges(live);
  for (const auto& f : flows)
    for (const auto& [pool, range] : ranges)
      if (range.contains(f.reply.dst)) ++per_address[{pool, f.reply.dst}];
  for (const auto& [k, n] : per_address) r.pool_addresses.push_back({k.first, base::to_string(k.second), n});
}

void count_ports(const std::vector<conntrack::Flow>& flows, Report& r) {
  std::map<std::pair<uint8_t, uint16_t>, uint64_t> ports;
  for (const auto& f : flows)
    if (f.orig.dport) ++ports[{f.proto, f.orig.dport}];
  std::vector<std::pair<std::pair<uint8_t, uint16_t>, uint64_t>> sorted(ports.begin(), ports.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (size_t i = 0; i < sorted.size() && i < kTopPorts; ++i) {
    auto [proto, port] = sorted[i].first;
    r.ports.push_back({base::proto_name(proto), std::to_string(port), sorted[i].second});
  }
}

void timeouts(system::System& sys, const frontend::Frontend* fe, Report& r) {
  for (std::string_view key : ir::timeout_keys()) {
    std::string sysctl = "net.netfilter." + ir::timeout_sysctl(key);
    auto live = sys.sysctls.value(sysctl);
    if (!live) continue;
    std::optional<std::string> spec;
    if (fe)
      for (const auto& s : fe->ir.sysctls)
        if (s.key == sysctl) spec = s.value;
    // Without a spec every timeout is shown; with one, those it sets.
    if (!fe || spec) r.timeouts.push_back({std::string(key), *live, spec});
  }
}

// One host of a static NAT (private : public): the flows it opened and the
// ones opened to it; the detail is the entry's first pair.
void static_entry(Count& c, const nft::Element& e, const std::vector<conntrack::Flow>& flows) {
  const auto* priv = std::get_if<ir::AddrRange>(&e.key[0]);
  const auto* pub = std::get_if<ir::AddrRange>(&e.data[0]);
  if (!priv || !pub) return;
  if (c.name.empty()) c.detail = base::to_string(pub->first) + " <-> " + base::to_string(priv->first);
  c.name = e.entry;
  for (const auto& f : flows) c.flows += f.orig.src == priv->first || f.reply.src == priv->first;
}

}  // namespace

void count_entries(const kernel::Live& live, const std::vector<conntrack::Flow>& flows, Report& r) {
  auto traffic = traffic_of(live);
  std::map<std::string, Count> forwards, subnets, statics, npts;
  conntrack::FlowIndex index(flows);
  std::set<conntrack::Translation> counted;  // one per allow_from range would count twice
  for (const auto& ls : live.sets) {
    for (const auto& e : ls.set.elements) {
      if (auto t = plan::translation_of(ls.set, e); t && ls.set.role == nft::Role::DnatMap) {
        Count& c = forwards[t->entry];
        c.name = t->entry;
        if (counted.insert(*t).second) c.flows += index.count(*t);
        continue;
      }
      if (ls.set.role == nft::Role::StaticSnat && e.key.size() == 1 && e.data.size() == 1) {
        static_entry(statics[e.entry], e, flows);
        continue;
      }
      if (ls.set.role == nft::Role::NptAccept && e.key.size() == 1 && ls.set.name.starts_with("npt6_in_")) {
        Count& c = npts[e.entry];
        c.name = e.entry;
        if (const auto* range = std::get_if<ir::AddrRange>(&e.key[0])) c.detail = base::to_string(*range);
        continue;  // untracked: no flows to count
      }
      if (ls.set.role != nft::Role::Subnet || e.key.size() != 1) continue;
      const auto* range = std::get_if<ir::AddrRange>(&e.key[0]);
      if (!range) continue;
      Count& c = subnets[e.entry];
      c.name = e.entry;
      c.detail = base::to_string(*range);
      for (const auto& f : flows) c.flows += range->contains(f.orig.src) && f.reply.dst != f.orig.src;
    }
  }
  // Redirects are rules, not set elements: their flows, named like `natc flows` names them.
  std::map<std::string, Count> redirects;
  Attribution who(live);
  for (const auto& f : flows)
    if (auto t = who.of(f); t && t->kind == "redirect") ++redirects[t->entry].flows;
  for (auto& [name, c] : redirects) c.name = name, r.redirects.push_back(c);
  count_pools(live, flows, r);
  auto with_traffic = [&](Count& c) {
    if (auto it = traffic.find(c.name); it != traffic.end()) c.traffic = it->second;
    return c;
  };
  for (auto& [k, c] : forwards) r.forwards.push_back(with_traffic(c));
  for (auto& [k, c] : subnets) r.subnets.push_back(with_traffic(c));
  for (auto& [k, c] : statics) r.statics.push_back(with_traffic(c));
  for (auto& [k, c] : npts) r.npts.push_back(with_traffic(c));
  count_ports(flows, r);
}

Report collect(system::System& sys, const frontend::Frontend* fe) {
  Report r;
  r.alert_ratio = double(fe ? fe->ir.alert_percent : spec::kAlertPercent) / 100.0;
  kernel::Live live = sys.kernel.read();
  std::vector<conntrack::Flow> flows = sys.conntrack.flows();
  r.count = sys.sysctls.number("net.netfilter.nf_conntrack_count");
  r.max = sys.sysctls.number("net.netfilter.nf_conntrack_max");
  timeouts(sys, fe, r);
  r.drops = sys.conntrack.stats();
  count_entries(live, flows, r);
  std::string problem;
  if (auto p = state::read_pending(sys.state, &problem))
    r.pending = Report::Pending{p->n, std::max<int64_t>(0, (p->deadline_ms - sys.host.now_ms() + 999) / 1000)};
  if (fe) {
    plan::Plan p = plan::make(fe->ir, live, sys.sysctls);
    r.drift = !p.empty();
    r.drift_summary = plan::summary(p);
  }
  return r;
}

}  // namespace natc::status
