#include "ir/lower.h"

#include <algorithm>

#include "base/spell.h"

namespace natc::ir {
namespace {

using base::Code;

// Every conntrack timeout this kernel generation has: <proto>[_<state>].
constexpr std::string_view kTimeoutKeys[] = {
    "generic",
    "icmp",
    "icmpv6",
    "udp",
    "udp_stream",
    "gre",
    "gre_stream",
    "tcp_syn_sent",
    "tcp_syn_recv",
    "tcp_established",
    "tcp_fin_wait",
    "tcp_close_wait",
    "tcp_last_ack",
    "tcp_time_wait",
    "tcp_close",
    "tcp_max_retrans",
    "tcp_unacknowledged",
    "sctp_closed",
    "sctp_cookie_wait",
    "sctp_cookie_echoed",
    "sctp_established",
    "sctp_shutdown_sent",
    "sctp_shutdown_recd",
    "sctp_shutdown_ack_sent",
    "sctp_heartbeat_sent",
};

class Lowerer {
 public:
  Lowerer(const spec::Spec& s, base::Diagnostics& d) : s_(s), d_(d) {}

  Ir run() {
    ir_.drop_policy = s_.forwarding.policy.v == spec::Policy::Drop;
    for (const auto& p : s_.snat_pools) pool(p);
    for (const auto& r : s_.forwarding.rules) rule(r);
    if (s_.ha) ha(*s_.ha);  // before the subnets: their masquerade may become SNAT to a virtual address
    for (const auto& sub : s_.subnets) subnet(sub);
    ir_.forwards.reserve(s_.port_forwards.size());
    for (const auto& f : s_.port_forwards) forward(f);
    for (const auto& r : s_.redirects) redirect(r);
    for (const auto& x : s_.static_nat) static_nat(x);
    for (const auto& n : s_.nptv6) npt(n);
    for (const auto& h : s_.helpers) helper(h);
    for (const auto& b : s_.bridges) bridge(b);
    sysctls();
    if (s_.safety) {
      ir_.management_ports.clear();
      for (const auto& p : s_.safety->management_ports) ir_.management_ports.push_back(p.v.first);
    }
    return std::move(ir_);
  }

 private:
  IfMatch iface(const spec::At<std::string>& name) {
    if (name.v == "*") return {IfMatch::Kind::Any, "", name.loc, "*"};  // a forward's "any interface"
    IfMatch m{IfMatch::Kind::Is, name.v, name.loc, name.v};
    for (const auto& a : s_.interfaces)
      if (a.name.v == name.v) m.name = a.kernel.v;
    return m;
  }

  void pool(const spec::SnatPool& p) {
    Pool out{{p.name.v, p.loc}};
    for (const auto& r : p.addresses) out.addresses.push_back(r.v);
    out.addresses = base::merge_ranges(std::move(out.addresses));
    if (!out.addresses.empty()) out.family = out.addresses.front().first.family;
    if (p.ports.set) out.ports = p.ports.v;
    out.persistent = p.persistent.v;
    out.fully_random = p.fully_random.v;
    ir_.pools.push_back(std::move(out));
  }

  void rule(const spec::ForwardRule& r) {
    ForwardRule out{{r.name.v, r.loc}};
    for (const auto& p : r.protocols) out.protocols.push_back(p.v);
    if (r.port.set) {
      out.port = r.port.v;
      // A port means TCP or UDP: without a protocol, both.
      if (out.protocols.empty()) out.protocols = {Proto::Tcp, Proto::Udp};
    }
    for (const auto& p : r.to) out.to.push_back(p.v);
    for (const auto& p : r.from) out.from.push_back(p.v);
    if (!out.to.empty()) out.family = out.to.front().addr.family;
    ir_.rules.push_back(std::move(out));
  }

