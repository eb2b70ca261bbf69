#include "import/import.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "base/text.h"
#include "import/lift.h"
#include "ir/lower.h"

namespace natc::imports {
namespace {

namespace ct = cotenancy;
using base::AddrRange;
using base::Family;
using base::PortRange;

constexpr int kMaxDepth = 16;  // the kernel's jump stack
// Rules read through jumps, in all: chains that fan out (each of many jumps
// to the next) would otherwise take time without bound.
constexpr size_t kMaxVisits = 20000;
constexpr uint8_t kTcp = 6, kUdp = 17;

// Where a rule lives, as `nft delete rule` names it.
struct Src {
  const ct::Chain* chain = nullptr;
  const ct::Rule* rule = nullptr;
};
// Names from other tools (tables, chains, files) are printed one line each:
// nothing in them moves the cursor or forges a line.
std::string where(const Src& s) {
  return base::one_line(std::string(ct::family_name(s.chain->family)) + " " + s.chain->table + " " + s.chain->name +
                        " handle " + std::to_string(s.rule->handle));
}
// The same in an import's words: a file's line when it came from one.
std::string where(const Src& s, const std::optional<std::map<uint64_t, std::string>>& places) {
  if (!places) return where(s);
  auto it = places->find(s.rule->handle);
  return it == places->end() ? where(s) : base::one_line(it->second);
}

// An interface as a spec names it: "*" for any, `eth*` for iptables' `eth+`.
std::string spec_iface(const std::optional<Iface>& i) {
  if (!i) return "*";
  return i->prefix ? i->name + "*" : i->name;
}

// An entry name from an address or range: '/' and ':' are not in names.
std::string entry_name(std::string n) {
  std::replace(n.begin(), n.end(), '/', '-');
  std::replace(n.begin(), n.end(), ':', '.');
  return n;
}

// A rule as the base chain sees it: jumps followed, their conditions joined.
struct Flat {
  Lifted l;
  ct::Hook hook = ct::Hook::Other;
  const ct::Chain* base = nullptr;
  std::vector<Src> path;  // the jumps that led here, then the rule itself
  bool used = false;      // imported (or made redundant by what was)
  std::string why;        // left out: the reason
};

std::string proto_name(uint8_t p) { return p == kTcp ? "tcp" : p == kUdp ? "udp" : std::to_string(p); }
std::string range_text(const AddrRange& r) { return base::to_string(r); }
std::string ports_text(const PortRange& r) { return base::to_string(r); }
bool single(const AddrRange& r) { return r.first == r.last; }
AddrRange any(Family f) {
  base::Addr lo{f}, hi{f};
  std::fill(hi.bytes.begin(), hi.bytes.begin() + long(hi.size()), 0xff);
  return {lo, hi};
}

// The conditions of an exclusion (a RETURN, or an accept in a NAT chain)
// turned around, when that is one field; nullopt otherwise.
std::optional<Match> negation(const Match& m) {
  Match out;
  int fields = 0;
  if (m.iif) out.iif = m.iif, out.iif->negate = !m.iif->negate, ++fields;
  if (m.oif) out.oif = m.oif, out.oif->negate = !m.oif->negate, ++fields;
  if (m.saddr) out.saddr = m.saddr, out.saddr->negate = !m.saddr->negate, ++fields;
  if (m.daddr) out.daddr = m.daddr, out.daddr->negate = !m.daddr->negate, ++fields;
  Match rest = m;
  rest.iif.reset(), rest.oif.reset(), rest.saddr.reset(), rest.daddr.reset(), rest.family.reset();
  if (fields != 1 || !rest.empty()) return std::nullopt;
  out.family = m.family;
  return out;
}

// Follows every base chain natc imports from, rule by rule.
class Flattener {
 public:
  explicit Flattener(const ct::Ruleset& rs) : rs_(rs) {}

  std::vector<Flat> walk(const ct::Chain& base) {
    out_.clear();
    chain(base, base, Match{}, {}, 0);
    return std::move(out_);
  }

 private:
  void chain(const ct::Chain& base, const ct::Chain& c, const Match& prefix, const std::vector<Src>& path, int depth) {
    std::vector<Match> except;  // earlier RETURNs, turned around
    bool blocked = false;       // after an exclusion natc cannot turn around
    for (const ct::Rule& r : c.rules) {
      std::vector<Src> here = path;
      here.push_back({&c, &r});
      if (++visits_ > kMaxVisits) {
        left(base, here, "more rules through jumps than natc follows");
        return;
      }
      LiftResult lr = lift(rs_, c, r);
      if (!lr.reason.empty()) {
        left(base, here, lr.reason);
        continue;
      }
      for (const Lifted& alt : lr.alternatives) {
        if (++visits_ > kMaxVisits) {
          left(base, here, "more rules through jumps than natc follows");
          return;
        }
        Lifted l = alt;
        Match m = prefix;
        Merged mg = merge(m, l.match);
        for (const Match& e : except)
          if (mg == Merged::Ok) mg = merge(m, e);
        if (mg == Merged::Never) continue;
        if (mg == Merged::Cannot || blocked) {
          left(base, here,
               blocked ? "after a RETURN or accept natc cannot turn into a condition" : "conditions natc cannot join");
          continue;
        }
        l.match = m;
        if (!act(base, l, alt.match, here, depth, except, blocked)) return;
      }
    }
  }

