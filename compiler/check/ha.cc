#include <algorithm>

#include "check/check.h"
#include "ha/config.h"

namespace natc::check {
namespace {

using base::Code;

// The subnet a virtual address is written in: 203.0.113.50/24 -> 203.0.113.0/24.
base::AddrRange subnet_of(const ir::Vip& v) {
  base::Addr net = v.addr;
  for (size_t bit = v.len; bit < net.size() * 8; ++bit) net.bytes[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
  return base::to_range(base::Prefix{net, v.len});
}

// The network and broadcast addresses of an IPv4 prefix are no host's.
bool host_address(const ir::Vip& v) {
  if (v.addr.family != base::Family::V4 || v.len >= 31) return true;
  base::AddrRange r = subnet_of(v);
  return v.addr != r.first && v.addr != r.last;
}

std::string address(const ir::Vip& v) { return base::to_string(v.addr) + "/" + std::to_string(v.len); }

void vips(const ir::Ha& ha, base::Diagnostics& d) {
  for (size_t i = 0; i < ha.vips.size(); ++i) {
    const ir::Vip& v = ha.vips[i];
    for (size_t j = 0; j < i; ++j)
      if (ha.vips[j].vrid == v.vrid)
        d.report(Code::HaVridReused, v.loc, "virtual router id " + std::to_string(v.vrid) + " is used twice",
                 "each virtual address is a VRRP instance of its own: give it its own vrid (1-255)");
    if (!host_address(v))
      d.report(Code::HaVipSubnet, v.loc,
               "virtual address " + address(v) + " is its subnet's network or broadcast address",
               "a virtual address is a host of the subnet on its interface");
    if (v.iface.name == ha.sync.name)
      d.report(Code::HaSyncTraffic, v.loc,
               "virtual address " + address(v) + " is on the sync interface '" + ha.sync.label + "'",
               "the sync link carries conntrackd's state only; put the address on a traffic interface");
  }
}

// Traffic on the sync link would compete with the state it carries, and a
// cut sync link would look like a dead peer.
void sync_link(const ir::Ir& ir, const ir::Ha& ha, base::Diagnostics& d) {
  auto on_sync = [&](const ir::IfMatch& m, base::Loc at, const std::string& what) {
    if (m.kind == ir::IfMatch::Kind::Is && m.name == ha.sync.name)
      d.report(Code::HaSyncTraffic, at, what + " uses the sync interface '" + ha.sync.label + "'",
               "keep the sync link for conntrackd: route traffic through another interface");
  };
  for (const ir::Subnet& s : ir.subnets) on_sync(s.egress, s.egress.loc, "subnet '" + s.entry.name + "'");
  for (const ir::Forward& f : ir.forwards)
    on_sync(f.declared_ingress, f.declared_ingress.loc, "port forward '" + f.entry.name + "'");
  for (const ir::StaticNat& s : ir.statics) on_sync(s.iface, s.iface.loc, "static NAT '" + s.entry.name + "'");
  for (const ir::Redirect& r : ir.redirects) on_sync(r.ingress, r.ingress.loc, "redirect '" + r.entry.name + "'");
}

// After a failover the peer answers for the virtual addresses only; a
// forward that names another address of this node dies with it.
void destinations(const ir::Ir& ir, const ir::Ha& ha, base::Diagnostics& d) {
  for (const ir::Forward& f : ir.forwards) {
    if (!f.destination || f.docker) continue;
    bool vip = std::any_of(ha.vips.begin(), ha.vips.end(), [&](const ir::Vip& v) { return v.addr == *f.destination; });
    if (!vip)
      d.report(Code::HaNodeAddress, f.entry.loc,
               "port forward '" + f.entry.name + "' is for " + base::to_string(*f.destination) +
                   ", which is not one of the pair's virtual addresses",
               "a node's own address goes down with the node; use the virtual address (or leave destination out)");
  }
}

void lints(const ir::Ir& ir, const ir::Ha& ha, base::Diagnostics& d) {
  for (const ir::Subnet& s : ir.subnets)
    if (s.snat == ir::SnatKind::Masquerade)
      d.report(Code::HaMasquerade, s.entry.loc,
               "subnet '" + s.entry.name + "' masquerades behind this node's own address on '" + s.egress.label +
                   "': its flows die in a failover",
               "add a virtual address on '" + s.egress.label + "' (natc then translates to it), or snat: {to: VIP}");
  if (ha.advert_ms > 1000)
    d.report(Code::HaSlowAdverts, ha.loc,
             "VRRP adverts every " + std::to_string(ha.advert_ms) +
                 " ms: the backup waits more than three of "
                 "them before it takes over",
             "advert_interval 200ms fails over in well under a second");
  if (!ha.strict_tcp)
    d.report(Code::HaNoStrictTcp, ha.loc,
             "strict_tcp is off: a packet that arrives between a failover and the flows' commit resets its "
             "connection",
             "leave strict_tcp on (the default): new TCP flows must start with SYN");
}

}  // namespace

void ha(const ir::Ir& ir, base::Diagnostics& d) {
  if (!ir.ha) return;
  vips(*ir.ha, d);
  sync_link(ir, *ir.ha, d);
  destinations(ir, *ir.ha, d);
}

void ha_lints(const ir::Ir& ir, base::Diagnostics& d) {
  if (ir.ha) lints(ir, *ir.ha, d);
}

namespace {

void daemons(const ir::Ha& ha, const LiveFacts::Pair& p, base::Diagnostics& d) {
  auto daemon = [&](std::string_view name, bool installed, bool running, std::string_view what) {
    if (!installed)
      d.report(Code::HaDaemon, ha.loc, std::string(name) + " is not installed: " + std::string(what),
               "apt-get install " + std::string(name));
    else if (!running)
      d.report(Code::HaDaemon, ha.loc, std::string(name) + " is not running: " + std::string(what),
               "start it (systemctl start " + std::string(name) + ") after natc apply wrote its file");
  };
  daemon("keepalived", p.keepalived_installed, p.keepalived_running, "nothing moves the virtual addresses");
  if (ha.state_sync) daemon("conntrackd", p.conntrackd_installed, p.conntrackd_running, "a failover resets every flow");
}

void peer(const ir::Ha& ha, const LiveFacts::Pair& p, base::Diagnostics& d) {
  std::string peer = base::to_string(ha.peer);
  if (!p.peer_route || p.peer_route->local)
    d.report(Code::HaPeer, ha.loc, "peer " + peer + (p.peer_route ? " is this node's own address" : " has no route"),
             "the peer is the other gateway's address on the sync link");
  else if (p.peer_route->oif != ha.sync.name)
    d.report(Code::HaPeer, ha.loc,
             "peer " + peer + " is reached through '" + p.peer_route->oif + "', not the sync interface '" +
                 ha.sync.label + "'",
             "give the sync link an address in the peer's subnet");
  if (!p.peer_file) return;
  ha::Published pub = ha::read_published(*p.peer_file);
  if (pub.hash.empty())
    d.report(Code::HaPeer, ha.loc, p.peer_file_name + " is not a keepalived file natc wrote");
  else if (pub.hash != p.hash)
    d.report(Code::HaPeer, ha.loc,
             "the peer's spec differs from this one in more than priority and peer (pair hash " + pub.hash + ", here " +
                 p.hash + ")",
             "apply the same spec on both nodes; roll a change out to the backup first");
  else if (pub.priority == ha.priority)
    d.report(Code::HaPeer, ha.loc, "the peer has the same priority (" + std::to_string(ha.priority) + ")",
             "give the node that should be primary the higher priority");
}

// keepalived adds a virtual address to an interface that has the subnet
// already; in no subnet of it, nothing routes to it.
void vip_subnets(const ir::Ha& ha, const std::vector<LiveFacts::Interface>& ifs, base::Diagnostics& d) {
  for (const ir::Vip& v : ha.vips) {
    auto it = std::find_if(ifs.begin(), ifs.end(), [&](const auto& i) { return i.name == v.iface.name; });
    if (it == ifs.end()) continue;  // W3015 says the interface is missing
    base::AddrRange net = subnet_of(v);
    bool in = std::any_of(it->configured.begin(), it->configured.end(),
                          [&](const base::Addr& a) { return a != v.addr && net.contains(a); });
    if (!in)
      d.report(Code::HaVipSubnet, v.loc,
               "virtual address " + address(v) + " is in no subnet of '" + v.iface.label + "' (" + v.iface.name + ")",
               "give the interface this node's own address in " + base::to_string(net));
  }
}

}  // namespace

void ha_live(const ir::Ir& ir, const LiveFacts& f, base::Diagnostics& d) {
  if (!ir.ha || !f.pair) return;
  daemons(*ir.ha, *f.pair, d);
  peer(*ir.ha, *f.pair, d);
  if (f.interfaces) vip_subnets(*ir.ha, *f.interfaces, d);
}

}  // namespace natc::check