  void subnet(const spec::Subnet& sub) {
    Subnet out{{sub.name.v, sub.loc}, sub.cidr.v, iface(sub.egress)};
    switch (sub.snat.kind) {
      case spec::SnatKind::Masquerade: out.snat = SnatKind::Masquerade; break;
      case spec::SnatKind::None: out.snat = SnatKind::None; break;
      case spec::SnatKind::To: out.snat = SnatKind::To, out.to = sub.snat.to.v; break;
      case spec::SnatKind::Pool: {
        out.snat = SnatKind::Pool;
        auto it = std::find_if(ir_.pools.begin(), ir_.pools.end(),
                               [&](const Pool& p) { return p.entry.name == sub.snat.pool.v; });
        if (it != ir_.pools.end()) {
          out.pool = size_t(it - ir_.pools.begin());
        } else if (sub.snat.pool.set && std::find(s_.broken_pools.begin(), s_.broken_pools.end(), sub.snat.pool.v) ==
                                            s_.broken_pools.end()) {
          std::vector<std::string_view> names;
          for (const auto& p : ir_.pools) names.push_back(p.entry.name);
          std::string help = base::did_you_mean(sub.snat.pool.v, names);
          d_.report(Code::UnknownPool, sub.snat.pool.loc,
                    "subnet '" + sub.name.v + "' uses unknown SNAT pool '" + sub.snat.pool.v + "'",
                    help.empty() ? "declare it under snat_pools" : help, uint32_t(sub.snat.pool.v.size()));
        }
        break;
      }
    }
    // Masquerade takes this node's own address, which the peer does not
    // have: after a failover every flow would be dead. The pair's virtual
    // address on the egress moves with the flows.
    if (out.snat == SnatKind::Masquerade && ir_.ha && out.egress.kind == IfMatch::Kind::Is)
      if (const Vip* v = ir_.ha->vip_on(out.egress, out.cidr.addr.family))
        out.snat = SnatKind::To, out.to = v->addr, out.vip = true;
    ir_.subnets.push_back(std::move(out));
  }

  void ha(const spec::Ha& h) {
    Ha out;
    out.loc = h.loc;
    out.peer = h.peer.v;
    out.sync = iface(h.sync_interface);
    out.priority = uint8_t(h.priority.v);
    out.advert_ms = uint32_t(h.advert_ms.v);
    out.state_sync = h.state_sync.v;
    out.strict_tcp = h.strict_tcp.v;
    for (const spec::VirtualAddress& v : h.virtual_addresses)
      out.vips.push_back({v.loc, iface(v.interface), v.address.v, uint8_t(v.len.v), uint8_t(v.vrid.v)});
    ir_.ha = std::move(out);
  }

  Forward forward_core(const spec::Target& to, const std::vector<spec::At<spec::Proto>>& protos,
                       const spec::At<base::PortRange>& port) {
    Forward f;
    f.port_loc = port.loc;
    f.to = to.addr.v;
    f.family = f.to.family;
    PortRange from = port.v;
    // Without a target port the ports stay as they are; a target range is
    // mapped 1:1 (check/ reports a length mismatch, here we map what fits).
    PortRange dest = to.port.set ? to.port.v : from;
    for (const auto& p : protos)
      for (uint32_t i = 0; i < from.size() && i < dest.size(); ++i)
        f.ports.push_back({p.v, uint16_t(from.first + i), uint16_t(dest.first + i)});
    return f;
  }

  void forward(const spec::PortForward& pf) {
    Forward f = forward_core(pf.to, pf.protocols, pf.port);
    f.entry = {pf.name.v, pf.loc};
    f.declared_ingress = iface(pf.ingress);
    f.hairpin = pf.hairpin.v;
    f.from_gateway = pf.from_gateway.set ? pf.from_gateway.v : f.hairpin;
    f.allow_capture = pf.allow_capture.v;
    // A hairpin forward also answers LAN clients, so it matches on every
    // interface: the destination (or 'fib daddr type local') selects it.
    f.ingress = f.hairpin ? IfMatch{IfMatch::Kind::Any} : f.declared_ingress;
    if (pf.destination.set) f.destination = pf.destination.v;
    std::vector<AddrRange> from;
    for (const auto& p : pf.allow_from) from.push_back(base::to_range(p.v));
    f.allow_from = base::merge_ranges(std::move(from));
    // allow_from 0.0.0.0/0 is "anywhere": no source match at all.
    if (f.allow_from.size() == 1 && f.allow_from[0].first == Addr{f.allow_from[0].first.family} &&
        f.allow_from[0].as_prefix() && f.allow_from[0].as_prefix()->len == 0)
      f.allow_from.clear();
    f.auto_accept = pf.forward_accept.v == spec::ForwardAccept::Auto;
    ir_.forwards.push_back(std::move(f));
  }