  // false: the rest of the chain is never reached.
  bool act(const ct::Chain& base, const Lifted& l, const Match& own, const std::vector<Src>& here, int depth,
           std::vector<Match>& except, bool& blocked) {
    using K = Action::Kind;
    bool nat_chain = base.type == ct::ChainType::Nat;
    switch (l.action.kind) {
      case K::None: return true;
      case K::Jump:
      case K::Goto: {
        const ct::Chain* to = rs_.chain(here.back().chain->family, here.back().chain->table, l.action.chain);
        if (!to || depth >= kMaxDepth) {
          left(base, here, "a jump natc cannot follow");
          return true;
        }
        chain(base, *to, l.match, here, depth + 1);
        return !(l.action.kind == K::Goto && own.empty());
      }
      case K::Return:
        if (own.empty()) return false;
        exclude(own, except, blocked);
        return true;
      case K::Accept:
        if (nat_chain) {  // ends NAT for the flow: an exception to what follows
          out_.push_back({l, *base.hook, &base, here, false, {}});
          if (own.empty()) return false;
          exclude(own, except, blocked);
          return true;
        }
        [[fallthrough]];
      default: out_.push_back({l, *base.hook, &base, here, false, {}}); return true;
    }
  }

  static void exclude(const Match& own, std::vector<Match>& except, bool& blocked) {
    if (auto n = negation(own))
      except.push_back(*n);
    else
      blocked = true;
  }

  void left(const ct::Chain& base, const std::vector<Src>& here, const std::string& why) {
    Flat f;
    f.hook = *base.hook;
    f.base = &base;
    f.path = here;
    f.why = why;
    out_.push_back(std::move(f));
  }

  const ct::Ruleset& rs_;
  std::vector<Flat> out_;
  size_t visits_ = 0;
};

// What the spec will hold.
struct Entry {
  std::vector<std::string> sources;  // the rules it came from
};
struct Subnet : Entry {
  std::string name;
  base::Prefix cidr;
  std::string egress;  // a kernel name, or a pattern with '*'
  enum class Snat : uint8_t { Masquerade, To, Pool } snat = Snat::Masquerade;
  base::Addr to;
  std::string pool;
};
struct Pool : Entry {
  std::string name;
  AddrRange addresses;
  std::optional<PortRange> ports;
  bool persistent = false, fully_random = false;
};
struct Forward : Entry {
  std::string name;
  std::string ingress;  // kernel name, pattern, or "*"
  std::set<uint8_t> protocols;
  PortRange port;
  base::Addr to;
  std::optional<PortRange> to_ports;
  std::optional<base::Addr> destination;
  std::vector<AddrRange> allow_from;
  bool hairpin = false, from_gateway = false;
  std::string bridge;  // a Docker bridge's published port
};
struct Redirect : Entry {
  std::string name, ingress;
  std::set<uint8_t> protocols;
  PortRange port;
  std::optional<uint16_t> to_port;
  std::vector<AddrRange> from;
};
struct Rule : Entry {
  std::string name;
  std::vector<AddrRange> from, to;
  std::optional<uint8_t> protocol;
  std::optional<PortRange> port;
};
struct Bridge : Entry {
  std::string name;
  base::Prefix cidr;
};

// Default conntrack timeouts of the kernel (seconds): a value that differs
// was set by someone, and goes into the spec.
const std::map<std::string, std::string>& default_timeouts() {
  static const std::map<std::string, std::string> d{
      {"generic", "600"},
      {"icmp", "30"},
      {"icmpv6", "30"},
      {"udp", "30"},
      {"udp_stream", "120"},
      {"gre", "30"},
      {"gre_stream", "180"},
      {"tcp_syn_sent", "120"},
      {"tcp_syn_recv", "60"},
      {"tcp_established", "432000"},
      {"tcp_fin_wait", "120"},
      {"tcp_close_wait", "60"},
      {"tcp_last_ack", "30"},
      {"tcp_time_wait", "120"},
      {"tcp_close", "10"},
      {"tcp_max_retrans", "300"},
      {"tcp_unacknowledged", "300"},
      {"sctp_closed", "10"},
      {"sctp_cookie_wait", "3"},
      {"sctp_cookie_echoed", "3"},
      {"sctp_established", "210"},
      {"sctp_shutdown_sent", "3"},
      {"sctp_shutdown_recd", "3"},
      {"sctp_shutdown_ack_sent", "3"},
      {"sctp_heartbeat_sent", "30"},
  };
  return d;
}

std::string yaml_list(const std::vector<AddrRange>& v) {
  if (v.size() == 1) return range_text(v.front());
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + range_text(v[i]);
  return s + "]";
}
std::string yaml_protocols(const std::set<uint8_t>& p) {
  if (p.size() == 1) return proto_name(*p.begin());
  std::string s = "[";
  for (uint8_t x : p) s += (s.size() > 1 ? ", " : "") + proto_name(x);
  return s + "]";
}
std::string quoted_ports(const PortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : "\"" + ports_text(r) + "\"";
}

class Importer {
 public:
  explicit Importer(const Input& in) : in_(in) {}

