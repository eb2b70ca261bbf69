// Co-tenancy lints: natc shares the netfilter hooks with Docker, firewalld
// and iptables rules. An accept in natc's forward chain ends only natc's
// chain; another table's drop still drops. And of several NAT chains on one
// hook, the first to translate a connection decides it. For each spec entry
// natc sends a few probe packets through every other table's base chains
// (cotenancy::evaluate) and says what they would do to them.
#include <algorithm>
#include <map>
#include <set>

#include "check/check.h"
#include "cotenancy/eval.h"
#include "nft/model.h"

namespace natc::check {
namespace {

using base::Code;
using cotenancy::Decision;
using cotenancy::IfName;
using cotenancy::Outcome;
using cotenancy::Probe;
using ct_Chain = cotenancy::Chain;
using Kind = Decision::Kind;

constexpr uint16_t kClientPort = 40000;  // a client's ephemeral port
constexpr uint16_t kWebPort = 443;       // where a subnet's probe connects
constexpr uint8_t kTcp = 6;

// Addresses that stand for "the internet" in route lookups and probes.
base::Addr internet(base::Family f) {
  return *base::parse_addr(f == base::Family::V4 ? "192.0.2.1" : "2001:db8:ffff::1");
}

// Hosts of a subnet to route and send from: the first and the last but
// one (the gateway's own address is often one of them; routes to it say
// "local", not which interface the subnet is on).
std::vector<base::Addr> hosts_of(const base::Prefix& p) {
  base::Addr first = p.addr, last = p.last();
  if (p.len + 1 >= int(first.size() * 8)) return {first};
  base::next(&first);
  for (size_t i = last.size(); i-- > 0;)  // last - 1
    if (last.bytes[i]-- != 0) break;
  return {first, last};
}

// The accept another owner's chain would need, as a command to suggest.
struct Accept {
  base::Family family = base::Family::V4;
  IfName iif, oif;
  std::string src, dst;
  std::string proto;
  uint16_t dport = 0;
  bool established = false;

  static std::string name(const IfName& n, char wildcard) {
    return n.kind == IfName::Kind::Prefix ? n.name + wildcard : n.name;
  }
  static bool known(const IfName& n) { return n.kind != IfName::Kind::Unknown && !n.name.empty(); }
  std::string iptables(const std::string& chain) const {
    std::string c = std::string(family == base::Family::V4 ? "iptables" : "ip6tables") + " -I " + chain;
    if (known(iif)) c += " -i " + name(iif, '+');
    if (known(oif)) c += " -o " + name(oif, '+');
    if (!src.empty()) c += " -s " + src;
    if (!dst.empty()) c += " -d " + dst;
    if (!proto.empty()) c += " -p " + proto + (dport ? " --dport " + std::to_string(dport) : "");
    if (established) c += " -m conntrack --ctstate ESTABLISHED,RELATED";
    return c + " -j ACCEPT";
  }
  std::string nft(const ct_Chain& in) const {
    std::string ip = family == base::Family::V4 ? "ip" : "ip6";
    std::string c =
        "nft insert rule " + std::string(cotenancy::family_name(in.family)) + " " + in.table + " " + in.name;
    if (known(iif)) c += " iifname \"" + name(iif, '*') + "\"";
    if (known(oif)) c += " oifname \"" + name(oif, '*') + "\"";
    if (!src.empty()) c += " " + ip + " saddr " + src;
    if (!dst.empty()) c += " " + ip + " daddr " + dst;
    if (!proto.empty()) c += dport ? " " + proto + " dport " + std::to_string(dport) : " meta l4proto " + proto;
    if (established) c += " ct state established,related";
    return c + " accept";
  }
};

Accept accept_for(const Probe& p) {
  Accept a{p.family, p.iif, p.oif};
  a.established = p.ct_state == cotenancy::kCtEstablished;
  return a;
}

class Cotenancy {
 public:
  Cotenancy(const ir::Ir& ir, const LiveFacts& f, base::Diagnostics& d) : ir_(ir), f_(f), d_(d) {}

  void run() {
    for (const ir::Forward& fw : ir_.forwards)
      for (const ir::PortMap& pm : fw.ports) forward(fw, pm);
    for (const ir::Subnet& s : ir_.subnets) subnet(s);
    summarize();
  }

 private:
  const LiveFacts::Route* route(const base::Addr& a) const {
    auto it = f_.routes.find(a);
    return it == f_.routes.end() ? nullptr : &it->second;
  }
  IfName oif_to(const base::Addr& a) const {
    const LiveFacts::Route* r = route(a);
    return r && !r->oif.empty() ? IfName::exact(r->oif) : IfName{};
  }
  static IfName ifname(const ir::IfMatch& m) {
    if (m.kind != ir::IfMatch::Kind::Is) return {};
    if (!m.name.empty() && m.name.back() == '*') return {IfName::Kind::Prefix, m.name.substr(0, m.name.size() - 1)};
    return IfName::exact(m.name);
  }
  // Every other base chain on `hook` that sees packets of family `f`.
  template <class Fn>
  void each_chain(cotenancy::Hook hook, base::Family f, Fn&& fn) {
    for (const ct_Chain& c : f_.others.chains)
      if (c.hook == hook && c.serves(f)) fn(c);
  }