  void redirect(const spec::Redirect& r) {
    Redirect out{{r.name.v, r.loc}, iface(r.ingress)};
    for (const auto& p : r.protocols) out.protocols.push_back(p.v);
    out.port = r.port.v;
    if (r.to_port.set) out.to_port = r.to_port.v.first;
    for (const auto& p : r.from) out.from.push_back(base::to_range(p.v));
    for (const auto& p : r.except) out.except.push_back(base::to_range(p.v));
    out.from = base::merge_ranges(std::move(out.from));
    out.except = base::merge_ranges(std::move(out.except));
    ir_.redirects.push_back(std::move(out));
  }

  // Host by host, in step: .5 of the public prefix is .5 of the private
  // one. check/ reports unequal or oversized prefixes; this maps what fits.
  void static_nat(const spec::StaticNat& x) {
    StaticNat out{
        {x.name.v, x.loc}, x.public_addr.v.addr.family, x.public_addr.v, x.private_addr.v, iface(x.interface)};
    Addr pub = x.public_addr.v.first(), priv = x.private_addr.v.first();
    uint64_t n =
        std::min({base::to_range(x.public_addr.v).count(), base::to_range(x.private_addr.v).count(), kMaxStaticHosts});
    if (pub.family == priv.family)
      for (uint64_t i = 0; i < n; ++i) {
        out.hosts.push_back({pub, priv});
        if (!base::next(&pub) || !base::next(&priv)) break;
      }
    std::vector<AddrRange> from;
    for (const auto& p : x.allow_from) from.push_back(base::to_range(p.v));
    out.allow_from = base::merge_ranges(std::move(from));
    out.hairpin = x.hairpin.v;
    out.auto_accept = x.forward_accept.v == spec::ForwardAccept::Auto;
    ir_.statics.push_back(std::move(out));
  }

  void npt(const spec::Nptv6& n) {
    ir_.npts.push_back({{n.name.v, n.loc},
                        n.inside.v,
                        n.outside.v,
                        iface(n.interface),
                        n.forward_accept.v == spec::ForwardAccept::Auto});
  }

  void helper(const spec::Helper& h) {
    Helper out{{h.name.v, h.loc}, h.helper.set ? h.helper.v : h.name.v};
    for (const auto& p : h.protocols) out.protocols.push_back(p.v);
    out.port = h.port.v;
    ir_.helpers.push_back(std::move(out));
  }

  void bridge(const spec::Bridge& b) {
    Subnet sub{{b.name.v, b.loc}, b.cidr.v, {IfMatch::Kind::IsNot, b.name.v, b.name.loc, b.name.v}};
    sub.docker = true;
    // Without masquerade the bridge is still an internal network: hairpin
    // and the FORWARD accepts need it.
    sub.snat = b.masquerade.v ? SnatKind::Masquerade : SnatKind::None;
    ir_.subnets.push_back(std::move(sub));
    for (const auto& p : b.publish) {
      Forward f = forward_core(p.to, p.protocols, p.port);
      f.entry = {b.name.v + "/" + p.name.v, p.loc};
      // Like dockerd's DOCKER chain: any local address, from every
      // interface including the bridge itself (hairpin).
      f.ingress = {IfMatch::Kind::Any};
      f.declared_ingress = f.ingress;
      f.hairpin = true;
      f.from_gateway = true;  // dockerd's OUTPUT chain does the same
      f.docker = true;
      ir_.forwards.push_back(std::move(f));
    }
  }