  Imported run() {
    collect();
    bridges();
    forwards();
    hairpins();
    subnets();
    forwarding();
    conntrack();
    std::set<std::string> listed;  // a rule reached by two jumps is listed once
    for (Flat& f : flats_) {
      if (f.used) continue;
      std::string line = where(f.path.back(), in_.places) + ": " + base::one_line(f.why.empty() ? unplaced(f) : f.why);
      if (listed.insert(line).second) out_.left_out.push_back(line);
    }
    removal();
    render();
    return std::move(out_);
  }

 private:
  // Every base chain that NAT or forwarding runs through; others are noted.
  void collect() {
    Flattener fl(in_.rules);
    for (const ct::Chain& c : in_.rules.chains) {
      if (!c.hook) continue;
      bool nat = c.type == ct::ChainType::Nat &&
                 (c.hook == ct::Hook::Prerouting || c.hook == ct::Hook::Postrouting || c.hook == ct::Hook::Output);
      bool fwd = c.type == ct::ChainType::Filter && c.hook == ct::Hook::Forward;
      if (!nat && !fwd) {
        if (!c.rules.empty())
          out_.notes.push_back(base::one_line(std::string(ct::family_name(c.family)) + " " + c.table + " " + c.name) +
                               ": not NAT or forwarding, left as it is");
        continue;
      }
      if (fwd) forward_chains_.push_back(&c);
      for (Flat& f : fl.walk(c)) flats_.push_back(std::move(f));
    }
  }

  static bool is_nat(const Flat& f, ct::NatAction::Kind k) {
    return f.why.empty() && f.l.action.kind == Action::Kind::Nat && f.l.action.nat.kind == k;
  }
  std::vector<std::string> from(const Flat& f) const { return {where(f.path.back(), in_.places)}; }

  // Docker's pattern: `-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`.
  void bridges() {
    for (Flat& f : flats_) {
      const Match& m = f.l.match;
      if (f.hook != ct::Hook::Postrouting || !is_nat(f, ct::NatAction::Kind::Masquerade)) continue;
      if (!m.oif || !m.oif->negate || m.oif->prefix || !m.saddr || m.saddr->negate || m.iif || m.daddr) continue;
      auto p = m.saddr->range.as_prefix();
      if (!p || !(m.oif->name.starts_with("docker") || m.oif->name.starts_with("br-"))) continue;
      Bridge b;
      b.name = m.oif->name, b.cidr = *p, b.sources = from(f);
      bridges_.push_back(b);
      f.used = true;
    }
  }

  const Bridge* bridge_of(const base::Addr& a) const {
    for (const Bridge& b : bridges_)
      if (base::to_range(b.cidr).contains(a)) return &b;
    return nullptr;
  }

  void forwards() {
    for (Flat& f : flats_) {
      if (f.hook == ct::Hook::Prerouting && is_nat(f, ct::NatAction::Kind::Dnat)) dnat(f);
      if (f.hook == ct::Hook::Prerouting && is_nat(f, ct::NatAction::Kind::Redirect)) redirect(f);
    }
    for (Flat& f : flats_)
      if (f.hook == ct::Hook::Output && is_nat(f, ct::NatAction::Kind::Dnat)) output_dnat(f);
    // A NAT chain's accept (an exception before the translations) has no
    // place in a spec unless it changes nothing natc imported.
    for (Flat& f : flats_)
      if (f.why.empty() && f.l.action.kind == Action::Kind::Accept && f.base->type == ct::ChainType::Nat) exception(f);
  }

  // `! -d 127.0.0.0/8` style exceptions are what natc's own chains do.
  void exception(Flat& f) {
    const Match& m = f.l.match;
    if (m.daddr && !m.daddr->negate && m.daddr->range.first.bytes[0] == 127 && m.iif == std::nullopt) f.used = true;
  }

  bool dnat_fields(Flat& f, Forward& fw) {
    const Match& m = f.l.match;
    const ct::NatAction& n = f.l.action.nat;
    auto no = [&](const std::string& why) { return f.why = why, false; };
    if (!m.l4proto || (*m.l4proto != kTcp && *m.l4proto != kUdp)) return no("a DNAT of every protocol or port");
    if (!m.dport) return no("a DNAT of every port (natc's static_nat says 1:1 NAT)");
    if (!n.addr_min || *n.addr_min != *n.addr_max) return no("a DNAT to several addresses (load balancing)");
    if (m.sport || m.oif || m.ct_state || m.ct_status || m.daddr_local == false)
      return no("a DNAT with conditions a port forward has no key for");
    if (n.persistent || n.random || n.fully_random) return no("a DNAT with persistent or random");
    fw.protocols = {*m.l4proto};
    fw.port = *m.dport;
    fw.to = *n.addr_min;
    if (n.port_min) {
      PortRange tp{*n.port_min, *n.port_max};
      bool same = tp == fw.port;
      if (!same && tp.size() == 1 && fw.port.size() > 1)
        return no("a port range DNAT'd onto one port (natc maps port ranges 1:1)");
      if (!same && tp.size() != 1 && !(n.offset && tp.size() == fw.port.size()))
        return no("a port range DNAT'd to another range without 1:1 mapping (the kernel picks the port)");
      if (!same) fw.to_ports = tp.size() == 1 ? tp : PortRange{*n.port_min, uint16_t(*n.port_min + fw.port.size() - 1)};
    }
    if (m.saddr) {
      if (m.saddr->negate) return no("a DNAT for every source but some");
      if (!m.saddr->range.as_prefix()) return no("a DNAT from an address range that is not one network");
      fw.allow_from = {m.saddr->range};
    }
    return true;
  }