  void forward(const ir::Forward& fw, const ir::PortMap& pm) {
    std::string proto(ir::proto_name(pm.proto));
    std::string entry = "port forward '" + fw.entry.name + "' (" + proto + " " + std::to_string(pm.port) + " to " +
                        base::to_string(fw.to) + ":" + std::to_string(pm.to_port) + ")";
    base::Addr client = fw.allow_from.empty() ? internet(fw.family) : fw.allow_from.front().first;
    IfName ingress = fw.ingress.kind == ir::IfMatch::Kind::Any ? oif_to(internet(fw.family)) : ifname(fw.ingress);
    IfName inside = oif_to(fw.to);

    Probe in;  // as it arrives, before any DNAT
    in.family = fw.family;
    in.iif = ingress, in.oif = IfName::none();
    in.saddr = client, in.saddr_local = false;
    in.daddr = fw.destination;
    in.daddr_local = fw.destination
                         ? (route(*fw.destination) ? std::optional(route(*fw.destination)->local) : std::nullopt)
                         : std::optional(true);
    in.l4proto = uint8_t(pm.proto), in.sport = kClientPort, in.dport = pm.port;
    in.ct_state = cotenancy::kCtNew, in.ct_status = 0, in.ct_direction = 0;
    each_chain(cotenancy::Hook::Prerouting, fw.family, [&](const ct_Chain& c) {
      Outcome o = cotenancy::evaluate(f_.others, c, in);
      if (c.type == cotenancy::ChainType::Nat) claims(fw, proto + " port " + std::to_string(pm.port), c, o);
      Accept fix = accept_for(in);
      if (fw.destination) fix.dst = base::to_string(*fw.destination);
      fix.proto = proto, fix.dport = pm.port;
      drops(fw.entry, entry, "new connections", fix, c, o);
    });

    Probe through = in;  // after natc's DNAT, on its way to the target
    through.oif = inside;
    through.daddr = fw.to, through.daddr_local = false, through.dport = pm.to_port;
    through.ct_status = cotenancy::kStatusDnat;
    Probe reply;  // the target's answers, on their way back
    reply.family = fw.family;
    reply.iif = inside, reply.oif = ingress;
    reply.saddr = fw.to, reply.saddr_local = false, reply.daddr = client, reply.daddr_local = false;
    reply.l4proto = uint8_t(pm.proto), reply.sport = pm.to_port, reply.dport = kClientPort;
    reply.ct_state = cotenancy::kCtEstablished, reply.ct_direction = 1;
    reply.ct_status = cotenancy::kStatusDnat | cotenancy::kStatusSeenReply | cotenancy::kStatusConfirmed;
    Accept fix = accept_for(through), fix_reply = accept_for(reply);
    fix.dst = base::to_string(fw.to), fix.proto = proto, fix.dport = pm.to_port;
    each_chain(cotenancy::Hook::Forward, fw.family, [&](const ct_Chain& c) {
      if (!drops(fw.entry, entry, "new connections", fix, c, cotenancy::evaluate(f_.others, c, through)))
        drops(fw.entry, entry, "replies", fix_reply, c, cotenancy::evaluate(f_.others, c, reply));
    });
  }

