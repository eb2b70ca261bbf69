#include "status/status.h"

#include <algorithm>
#include <unordered_map>

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
std::unordered_map<std::string, nft::Counter> traffic_of(const kernel::Live& live) {
  std::unordered_map<std::string, nft::Counter> traffic;
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
  std::unordered_map<uint32_t, uint64_t> ports;  // proto << 16 | port
  for (const auto& f : flows)
    if (f.orig.dport) ++ports[uint32_t(f.proto) << 16 | f.orig.dport];
  std::vector<std::pair<uint32_t, uint64_t>> sorted(ports.begin(), ports.end());
  // The busiest first; among equals, by protocol and port.
  std::sort(sorted.begin(), sorted.end(),
            [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  for (size_t i = 0; i < sorted.size() && i < kTopPorts; ++i)
    r.ports.push_back(
        {base::proto_name(uint8_t(sorted[i].first >> 16)), std::to_string(sorted[i].first & 0xffff), sorted[i].second});
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

// Flows per address, as the original source or the reply's source (a flow
// once per address): what a static NAT host opened and what was opened to it.
using ByHost = std::unordered_map<ir::Addr, uint64_t, base::AddrHash>;
ByHost flows_by_host(const std::vector<conntrack::Flow>& flows) {
  ByHost out;
  for (const auto& f : flows) {
    ++out[f.orig.src];
    if (f.reply.src != f.orig.src) ++out[f.reply.src];
  }
  return out;
}

// One host of a static NAT (private : public): its flows; the detail is
// the entry's first pair.
void static_entry(Count& c, const nft::Element& e, const ByHost& by_host) {
  const auto* priv = std::get_if<ir::AddrRange>(&e.key[0]);
  const auto* pub = std::get_if<ir::AddrRange>(&e.data[0]);
  if (!priv || !pub) return;
  if (c.name.empty()) c.detail = base::to_string(pub->first) + " <-> " + base::to_string(priv->first);
  c.name = e.entry;
  if (auto it = by_host.find(priv->first); it != by_host.end()) c.flows += it->second;
}

// The subnets' ranges, each with its entry's count. A flow counts for
// every range holding its source; when no two ranges overlap (subnets on
// different egresses may), it finds its one range by binary search.
class SubnetRanges {
 public:
  void add(const ir::AddrRange& range, Count* c) { ranges_.emplace_back(range, c); }
  void count(const std::vector<conntrack::Flow>& flows) {
    std::sort(ranges_.begin(), ranges_.end(), [](auto& a, auto& b) { return a.first.first < b.first.first; });
    bool disjoint = true;
    for (size_t i = 1; i < ranges_.size(); ++i) disjoint &= !ranges_[i - 1].first.overlaps(ranges_[i].first);
    for (const auto& f : flows) {
      // Masqueraded or translated: not the subnet's own address answering.
      if (ranges_.empty() || f.reply.dst == f.orig.src) continue;
      if (!disjoint) {
        for (auto& [range, c] : ranges_) c->flows += range.contains(f.orig.src);
        continue;
      }
      auto it = std::upper_bound(ranges_.begin(), ranges_.end(), f.orig.src,
                                 [](const ir::Addr& a, auto& r) { return a < r.first.first; });
      if (it != ranges_.begin() && std::prev(it)->first.contains(f.orig.src)) ++std::prev(it)->second->flows;
    }
  }

 private:
  std::vector<std::pair<ir::AddrRange, Count*>> ranges_;
};

// Redirects are rules, not set elements: their flows, named like `natc
// flows` names them. Naming every flow indexes every forward again: only
// with redirect rules.
void count_redirects(const kernel::Live& live, const std::vector<conntrack::Flow>& flows, Report& r) {
  bool redirecting = false;
  for (const auto& lc : live.chains)
    for (const auto& lr : lc.rules)
      if (lr.rule)
        for (const auto& st : lr.rule->stmts) redirecting |= std::holds_alternative<nft::Redirect>(st);
  if (!redirecting) return;
  std::map<std::string, Count> redirects;
  Attribution who(live);
  for (const auto& f : flows)
    if (auto t = who.of(f); t && t->kind == "redirect") ++redirects[t->entry].flows;
  for (auto& [name, c] : redirects) c.name = name, r.redirects.push_back(c);
}

}  // namespace

void count_entries(const kernel::Live& live, const std::vector<conntrack::Flow>& flows, Report& r) {
  auto traffic = traffic_of(live);
  // By name; hashed (100k forwards), sorted once at the end.
  std::unordered_map<std::string, Count> forwards, subnets, statics, npts;
  std::vector<conntrack::Translation> translations;
  std::optional<ByHost> by_host;  // only with static NAT
  SubnetRanges ranges;
  for (const auto& ls : live.sets) {
    for (const auto& e : ls.set.elements) {
      if (auto t = plan::translation_of(ls.set, e); t && ls.set.role == nft::Role::DnatMap) {
        Count& c = forwards[t->entry];
        c.name = t->entry;
        translations.push_back(std::move(*t));
        continue;
      }
      if (ls.set.role == nft::Role::StaticSnat && e.key.size() == 1 && e.data.size() == 1) {
        if (!by_host) by_host = flows_by_host(flows);
        static_entry(statics[e.entry], e, *by_host);
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
      ranges.add(*range, &c);
    }
  }
  // One per allow_from range would count twice: each translation once.
  std::sort(translations.begin(), translations.end());
  translations.erase(std::unique(translations.begin(), translations.end()), translations.end());
  conntrack::TranslationIndex index(std::move(translations));
  std::vector<size_t> counts = index.count(flows);
  for (size_t i = 0; i < counts.size(); ++i) forwards[index.translations()[i].entry].flows += counts[i];
  ranges.count(flows);
  count_redirects(live, flows, r);
  count_pools(live, flows, r);
  auto with_traffic = [&](Count& c) {
    if (auto it = traffic.find(c.name); it != traffic.end()) c.traffic = it->second;
    return c;
  };
  auto sorted = [&](std::unordered_map<std::string, Count>& by_name, std::vector<Count>& out) {
    for (auto& [k, c] : by_name) out.push_back(with_traffic(c));
    std::sort(out.begin(), out.end(), [](const Count& a, const Count& b) { return a.name < b.name; });
  };
  sorted(forwards, r.forwards);
  sorted(subnets, r.subnets);
  sorted(statics, r.statics);
  sorted(npts, r.npts);
  count_ports(flows, r);
}

namespace {

Report::Pair pair(const ir::Ha& ha, system::System& sys) {
  Report::Pair p;
  ha::Host& h = *sys.ha;
  if (auto text = h.read(h.paths().state_file()))
    if (auto rec = ha::parse_recorded(*text)) {
      p.state = rec->state;
      p.state_age_s = std::max<int64_t>(0, (sys.host.now_ms() - rec->since_ms) / 1000);
    }
  auto ifs = sys.kernel.interfaces();
  for (const ir::Vip& v : ha.vips) {
    Report::Pair::Instance i{v.vrid, base::to_string(v.addr) + "/" + std::to_string(v.len), v.iface.name};
    if (ifs)
      for (const auto& x : *ifs)
        if (x.name == v.iface.name)
          for (const auto& a : x.addresses) i.held = i.held || a.addr == v.addr;
    p.instances.push_back(std::move(i));
  }
  p.keepalived_running = h.running(ha::Daemon::Keepalived);
  p.state_sync = ha.state_sync;
  if (ha.state_sync)
    if (ha::Run s = h.conntrackd({"-s"}); s.code == 0) p.sync = ha::parse_stats(s.out);
  return p;
}

}  // namespace

Report collect(system::System& sys, const frontend::Frontend* fe, const std::function<void(std::string_view)>& phase) {
  auto done = [&](std::string_view name) {
    if (phase) phase(name);
  };
  Report r;
  r.alert_ratio = double(fe ? fe->ir.alert_percent : spec::kAlertPercent) / 100.0;
  kernel::Live live = sys.kernel.read();
  done("read live");
  std::vector<conntrack::Flow> flows = sys.conntrack.flows();
  done("conntrack");
  r.count = sys.sysctls.number("net.netfilter.nf_conntrack_count");
  r.max = sys.sysctls.number("net.netfilter.nf_conntrack_max");
  timeouts(sys, fe, r);
  r.drops = sys.conntrack.stats();
  count_entries(live, flows, r);
  done("count");
  std::string problem;
  if (auto p = state::read_pending(sys.state, &problem))
    r.pending = Report::Pending{p->n, std::max<int64_t>(0, (p->deadline_ms - sys.host.now_ms() + 999) / 1000)};
  if (fe && fe->ir.ha && sys.ha) {
    r.pair = pair(*fe->ir.ha, sys);
    done("pair");
  }
  if (fe) {
    plan::Plan p = plan::make(fe->ir, live, sys.sysctls, sys.ha);
    r.drift = !p.empty();
    r.drift_summary = plan::summary(p);
    done("drift");
  }
  return r;
}

}  // namespace natc::status