  void dnat(Flat& f) {
    Forward fw;
    if (!dnat_fields(f, fw)) return;
    const Match& m = f.l.match;
    if (const Bridge* b = bridge_of(fw.to); b && m.iif && m.iif->negate && m.iif->name == b->name) {
      fw.bridge = b->name, fw.ingress = "*";
    } else if (m.iif && m.iif->negate) {
      f.why = "a DNAT on every interface but one";
      return;
    } else {
      fw.ingress = spec_iface(m.iif);
    }
    if (m.daddr) {
      if (m.daddr->negate || !single(m.daddr->range)) {
        f.why = "a DNAT of a destination network";
        return;
      }
      fw.destination = m.daddr->range.first;
    }
    fw.sources = from(f);
    forwards_.push_back(fw);
    f.used = true;
  }

  void redirect(Flat& f) {
    const Match& m = f.l.match;
    const ct::NatAction& n = f.l.action.nat;
    if (!m.l4proto || (*m.l4proto != kTcp && *m.l4proto != kUdp) || !m.dport || m.daddr || m.sport || m.oif ||
        (m.iif && m.iif->negate) || (m.saddr && m.saddr->negate) || (n.port_min && n.port_min != n.port_max)) {
      f.why = "a redirect with conditions natc's redirects have no key for";
      return;
    }
    if (m.saddr && !m.saddr->range.as_prefix()) {
      f.why = "a redirect from an address range that is not one network";
      return;
    }
    Redirect r;
    r.ingress = spec_iface(m.iif);
    r.protocols = {*m.l4proto};
    r.port = *m.dport;
    if (n.port_min && *n.port_min != m.dport->first) r.to_port = *n.port_min;
    if (m.saddr) r.from = {m.saddr->range};
    r.sources = from(f);
    redirects_.push_back(r);
    f.used = true;
  }

  // The gateway's own connections to a forward: natc's from_gateway.
  void output_dnat(Flat& f) {
    Forward probe;
    if (!dnat_fields(f, probe)) return;
    for (Forward& fw : forwards_)
      if (fw.to == probe.to && fw.port == probe.port && fw.protocols == probe.protocols &&
          fw.to_ports == probe.to_ports) {
        if (fw.bridge.empty()) fw.from_gateway = true;
        fw.sources.push_back(where(f.path.back(), in_.places));
        f.used = true;
        return;
      }
    f.why = "a DNAT of the gateway's own connections with no port forward like it";
  }

  // `-s LAN -d TARGET -p tcp --dport PORT -j MASQUERADE`: a hairpin.
  void hairpins() {
    for (Flat& f : flats_) {
      const Match& m = f.l.match;
      if (f.hook != ct::Hook::Postrouting || !f.why.empty() || f.l.action.kind != Action::Kind::Nat) continue;
      if (!m.daddr || m.daddr->negate || !single(m.daddr->range)) continue;
      for (Forward& fw : forwards_) {
        if (fw.to != m.daddr->range.first) continue;
        if (m.l4proto && !fw.protocols.count(*m.l4proto)) continue;
        PortRange target = fw.to_ports.value_or(fw.port);
        if (m.dport && !(m.dport->first <= target.first && target.last <= m.dport->last)) continue;
        if (fw.bridge.empty()) fw.hairpin = true;
        fw.sources.push_back(where(f.path.back(), in_.places));
        f.used = true;
      }
    }
  }

  // The connected networks of every interface but `egress`: the sources of
  // a masquerade that names none.
  std::vector<base::Prefix> connected(const std::string& egress, Family fam) const {
    std::vector<base::Prefix> out;
    if (!in_.interfaces) return out;
    for (const kernel::Interface& i : *in_.interfaces) {
      if (i.name == egress || i.name == "lo") continue;
      for (const auto& a : i.addresses) {
        if (a.addr.family != fam || a.prefix_len == 0) continue;
        base::Prefix p{a.addr, a.prefix_len};
        AddrRange r = base::to_range(p);
        // the network address: the address with its host bits cleared
        base::Prefix net{r.first, a.prefix_len};
        for (size_t b = 0; b < net.addr.size(); ++b) {
          int bits = std::clamp(int(a.prefix_len) - int(b) * 8, 0, 8);
          net.addr.bytes[b] = uint8_t(a.addr.bytes[b] & uint8_t(0xff << (8 - bits)));
        }
        if (std::find(out.begin(), out.end(), net) == out.end()) out.push_back(net);
      }
    }
    return out;
  }