  void subnet(const ir::Subnet& s) {
    base::Family fam = s.cidr.addr.family;
    std::string entry = "subnet '" + s.entry.name + "' (" + base::to_string(s.cidr) + ")";
    base::Addr host = hosts_of(s.cidr).front();
    for (const base::Addr& h : hosts_of(s.cidr))
      if (const LiveFacts::Route* r = route(h); r && !r->local) {
        host = h;
        break;
      }
    Probe out;
    out.family = fam;
    out.iif = oif_to(host);
    out.oif = s.egress.kind == ir::IfMatch::Kind::Is ? ifname(s.egress) : oif_to(internet(fam));
    out.saddr = host, out.saddr_local = false, out.daddr = internet(fam), out.daddr_local = false;
    out.l4proto = kTcp, out.sport = kClientPort, out.dport = kWebPort;
    out.ct_state = cotenancy::kCtNew, out.ct_status = 0, out.ct_direction = 0;
    Probe back;
    back.family = fam;
    back.iif = out.oif, back.oif = out.iif;
    back.saddr = out.daddr, back.saddr_local = false, back.daddr = host, back.daddr_local = false;
    back.l4proto = kTcp, back.sport = kWebPort, back.dport = kClientPort;
    back.ct_state = cotenancy::kCtEstablished, back.ct_direction = 1;
    back.ct_status = (s.snat == ir::SnatKind::None ? 0 : cotenancy::kStatusSnat) | cotenancy::kStatusSeenReply |
                     cotenancy::kStatusConfirmed;
    std::string leaving = "traffic leaving through " + (s.egress.label.empty() ? s.egress.name : s.egress.label);
    Accept fix = accept_for(out), fix_back = accept_for(back);
    fix.src = base::to_string(s.cidr);
    each_chain(cotenancy::Hook::Forward, fam, [&](const ct_Chain& c) {
      if (!drops(s.entry, entry, leaving, fix, c, cotenancy::evaluate(f_.others, c, out)))
        drops(s.entry, entry, "replies to its traffic", fix_back, c, cotenancy::evaluate(f_.others, c, back));
    });
    each_chain(cotenancy::Hook::Postrouting, fam, [&](const ct_Chain& c) {
      Outcome o = cotenancy::evaluate(f_.others, c, out);
      if (c.type == cotenancy::ChainType::Nat) translates(s, entry, c, o);
      drops(s.entry, entry, leaving, fix, c, o);
    });
  }

  // W3011. True when it warned.
  bool drops(const ir::Entry& who, const std::string& entry, const std::string& what, const Accept& fix,
             const ct_Chain& base, const Outcome& o) {
    std::string message, unless;
    if (o.decision.kind == Kind::Drop) {
      message = describe(o.decision) + " drops " + what + " of " + entry;
      for (const cotenancy::Maybe& m : o.maybes)
        if (m.decision.kind == Kind::Pass) {
          unless = "; unless " + describe(m.decision) + " accepts them first, which depends on " + m.unknown +
                   " (natc cannot tell)";
          break;
        }
    } else if (o.decision.kind == Kind::Unknown) {
      message = describe(o.decision) + " decides " + what + " of " + entry + " with " + o.decision.what +
                ", which natc cannot read: it may drop them";
    } else {
      auto m = std::find_if(o.maybes.begin(), o.maybes.end(), [](auto& x) { return x.decision.kind == Kind::Drop; });
      if (m != o.maybes.end())
        message = describe(m->decision) + " may drop " + what + " of " + entry + ", depending on " + m->unknown +
                  " (natc cannot tell)";
    }
    if (message.empty()) return false;
    if (!once(who, Code::ForeignDrop, base, o)) return true;
    std::string help =
        "an accept in natc's chain ends only natc's own chain: every base chain on the hook must let "
        "the packet through, so add an accept there too: ";
    if (f_.others.chain(base.family, base.table, "DOCKER-USER") && base.family != cotenancy::Family::Inet)
      help += fix.iptables("DOCKER-USER") + " (Docker's chain for the host's own rules)";
    else
      help += fix.nft(base);
    report(Code::ForeignDrop, who.loc, message + unless, help, o);
    return true;
  }

  // The NAT a chain does, or might do, to a probe (with why "might").
  static std::pair<const Decision*, std::string> translation(const Outcome& o) {
    if (o.decision.kind == Kind::Nat) return {&o.decision, ""};
    for (const cotenancy::Maybe& m : o.maybes)
      if (m.decision.kind == Kind::Nat) return {&m.decision, ", depending on " + m.unknown + " (natc cannot tell)"};
    return {nullptr, ""};
  }

  // W3012: another table translates a port natc forwards.
  void claims(const ir::Forward& fw, const std::string& port, const ct_Chain& base, const Outcome& o) {
    auto [d, maybe] = translation(o);
    using NK = cotenancy::NatAction::Kind;
    if (!d || (d->nat.kind != NK::Dnat && d->nat.kind != NK::Redirect) || !once(fw.entry, Code::ForeignDnat, base, o))
      return;
    report(Code::ForeignDnat, fw.port_loc,
           describe(*d) + " also translates " + port + " of port forward '" + fw.entry.name + "': " + describe(d->nat) +
               maybe + "; " + order(base, nft::Hook::Prerouting),
           "one port, one owner: remove the other rule (for Docker: stop publishing the port) or forward another port",
           o);
  }

  // W3013: another table source-translates a natc subnet differently.
  void translates(const ir::Subnet& s, const std::string& entry, const ct_Chain& base, const Outcome& o) {
    auto [d, maybe] = translation(o);
    if (!d || same_translation(s, d->nat) || !once(s.entry, Code::ForeignSnat, base, o)) return;
    report(Code::ForeignSnat, s.entry.loc,
           describe(*d) + " translates " + entry + " differently: " + describe(d->nat) + maybe +
               ", natc: " + natc_translation(s) + "; " + order(base, nft::Hook::Postrouting),
           "one subnet, one translation: remove the other rule or make it match natc's", o);
  }

