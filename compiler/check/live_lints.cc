#include <algorithm>
#include <set>

#include "check/check.h"
#include "check/sizes.h"

namespace natc::check {
namespace {

constexpr uint64_t kMemoryShare = 4;   // warn above a quarter of RAM
constexpr uint64_t kChainLength = 8;   // warn above 8 entries per bucket
constexpr uint64_t kBusyPercent = 50;  // warn above half a pool's room

// "eth0" or, for an alias, "wan (eth0)".
std::string named(const ir::IfMatch& m) { return m.label == m.name ? m.name : m.label + " (" + m.name + ")"; }

// Interfaces the spec names that this host does not have (yet): the rules
// match by name and wait for them, which is right for a PPP link that
// comes later and wrong for a typo.
void missing_interfaces(const ir::Ir& ir, const std::vector<LiveFacts::Interface>& host, base::Diagnostics& d) {
  std::vector<const ir::IfMatch*> uses;
  for (const ir::Subnet& s : ir.subnets)
    if (!s.docker) uses.push_back(&s.egress);
  for (const ir::Forward& f : ir.forwards)
    if (!f.docker) uses.push_back(&f.declared_ingress);
  for (const ir::Redirect& r : ir.redirects) uses.push_back(&r.ingress);
  for (const ir::StaticNat& x : ir.statics) uses.push_back(&x.iface);
  for (const ir::Npt& n : ir.npts) uses.push_back(&n.iface);
  std::set<std::string> told;
  for (const ir::IfMatch* m : uses) {
    if (m->kind != ir::IfMatch::Kind::Is || !told.insert(m->name).second) continue;
    bool wildcard = m->name.ends_with("*");
    std::string prefix = wildcard ? m->name.substr(0, m->name.size() - 1) : m->name;
    bool present = std::any_of(host.begin(), host.end(), [&](const LiveFacts::Interface& i) {
      return wildcard ? i.name.starts_with(prefix) : i.name == m->name;
    });
    if (present) continue;
    d.report(base::Code::InterfaceMissing, m->loc,
             wildcard ? "no interface of this host matches " + named(*m) + " now"
                      : "interface " + named(*m) + " does not exist on this host",
             "its rules match by name and take effect when it appears; if it is a typo, nothing will match");
  }
}

// W3001 from the machine: a masqueraded subnet whose egress has exactly
// one address of its family, configured rather than leased.
void masquerade_static_live(const ir::Ir& ir, const std::vector<LiveFacts::Interface>& host, base::Diagnostics& d) {
  for (const ir::Subnet& s : ir.subnets) {
    if (s.snat != ir::SnatKind::Masquerade || s.docker || s.egress.kind != ir::IfMatch::Kind::Is) continue;
    auto it = std::find_if(host.begin(), host.end(), [&](const auto& i) { return i.name == s.egress.name; });
    if (it == host.end()) continue;
    auto family = [&](const std::vector<base::Addr>& v) {
      return std::count_if(v.begin(), v.end(), [&](const base::Addr& a) { return a.family == s.cidr.addr.family; });
    };
    if (family(it->configured) != 1 || family(it->leased) != 0) continue;
    auto addr = *std::find_if(it->configured.begin(), it->configured.end(),
                              [&](const base::Addr& a) { return a.family == s.cidr.addr.family; });
    bool named_in_spec = std::any_of(ir.forwards.begin(), ir.forwards.end(), [&](const ir::Forward& f) {
      return f.destination == addr && f.declared_ingress.name == s.egress.name;
    });
    if (named_in_spec) continue;  // the spec's own W3001 said it
    d.report(base::Code::MasqueradeStatic, s.entry.loc,
             "subnet '" + s.entry.name + "' masquerades on " + named(s.egress) + ", whose only address " +
                 base::to_string(addr) + " is configured statically on this host",
             "snat: {to: " + base::to_string(addr) +
                 "} skips masquerade's address lookup on every new connection (keep masquerade if the address "
                 "can change)");
  }
}

// W3016: a static NAT's public address that is not on its interface: no
// one answers ARP or neighbour discovery for it unless it is routed here.
void static_addresses_live(const ir::Ir& ir, const std::vector<LiveFacts::Interface>& host, base::Diagnostics& d) {
  for (const ir::StaticNat& s : ir.statics) {
    if (s.iface.kind != ir::IfMatch::Kind::Is) continue;
    auto it = std::find_if(host.begin(), host.end(), [&](const auto& i) { return i.name == s.iface.name; });
    if (it == host.end()) continue;  // W3015 says so
    auto on = [&](const base::Addr& a) {
      return std::find(it->configured.begin(), it->configured.end(), a) != it->configured.end() ||
             std::find(it->leased.begin(), it->leased.end(), a) != it->leased.end();
    };
    size_t missing = std::count_if(s.hosts.begin(), s.hosts.end(), [&](const auto& h) { return !on(h.public_addr); });
    if (missing == 0) continue;
    auto first = std::find_if(s.hosts.begin(), s.hosts.end(), [&](const auto& h) { return !on(h.public_addr); });
    d.report(base::Code::StaticAddressMissing, s.entry.loc,
             "static NAT '" + s.entry.name + "': " + base::to_string(first->public_addr) +
                 (missing > 1 ? " and " + std::to_string(missing - 1) + " more of its public addresses are" : " is") +
                 " not on " + named(s.iface),
             "add it (ip addr add " + base::to_string(first->public_addr) + "/" +
                 (first->public_addr.family == base::Family::V4 ? "32" : "128") + " dev " + s.iface.name +
                 "), unless your provider routes it to this gateway (then --allow W3016)");
  }
}

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
  for (const ir::Helper& h : ir.helpers) {
    if (std::find(f.missing_helpers.begin(), f.missing_helpers.end(), h.kind) == f.missing_helpers.end()) continue;
    std::string module = "nf_conntrack_" + h.kind;
    std::replace(module.begin(), module.end(), '-', '_');
    d.report(base::Code::HelperMissing, h.entry.loc,
             "helper '" + h.entry.name + "': this kernel has no " + h.kind + " conntrack helper (no module " + module +
                 " loaded, built in or installed)",
             "install the kernel's modules package, or --allow W3017 if it is built in; apply fails without it");
  }
  ha_live(ir, f, d);
  if (f.interfaces) {
    missing_interfaces(ir, *f.interfaces, d);
    masquerade_static_live(ir, *f.interfaces, d);
    static_addresses_live(ir, *f.interfaces, d);
  }
  cotenancy_lints(ir, f, d);
}

}  // namespace natc::check