  void subnets() {
    for (Flat& f : flats_) {
      if (f.hook != ct::Hook::Postrouting || f.used || !f.why.empty()) continue;
      if (is_nat(f, ct::NatAction::Kind::Masquerade) || is_nat(f, ct::NatAction::Kind::Snat)) outbound(f);
    }
  }

  void outbound(Flat& f) {
    const Match& m = f.l.match;
    const ct::NatAction& n = f.l.action.nat;
    auto no = [&](const std::string& why) { f.why = why; };
    if (!m.oif || m.oif->negate) return no("outbound NAT without one egress interface");
    if (m.iif || m.daddr || m.l4proto || m.sport || m.dport || m.ct_state || m.ct_status)
      return no("outbound NAT with conditions a subnet has no key for");
    std::string egress = spec_iface(m.oif);
    Family fam = m.family.value_or(Family::V4);
    std::vector<base::Prefix> cidrs;
    if (m.saddr) {
      auto p = m.saddr->range.as_prefix();
      if (m.saddr->negate || !p) return no("outbound NAT of a source that is not one network");
      cidrs = {*p};
    } else {
      cidrs = connected(m.oif->prefix ? "" : m.oif->name, fam);
      if (cidrs.empty()) return no("outbound NAT of every source, and no other interface's network to name");
    }
    Subnet s;
    s.egress = egress;
    s.sources = from(f);
    if (n.kind == ct::NatAction::Kind::Masquerade) {
      if (n.port_min || n.fully_random || n.persistent) return no("a masquerade with ports or flags");
    } else if (!n.addr_min) {
      return no("an SNAT without an address");
    } else if (*n.addr_min == *n.addr_max && !n.port_min && !n.persistent && !n.fully_random) {
      s.snat = Subnet::Snat::To, s.to = *n.addr_min;
    } else {
      s.snat = Subnet::Snat::Pool, s.pool = pool(f, n);
    }
    for (const base::Prefix& p : cidrs) {
      Subnet x = s;
      x.cidr = p;
      subnets_.push_back(x);
    }
    f.used = true;
  }

  std::string pool(const Flat& f, const ct::NatAction& n) {
    Pool p;
    p.addresses = {*n.addr_min, *n.addr_max};
    if (n.port_min) p.ports = PortRange{*n.port_min, *n.port_max};
    p.persistent = n.persistent, p.fully_random = n.fully_random;
    for (Pool& q : pools_)
      if (q.addresses == p.addresses && q.ports == p.ports && q.persistent == p.persistent &&
          q.fully_random == p.fully_random) {
        q.sources.push_back(where(f.path.back(), in_.places));
        return q.name;
      }
    p.name = unique("pool-" + base::to_string(p.addresses.first));
    p.sources = from(f);
    pools_.push_back(p);
    return p.name;
  }

  // natc's forward chain: what it accepts by itself, and forwarding.rules.
  void forwarding() {
    for (const ct::Chain* c : forward_chains_)
      if (c->policy_drop) policy_drop_ = true, policy_from_.push_back(c);
    for (Flat& f : flats_) {
      if (f.hook != ct::Hook::Forward || f.used || !f.why.empty()) continue;
      if (f.l.action.kind == Action::Kind::Accept)
        accept(f);
      else if (f.l.action.kind == Action::Kind::Drop && f.l.match.empty() && f.path.size() == 1 &&
               &f.base->rules.back() == f.path.back().rule)
        policy_drop_ = true, f.used = true;  // `-A FORWARD -j DROP` at the end: the policy
      else
        f.why = "natc's forward chain has no drop rules (forwarding.policy: drop drops what it does not accept)";
    }
  }

  bool docker_iface(const std::optional<Iface>& i) const {
    return i && std::any_of(bridges_.begin(), bridges_.end(), [&](const Bridge& b) { return b.name == i->name; });
  }

  // An accept of a forward's target folds into the forward only when it
  // takes DNAT'd flows alone (`-m conntrack --ctstate DNAT -d ...`): one
  // without that condition accepts flows routed to the target as well, so
  // it stays a forwarding rule.
  bool folds_into_forward(const Match& m) const {
    if (!m.ct_status || *m.ct_status != ct::kStatusDnat) return false;
    if (!m.daddr || m.daddr->negate || m.saddr || m.oif || m.ct_state) return false;
    return std::any_of(forwards_.begin(), forwards_.end(), [&](const Forward& fw) {
      PortRange target = fw.to_ports.value_or(fw.port);
      return m.daddr->range.contains(fw.to) && (!m.l4proto || fw.protocols.count(*m.l4proto)) &&
             (!m.dport || (m.dport->first <= target.first && target.last <= m.dport->last));
    });
  }

  bool folds_into_subnet(const Match& m) const {
    if (!m.oif || m.oif->negate || m.daddr || m.l4proto || m.dport || m.ct_state) return false;
    std::string egress = spec_iface(m.oif);
    return std::any_of(subnets_.begin(), subnets_.end(), [&](const Subnet& s) {
      return s.egress == egress && (!m.saddr || base::to_range(s.cidr) == m.saddr->range);
    });
  }