  void sysctls() {
    std::optional<Entry> v4, v6;  // the first entry that needs each family
    auto need = [&](Family f, const Entry& o) {
      std::optional<Entry>& slot = f == Family::V4 ? v4 : v6;
      if (!slot) slot = o;
    };
    for (const auto& s : ir_.subnets) need(s.cidr.addr.family, s.entry);
    for (const auto& f : ir_.forwards) need(f.family, f.entry);
    for (const auto& r : ir_.rules) need(r.family, r.entry);
    for (const auto& x : ir_.statics) need(x.family, x.entry);
    for (const auto& n : ir_.npts) need(Family::V6, n.entry);
    // Routing between interfaces is what a gateway is: ip_forward goes first
    // so that NAT never lands on a host that would not forward its packets.
    if (v4) ir_.sysctls.push_back({"net.ipv4.ip_forward", "1", *v4});
    if (v6) ir_.sysctls.push_back({"net.ipv6.conf.all.forwarding", "1", *v6});
    // conntrackd does not replicate TCP window tracking (it moves with
    // every packet): on the node that takes over, the first packets of a
    // flow would be out of the window it knows, and invalid.
    if (ir_.ha && ir_.ha->state_sync)
      ir_.sysctls.push_back({"net.netfilter.nf_conntrack_tcp_be_liberal", "1", {"ha", ir_.ha->loc}});
    if (!s_.conntrack) return;
    const spec::Conntrack& c = *s_.conntrack;
    if (c.max.set)
      ir_.sysctls.push_back({"net.netfilter.nf_conntrack_max", std::to_string(c.max.v), {"conntrack.max", c.max.loc}});
    if (c.buckets.set)
      ir_.sysctls.push_back(
          {"net.netfilter.nf_conntrack_buckets", std::to_string(c.buckets.v), {"conntrack.buckets", c.buckets.loc}});
    for (const auto& t : c.timeouts) {
      std::string name = timeout_sysctl(t.key.v);
      if (!name.empty())
        ir_.sysctls.push_back(
            {"net.netfilter." + name, std::to_string(t.seconds.v), {"conntrack.timeouts." + t.key.v, t.key.loc}});
    }
    ir_.alert_percent = c.alert_percent.v;
  }

  const spec::Spec& s_;
  base::Diagnostics& d_;
  Ir ir_;
};

}  // namespace

std::string sysctl_path(std::string_view key) {
  std::string p(key);
  std::replace(p.begin(), p.end(), '.', '/');
  return p;
}

std::span<const std::string_view> timeout_keys() { return kTimeoutKeys; }

namespace {
// The kernel's helpers by the name natc's spec uses, per protocol.
struct HelperKind {
  std::string_view kind, tcp, udp;
};
constexpr HelperKind kHelpers[] = {
    {"ftp", "ftp", ""},   {"sip", "sip", "sip"}, {"tftp", "", "tftp"},     {"h323", "Q.931", "RAS"},
    {"pptp", "pptp", ""}, {"irc", "irc", ""},    {"amanda", "", "amanda"}, {"netbios-ns", "", "netbios-ns"},
    {"snmp", "", "snmp"}, {"sane", "sane", ""},
};
}  // namespace

std::string_view helper_kernel_name(std::string_view kind, Proto p) {
  for (const auto& h : kHelpers)
    if (h.kind == kind) return p == Proto::Tcp ? h.tcp : p == Proto::Udp ? h.udp : "";
  return "";
}

std::vector<std::string_view> helper_kinds() {
  std::vector<std::string_view> out;
  for (const auto& h : kHelpers) out.push_back(h.kind);
  return out;
}

std::string timeout_sysctl(std::string_view key) {
  if (std::find(std::begin(kTimeoutKeys), std::end(kTimeoutKeys), key) == std::end(kTimeoutKeys)) return "";
  size_t us = key.find('_');
  std::string proto(key.substr(0, us));
  std::string name = "nf_conntrack_" + proto + "_timeout";
  if (us != std::string_view::npos) name += "_" + std::string(key.substr(us + 1));
  return name;
}

Ir lower(const spec::Spec& spec, base::Diagnostics& diags) { return Lowerer(spec, diags).run(); }

}  // namespace natc::ir
