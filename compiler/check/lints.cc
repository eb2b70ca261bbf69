#include <algorithm>
#include <cmath>

#include "base/spell.h"
#include "check/check.h"
#include "check/sizes.h"

namespace natc::check {
namespace {

using base::Code;

constexpr uint64_t kConntrackWarnBytes = 256ull << 20;
constexpr uint64_t kMinFlowsPerHost = 64;

bool internal(const ir::Ir& ir, const ir::Addr& a) {
  return std::any_of(ir.subnets.begin(), ir.subnets.end(),
                     [&](const ir::Subnet& s) { return base::to_range(s.cidr).contains(a); });
}

// A public address the spec itself pins to `egress`, if any: a subnet's
// SNAT address there, or a port forward's destination arriving there.
std::optional<ir::Addr> known_address(const ir::Ir& ir, const ir::IfMatch& egress) {
  for (const ir::Subnet& sub : ir.subnets)
    if (sub.snat == ir::SnatKind::To && sub.egress == egress) return sub.to;
  if (egress.kind != ir::IfMatch::Kind::Is) return std::nullopt;
  for (const ir::Forward& f : ir.forwards)
    if (f.destination && f.declared_ingress.kind == ir::IfMatch::Kind::Is && f.declared_ingress.name == egress.name)
      return f.destination;
  return std::nullopt;
}

void masquerade_static(const ir::Ir& ir, base::Diagnostics& d) {
  for (const ir::Subnet& sub : ir.subnets) {
    if (sub.snat != ir::SnatKind::Masquerade || sub.docker) continue;
    auto addr = known_address(ir, sub.egress);
    if (!addr || addr->family != sub.cidr.addr.family) continue;
    d.report(Code::MasqueradeStatic, sub.entry.loc,
             "subnet '" + sub.entry.name + "' masquerades on " + sub.egress.label + ", whose address " +
                 base::to_string(*addr) + " the spec already names",
             "snat: {to: " + base::to_string(*addr) + "} skips masquerade's address lookup on every new connection");
  }
}

void forward_targets(const ir::Ir& ir, base::Diagnostics& d) {
  for (const ir::Forward& f : ir.forwards) {
    if (f.docker || internal(ir, f.to)) continue;
    d.report(
        Code::TargetOutsideSubnets, f.entry.loc,
        "port forward '" + f.entry.name + "' targets " + base::to_string(f.to) + ", which is in no declared subnet",
        "if the target's route back does not lead through this gateway, replies bypass "
        "the NAT and the connection fails; declare its subnet");
  }
}

void hairpins(const ir::Ir& ir, base::Diagnostics& d) {
  for (const ir::Forward& f : ir.forwards) {
    if (!f.hairpin || f.docker) continue;
    d.report(Code::HairpinSource, f.entry.loc,
             "port forward '" + f.entry.name + "' uses hairpin: LAN clients reach " + base::to_string(f.to) +
                 " with the gateway's address as their source",
             "the backend cannot tell LAN clients apart; use PROXY protocol or X-Forwarded-For "
             "if it needs to");
  }
}

void conntrack_memory(const spec::Spec& s, base::Diagnostics& d) {
  if (!s.conntrack || !s.conntrack->max.set) return;
  const spec::Conntrack& c = *s.conntrack;
  uint64_t bytes = conntrack_bytes(c.max.v, c.buckets.set ? c.buckets.v : 0);
  if (bytes < kConntrackWarnBytes) return;
  d.report(Code::ConntrackMemory, c.max.loc,
           "conntrack.max " + std::to_string(c.max.v) + " can pin about " + mib(bytes) +
               " of kernel memory when the table is full",
           "about 384 bytes per entry (kernel 6.18) plus 8 per bucket; make sure the gateway "
           "has that to spare",
           uint32_t(std::to_string(c.max.v).size()));
}

uint64_t hosts(const ir::Prefix& p) {
  unsigned bits = unsigned(p.addr.size() * 8 - p.len);
  return bits >= 63 ? UINT64_MAX / 2 : (uint64_t(1) << bits);
}

void pools(const ir::Ir& ir, base::Diagnostics& d) {
  for (size_t i = 0; i < ir.pools.size(); ++i) {
    const ir::Pool& p = ir.pools[i];
    uint64_t behind = 0;
    bool v6 = p.family == ir::Family::V6;
    for (const ir::Subnet& s : ir.subnets)
      if (s.snat == ir::SnatKind::Pool && s.pool == i) behind = std::min(behind + hosts(s.cidr), UINT64_MAX / 2);
    if (behind == 0) {
      d.report(Code::UnusedPool, p.entry.loc, "SNAT pool '" + p.entry.name + "' is used by no subnet",
               "refer to it with snat: {pool: " + p.entry.name + "}, or remove it");
      continue;
    }
    // An IPv6 prefix counts addresses, not hosts: a /64 holds a handful of
    // machines, so a per-host figure would only mislead.
    if (v6) continue;
    uint64_t capacity = pool_room(p);
    if (capacity / behind >= kMinFlowsPerHost) continue;
    d.report(Code::PoolCapacity, p.entry.loc,
             "SNAT pool '" + p.entry.name + "' gives its " + std::to_string(behind) + " hosts about " +
                 std::to_string(capacity) + " concurrent flows to any one destination (" +
                 std::to_string(capacity / behind) + " per host)",
             "a public address carries about 64,512 flows per destination address, port and "
             "protocol, not per pool; add addresses or narrow the subnets");
  }
}

}  // namespace

// An interface that is not an alias but one typo from one ('wna' beside
// 'wan') compiles to a match on a name no interface has.
void interface_typos(const spec::Spec& s, base::Diagnostics& d) {
  std::vector<std::string_view> aliases;
  for (const auto& a : s.interfaces) aliases.push_back(a.name.v);
  auto use = [&](const spec::At<std::string>& n) {
    if (!n.set || n.v == "*" || n.v.ends_with("*")) return;
    if (std::find(aliases.begin(), aliases.end(), n.v) != aliases.end()) return;
    std::string near = base::closest(n.v, aliases);
    if (near.empty()) return;
    d.report(Code::InterfaceTypo, n.loc,
             "'" + n.v + "' is not an alias in 'interfaces', so it is taken as a kernel interface name",
             "did you mean '" + near + "'? (an interface of that name would be matched as written)",
             uint32_t(n.v.size()));
  };
  for (const auto& sub : s.subnets) use(sub.egress);
  for (const auto& pf : s.port_forwards) use(pf.ingress);
  for (const auto& r : s.redirects) use(r.ingress);
  for (const auto& x : s.static_nat) use(x.interface);
  for (const auto& n : s.nptv6) use(n.interface);
}

// Active FTP through NAT needs the ftp helper on the port the control
// connection arrives at: without it the data connection fails.
void ftp_helpers(const ir::Ir& ir, base::Diagnostics& d) {
  for (const ir::Forward& f : ir.forwards)
    for (const ir::PortMap& m : f.ports) {
      if (m.proto != ir::Proto::Tcp || m.to_port != 21) continue;
      bool helped = std::any_of(ir.helpers.begin(), ir.helpers.end(), [&](const ir::Helper& h) {
        return h.kind == "ftp" && h.port.first <= m.port && m.port <= h.port.last;
      });
      if (!helped)
        d.report(base::Code::FtpWithoutHelper, f.entry.loc,
                 "port forward '" + f.entry.name + "' reaches FTP (tcp/21) with no ftp helper on tcp/" +
                     std::to_string(m.port),
                 "add helpers: [{name: ftp, protocol: tcp, port: " + std::to_string(m.port) +
                     "}] so FTP's data connections (active and passive) are translated");
      break;
    }
}

void lints(const spec::Spec& s, const ir::Ir& ir, base::Diagnostics& d) {
  interface_typos(s, d);
  masquerade_static(ir, d);
  forward_targets(ir, d);
  hairpins(ir, d);
  conntrack_memory(s, d);
  pools(ir, d);
  ftp_helpers(ir, d);
}

}  // namespace natc::check