  void accept(Flat& f) {
    const Match& m = f.l.match;
    constexpr uint32_t kEstRel = ct::kCtEstablished | ct::kCtRelated;
    if (m.ct_state && !(*m.ct_state & ~kEstRel) && !m.iif && !m.saddr && !m.daddr && !m.dport && !m.l4proto) {
      f.used = true;  // natc accepts established and related flows first
    } else if (m.ct_status && *m.ct_status == ct::kStatusDnat && !m.iif && !m.oif && !m.saddr && !m.daddr &&
               !m.l4proto) {
      f.used = true;  // every forward's accept: forward_accept auto
    } else if (docker_iface(m.iif) || docker_iface(m.oif)) {
      f.used = true;  // Docker's own accepts: a bridge in the spec has them
    } else if (folds_into_forward(m) || folds_into_subnet(m)) {
      f.used = true;
    } else if (!m.iif && !m.oif && !m.ct_state && !m.ct_status && !m.sport && (m.saddr || m.daddr)) {
      rule(f);
    } else {
      f.why = "a forward accept natc's forwarding.rules cannot say (interfaces or connection state)";
    }
  }

  void rule(Flat& f) {
    const Match& m = f.l.match;
    auto network = [](const std::optional<Span>& s) { return !s || (!s->negate && s->range.as_prefix()); };
    if (!network(m.saddr) || !network(m.daddr) || (m.dport && !m.l4proto) ||
        (m.l4proto && *m.l4proto != kTcp && *m.l4proto != kUdp && m.dport)) {
      f.why = "a forward accept natc's forwarding.rules cannot say";
      return;
    }
    Family fam = m.family.value_or(m.saddr ? m.saddr->range.first.family : m.daddr->range.first.family);
    Rule r;
    if (m.saddr) r.from = {m.saddr->range};
    r.to = {m.daddr ? m.daddr->range : any(fam)};
    r.protocol = m.l4proto;
    r.port = m.dport;
    r.sources = from(f);
    std::string name = "accept-" + (m.daddr ? range_text(m.daddr->range) : std::string("any"));
    if (m.l4proto) name += "-" + proto_name(*m.l4proto);
    if (m.dport) name += "-" + ports_text(*m.dport);
    r.name = unique(entry_name(name));
    rules_.push_back(r);
    f.used = true;
  }

  std::string unplaced(const Flat& f) const {
    switch (f.hook) {
      case ct::Hook::Prerouting: return "a prerouting rule natc has no entry for";
      case ct::Hook::Postrouting: return "a postrouting rule natc has no entry for";
      case ct::Hook::Forward: return "a forward rule natc has no entry for";
      default: return "a rule natc has no entry for";
    }
  }

  void conntrack() {
    auto get = [&](const std::string& k) -> std::optional<std::string> {
      auto it = in_.sysctls.find(k);
      return it == in_.sysctls.end() ? std::nullopt : std::optional(it->second);
    };
    auto max = get("net.netfilter.nf_conntrack_max"), buckets = get("net.netfilter.nf_conntrack_buckets");
    if (max && buckets && *max != *buckets) conntrack_max_ = *max;  // the kernel's default is max = buckets
    for (std::string_view k : ir::timeout_keys()) {
      std::string key(k);
      auto v = get("net.netfilter." + ir::timeout_sysctl(k));
      auto d = default_timeouts().find(key);
      if (v && d != default_timeouts().end() && *v != d->second) timeouts_[key] = *v;
    }
  }

  std::string unique(const std::string& name) {
    std::string n = name;
    for (int i = 2; !names_.insert(n).second; ++i) n = name + "-" + std::to_string(i);
    return n;
  }

  void removal();
  void render();
  void merge_forwards();
  std::string alias(const std::string& kernel) const;
  void assign_aliases();
  void render_forwards(std::ostream& o);
  void render_subnets(std::ostream& o);
  void render_rest(std::ostream& o);