  bool same_translation(const ir::Subnet& s, const cotenancy::NatAction& n) const {
    using NK = cotenancy::NatAction::Kind;
    switch (s.snat) {
      case ir::SnatKind::Masquerade: return n.kind == NK::Masquerade;
      case ir::SnatKind::To: return n.kind == NK::Snat && n.addr_min == s.to && n.addr_max == s.to;
      case ir::SnatKind::Pool: {
        const ir::Pool& p = ir_.pools[s.pool];
        return n.kind == NK::Snat && p.addresses.size() == 1 && n.addr_min == p.addresses[0].first &&
               n.addr_max == p.addresses[0].last;
      }
      case ir::SnatKind::None: return false;
    }
    return false;
  }
  std::string natc_translation(const ir::Subnet& s) const {
    switch (s.snat) {
      case ir::SnatKind::Masquerade: return "masquerade";
      case ir::SnatKind::To: return "SNAT to " + base::to_string(s.to);
      case ir::SnatKind::Pool: return "SNAT to pool '" + ir_.pools[s.pool].entry.name + "'";
      case ir::SnatKind::None: return "no translation";
    }
    return "";
  }

  // Of several NAT chains on one hook, the first to translate decides.
  static std::string order(const ct_Chain& base, nft::Hook hook) {
    nft::Chain natc{"", hook};
    std::string theirs = "table " + std::string(cotenancy::family_name(base.family)) + " " + base.table + " chain " +
                         base.name + " runs at priority " + std::to_string(base.priority);
    std::string ours = std::to_string(natc.priority());
    if (base.priority < natc.priority())
      return theirs + ", before natc's " + ours + ": it decides, natc's rule never applies";
    if (base.priority == natc.priority())
      return theirs + " like natc's: the chain created first decides, so a reboot or a reload can change which";
    return theirs + ", after natc's " + ours + ": natc decides, and the other rule's owner is misled";
  }

  // A chain that drops 10,000 forwards is one cause: the first few are
  // reported, then one line for the rest.
  void report(Code code, base::Loc loc, std::string message, std::string help, const Outcome& o) {
    Cause& c = causes_[{code, o.decision.chain, o.decision.rule}];
    if (++c.count <= kPerCause)
      d_.report(code, loc, std::move(message), std::move(help));
    else if (c.count == kPerCause + 1)
      c.first_unreported = loc, c.what = describe(o.decision);
  }
  void summarize() {
    for (const auto& [key, c] : causes_)
      if (c.count > kPerCause)
        d_.report(std::get<0>(key), c.first_unreported,
                  "... and " + std::to_string(c.count - kPerCause) +
                      " more spec entries, from here on, the same way by " + c.what,
                  "natc reports the first " + std::to_string(kPerCause) + " entries of each cause in full");
  }

  // One warning per spec entry, code and deciding rule or policy.
  bool once(const ir::Entry& who, Code code, const ct_Chain& base, const Outcome& o) {
    return seen_.insert({&who, code, &base, o.decision.rule}).second;
  }

  const ir::Ir& ir_;
  const LiveFacts& f_;
  base::Diagnostics& d_;
  std::set<std::tuple<const ir::Entry*, Code, const ct_Chain*, const cotenancy::Rule*>> seen_;
  static constexpr size_t kPerCause = 5;
  struct Cause {
    size_t count = 0;
    base::Loc first_unreported;
    std::string what;
  };
  std::map<std::tuple<Code, const ct_Chain*, const cotenancy::Rule*>, Cause> causes_;
};

}  // namespace

void cotenancy_lints(const ir::Ir& ir, const LiveFacts& facts, base::Diagnostics& diags) {
  if (cotenancy_relevant(facts.others)) Cotenancy(ir, facts, diags).run();
}

bool cotenancy_relevant(const cotenancy::Ruleset& others) {
  using H = cotenancy::Hook;
  return std::any_of(others.chains.begin(), others.chains.end(), [](const cotenancy::Chain& c) {
    return c.hook && (*c.hook == H::Prerouting || *c.hook == H::Forward || *c.hook == H::Postrouting) &&
           c.family != cotenancy::Family::Other;
  });
}

std::vector<base::Addr> cotenancy_addresses(const ir::Ir& ir) {
  std::vector<base::Addr> out{internet(base::Family::V4), internet(base::Family::V6)};
  for (const ir::Forward& fw : ir.forwards) {
    out.push_back(fw.to);
    if (fw.destination) out.push_back(*fw.destination);
  }
  for (const ir::Subnet& s : ir.subnets)
    for (const base::Addr& h : hosts_of(s.cidr)) out.push_back(h);
  return out;
}

}  // namespace natc::check