  const Input& in_;
  Imported out_;
  std::vector<Flat> flats_;
  std::vector<const ct::Chain*> forward_chains_, policy_from_;
  std::vector<Bridge> bridges_;
  std::vector<Forward> forwards_;
  std::vector<Redirect> redirects_;
  std::vector<Subnet> subnets_;
  std::vector<Pool> pools_;
  std::vector<Rule> rules_;
  bool policy_drop_ = false;
  std::optional<std::string> conntrack_max_;
  std::map<std::string, std::string> timeouts_;
  std::set<std::string> names_;
  std::map<std::string, std::string> aliases_;  // kernel name -> alias
};

void Importer::removal() {
  // A jump goes when everything reached through it was imported.
  std::map<const ct::Rule*, bool> jumps;
  std::vector<Src> rules;
  for (const Flat& f : flats_) {
    for (size_t i = 0; i + 1 < f.path.size(); ++i) {
      auto [it, fresh] = jumps.try_emplace(f.path[i].rule, true);
      it->second = it->second && f.used;
      if (fresh) rules.push_back(f.path[i]);
    }
    if (f.used) rules.push_back(f.path.back());
  }
  std::set<std::string> seen;
  bool file = in_.places.has_value();
  for (const Src& s : rules) {
    auto j = jumps.find(s.rule);
    if (j != jumps.end() && !j->second) continue;
    if (seen.insert(where(s)).second)
      out_.removal.push_back(file ? where(s, in_.places) : "nft delete rule " + where(s));
  }
  for (const ct::Chain* c : policy_from_) {
    std::string chain = base::one_line(std::string(ct::family_name(c->family)) + " " + c->table + " " + c->name);
    out_.removal.push_back(file ? "chain " + chain + ": policy accept"
                                : "nft chain " + chain + " '{ policy accept; }'");
  }
  if (!bridges_.empty())
    out_.notes.push_back(
        "Docker's chains: dockerd writes them again when it starts; set \"iptables\": false in "
        "/etc/docker/daemon.json and restart dockerd before removing them");
}

void Importer::merge_forwards() {
  auto same_but = [](const Forward& a, const Forward& b, bool protocols) {
    return a.ingress == b.ingress && a.port == b.port && a.to == b.to && a.to_ports == b.to_ports &&
           a.destination == b.destination && a.hairpin == b.hairpin && a.from_gateway == b.from_gateway &&
           a.bridge == b.bridge &&
           (protocols ? a.allow_from == b.allow_from
                      : a.protocols == b.protocols && !a.allow_from.empty() && !b.allow_from.empty());
  };
  for (bool protocols : {false, true}) {
    std::vector<Forward> out;
    for (Forward& fw : forwards_) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Forward& o) { return same_but(o, fw, protocols); });
      if (it == out.end()) {
        out.push_back(fw);
        continue;
      }
      if (protocols)
        it->protocols.insert(fw.protocols.begin(), fw.protocols.end());
      else
        it->allow_from.insert(it->allow_from.end(), fw.allow_from.begin(), fw.allow_from.end());
      it->sources.insert(it->sources.end(), fw.sources.begin(), fw.sources.end());
    }
    forwards_ = std::move(out);
  }
  for (Forward& fw : forwards_) {
    std::string proto = fw.protocols.size() == 1 ? proto_name(*fw.protocols.begin()) + "-" : "";
    fw.name = unique((fw.bridge.empty() ? "dnat-" : "") + proto + ports_text(fw.port));
  }
}

std::string Importer::alias(const std::string& kernel) const {
  auto it = aliases_.find(kernel);
  if (it != aliases_.end()) return it->second;
  return kernel.find('*') != std::string::npos ? "\"" + kernel + "\"" : kernel;  // "*", "ppp*": quoted
}

void Importer::assign_aliases() {
  std::vector<std::string> wan, lan;
  auto add = [](std::vector<std::string>& v, const std::string& n) {
    if (n.find('*') == std::string::npos && std::find(v.begin(), v.end(), n) == v.end()) v.push_back(n);
  };
  for (const Subnet& s : subnets_) add(wan, s.egress);
  for (const Forward& f : forwards_)
    if (f.bridge.empty()) add(wan, f.ingress);
  for (const Redirect& r : redirects_)
    if (std::find(wan.begin(), wan.end(), r.ingress) == wan.end()) add(lan, r.ingress);
  for (size_t i = 0; i < wan.size(); ++i) aliases_[wan[i]] = i ? "wan" + std::to_string(i + 1) : "wan";
  for (size_t i = 0; i < lan.size(); ++i) aliases_[lan[i]] = i ? "lan" + std::to_string(i + 1) : "lan";
}

std::string sources(const Entry& e, const std::string& indent) {
  std::string s = indent + "# from ";
  std::set<std::string> seen;  // a rule reached by two jumps (Docker's PREROUTING and OUTPUT) once
  for (const std::string& src : e.sources)
    if (seen.insert(src).second) s += (seen.size() > 1 ? ", " : "") + src;
  return s + "\n";
}

std::string target(const base::Addr& a, const std::optional<PortRange>& p) {
  std::string addr = base::to_string(a);
  if (!p) return addr;
  return (a.family == Family::V6 ? "[" + addr + "]" : addr) + ":" + ports_text(*p);
}

void Importer::render_forwards(std::ostream& o) {
  if (std::any_of(forwards_.begin(), forwards_.end(), [](const Forward& f) { return f.bridge.empty(); }))
    o << "\nport_forwards:\n";
  for (const Forward& f : forwards_) {
    if (!f.bridge.empty()) continue;
    o << sources(f, "  ") << "  - name: " << f.name << "\n    ingress: " << alias(f.ingress)
      << "\n    protocol: " << yaml_protocols(f.protocols) << "\n    port: " << quoted_ports(f.port) << "\n    to: \""
      << target(f.to, f.to_ports) << "\"\n";
    if (f.destination) o << "    destination: " << base::to_string(*f.destination) << "\n";
    if (!f.allow_from.empty()) o << "    allow_from: " << yaml_list(f.allow_from) << "\n";
    if (f.hairpin) o << "    hairpin: true\n";
    if (f.from_gateway && !f.hairpin) o << "    from_gateway: true\n";
  }
  if (!redirects_.empty()) o << "\nredirects:\n";
  for (const Redirect& r : redirects_) {
    o << sources(r, "  ") << "  - name: " << r.name << "\n    ingress: " << alias(r.ingress)
      << "\n    protocol: " << yaml_protocols(r.protocols) << "\n    port: " << quoted_ports(r.port) << "\n";
    if (r.to_port) o << "    to_port: " << *r.to_port << "\n";
    if (!r.from.empty()) o << "    from: " << yaml_list(r.from) << "\n";
  }
}

void Importer::render_subnets(std::ostream& o) {
  if (!subnets_.empty()) o << "\nsubnets:\n";
  for (const Subnet& s : subnets_) {
    o << sources(s, "  ") << "  - name: " << s.name << "\n    cidr: " << base::to_string(s.cidr)
      << "\n    egress: " << alias(s.egress) << "\n    snat: ";
    if (s.snat == Subnet::Snat::Masquerade) o << "masquerade\n";
    if (s.snat == Subnet::Snat::To) o << "{to: " << base::to_string(s.to) << "}\n";
    if (s.snat == Subnet::Snat::Pool) o << "{pool: " << s.pool << "}\n";
  }
  if (!pools_.empty()) o << "\nsnat_pools:\n";
  for (const Pool& p : pools_) {
    o << sources(p, "  ") << "  - name: " << p.name << "\n    addresses: " << range_text(p.addresses) << "\n";
    if (p.ports) o << "    ports: \"" << ports_text(*p.ports) << "\"\n";
    if (p.persistent) o << "    persistent: true\n";
    if (p.fully_random) o << "    fully_random: true\n";
  }
}

void Importer::render_rest(std::ostream& o) {
  if (!bridges_.empty()) o << "\ndocker:\n  bridges:\n";
  for (const Bridge& b : bridges_) {
    o << sources(b, "    ") << "    - name: " << b.name << "\n      cidr: " << base::to_string(b.cidr) << "\n";
    bool any = false;
    for (const Forward& f : forwards_) {
      if (f.bridge != b.name) continue;
      if (!any) o << "      publish:\n", any = true;
      o << sources(f, "        ") << "        - name: " << f.name
        << "\n          protocol: " << yaml_protocols(f.protocols) << "\n          port: " << quoted_ports(f.port)
        << "\n          to: \"" << target(f.to, f.to_ports) << "\"\n";
    }
  }
  if (!conntrack_max_ && timeouts_.empty()) return;
  o << "\nconntrack:\n";
  if (conntrack_max_) o << "  max: " << *conntrack_max_ << "\n";
  if (!timeouts_.empty()) o << "  timeouts:\n";
  for (const auto& [k, v] : timeouts_) o << "    " << k << ": " << v << "\n";
}

void Importer::render() {
  for (Subnet& s : subnets_) {
    s.name = unique(entry_name("net-" + base::to_string(s.cidr)));
  }
  for (Redirect& r : redirects_)
    r.name = unique("redirect-" + (r.protocols.size() == 1 ? proto_name(*r.protocols.begin()) + "-" : "") +
                    ports_text(r.port));
  merge_forwards();
  assign_aliases();
  std::ostringstream o;
  bool file = in_.places.has_value();
  o << "# A natc spec written by `natc import` from " << in_.origin << ".\n"
    << (file ? "# Each entry names the line it came from. Check it with `natc plan`; after\n"
               "# the first `natc apply`, take those lines out of the file.\n"
             : "# Each entry names the rules it came from. Check it with `natc plan`; after\n"
               "# the first `natc apply`, remove those rules from their old tables.\n");
  if (!out_.left_out.empty()) {
    o << "#\n# Left out (natc cannot express these; they stay " << (file ? "in the file" : "in their tables") << "):\n";
    for (const std::string& l : out_.left_out) o << "#   " << l << "\n";
  }
  o << "version: 1\n";
  if (!aliases_.empty()) {
    o << "\ninterfaces:\n";
    std::vector<std::pair<std::string, std::string>> byalias;
    for (const auto& [k, a] : aliases_) byalias.emplace_back(a, k);
    std::sort(byalias.begin(), byalias.end());
    for (const auto& [a, k] : byalias) o << "  " << a << ": " << k << "\n";
  }
  if (policy_drop_ || !rules_.empty()) {
    o << "\nforwarding:\n";
    if (policy_drop_) o << "  policy: drop\n";
    if (!rules_.empty()) o << "  rules:\n";
    for (const Rule& r : rules_) {
      o << sources(r, "    ") << "    - name: " << r.name << "\n";
      if (r.protocol) o << "      protocol: " << proto_name(*r.protocol) << "\n";
      o << "      to: " << yaml_list(r.to) << "\n";
      if (r.port) o << "      port: " << quoted_ports(*r.port) << "\n";
      if (!r.from.empty()) o << "      from: " << yaml_list(r.from) << "\n";
    }
  }
  render_subnets(o);
  render_forwards(o);
  render_rest(o);
  out_.spec = o.str();
}

}  // namespace

Imported import_ruleset(const Input& in) { return Importer(in).run(); }

std::vector<std::string> sysctl_keys() {
  std::vector<std::string> keys = {"net.ipv4.ip_forward", "net.netfilter.nf_conntrack_max",
                                   "net.netfilter.nf_conntrack_buckets"};
  for (std::string_view k : ir::timeout_keys()) keys.push_back("net.netfilter." + ir::timeout_sysctl(k));
  return keys;
}

}  // namespace natc::imports
