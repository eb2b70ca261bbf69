#include "explain/explain.h"

#include <algorithm>

#include "base/proto.h"

namespace natc::explain {
namespace {

namespace ct = cotenancy;
using ct::Decision;
using ct::Hook;

constexpr uint8_t kTcpSyn = 0x02, kTcpSynAck = 0x12;
constexpr uint8_t kTcp = 6, kUdp = 17;

// The base chains at `h` that see family `f`, in the order the kernel runs them.
std::vector<const ct::Chain*> at_hook(const ct::Ruleset& rs, Hook h, base::Family f) {
  std::vector<const ct::Chain*> out;
  for (const ct::Chain& c : rs.chains)
    if (c.hook == h && c.serves(f)) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->priority < b->priority; });
  return out;
}

class Walker {
 public:
  Walker(const World& w, const Packet& p) : w_(w) {
    e_.packet = p;
    e_.out = p.tuple;
    const Tuple& t = p.tuple;
    probe_.family = t.saddr.family;
    probe_.iif = ct::IfName::exact(p.iif);
    probe_.oif = ct::IfName::none();
    probe_.saddr = t.saddr, probe_.daddr = t.daddr;
    probe_.saddr_local = false;
    probe_.daddr_local = w_.local(t.daddr);
    probe_.l4proto = t.proto;
    probe_.sport = t.sport, probe_.dport = t.dport;
    if (t.proto == kTcp) probe_.tcp_flags = kTcpSyn;
    probe_.ct_state = ct::kCtNew;
    probe_.ct_status = 0;
    probe_.ct_direction = 0;
  }

  Explanation run() {
    if (!hook(Hook::Prerouting, "prerouting", true)) return std::move(e_);
    if (!route()) return std::move(e_);
    if (local_) {
      if (hook(Hook::Input, "input", true)) e_.verdict = Explanation::Verdict::Delivered;
      return std::move(e_);
    }
    if (!hook(Hook::Forward, "forward", false)) return std::move(e_);
    if (!hook(Hook::Postrouting, "postrouting", true)) return std::move(e_);
    e_.verdict = Explanation::Verdict::Forwarded;
    reply();
    return std::move(e_);
  }

 private:
  // Every chain at the hook; false when the packet goes no further (or
  // natc cannot tell whether it does).
  bool hook(Hook h, const std::string& name, bool nat) {
    bool translated = false;
    for (const ct::Chain* c : at_hook(w_.rules, h, probe_.family)) {
      if (c->type == ct::ChainType::Nat && (!nat || translated)) continue;
      ct::Outcome o = ct::evaluate(w_.rules, *c, probe_, budget_);
      Step s{name, o.decision, action_text(o.decision), o.maybes, {}, {}};
      bool stop = false;
      if (o.decision.kind == Decision::Kind::Drop) e_.verdict = Explanation::Verdict::Dropped, stop = true;
      if (o.decision.kind == Decision::Kind::Unknown) e_.verdict = Explanation::Verdict::Maybe, stop = true;
      if (o.decision.kind == Decision::Kind::Nat) {
        translated = true;
        translate(o.decision.nat, s);
      }
      e_.steps.push_back(std::move(s));
      if (stop) return false;
    }
    return true;
  }

  // A port translated into [lo, hi]: kept when it is in the range (the
  // kernel keeps a port it can), else one of the range natc cannot name.
  std::optional<uint16_t> port_into(std::optional<uint16_t> port, const ct::NatAction& n, Step& s) {
    if (!port || !n.port_min) return port;
    uint16_t lo = *n.port_min, hi = n.port_max.value_or(lo);
    if (lo == hi) return lo;
    if (*port >= lo && *port <= hi && !n.offset) return port;
    s.note = "a port of " + std::to_string(lo) + "-" + std::to_string(hi);
    e_.translated_known = false;
    return std::nullopt;
  }

  void translate(const ct::NatAction& n, Step& s) {
    using K = ct::NatAction::Kind;
    Tuple& t = e_.out;
    std::optional<base::Addr> to = n.addr_min;
    if (n.kind == K::Masquerade) to = oif_.empty() ? std::nullopt : w_.address_of(oif_, t.saddr.family);
    if (n.kind == K::Redirect) to = w_.address_of(e_.packet.iif, t.daddr.family);
    if (n.addr_min && n.addr_max && *n.addr_max != *n.addr_min) {
      s.note = "an address of " + base::to_string(*n.addr_min) + "-" + base::to_string(*n.addr_max);
      to.reset();
    }
    if (!to && s.note.empty()) s.note = "an address natc cannot tell";
    if (!to) e_.translated_known = false;
    bool dst = n.kind == K::Dnat || n.kind == K::Redirect;
    if (dst) {
      if (to) t.daddr = *to;
      t.dport = port_into(t.dport, n, s);
      probe_.daddr = to, probe_.dport = t.dport;
      probe_.daddr_local = n.kind == K::Redirect ? std::optional(true) : to ? w_.local(*to) : std::nullopt;
      probe_.ct_status = *probe_.ct_status | ct::kStatusDnat;
      dnat_ = true;
    } else {
      if (to) t.saddr = *to;
      t.sport = port_into(t.sport, n, s);
      probe_.saddr = to, probe_.sport = t.sport;
      snat_ = true;
    }
    s.tuple = t;
  }

  bool route() {
    Step s{"route", std::nullopt, "", {}, "", std::nullopt};
    std::optional<bool> local = probe_.daddr ? w_.local(*probe_.daddr) : std::nullopt;
    if (local && *local) {
      local_ = true;
      s.action = "to this host";
    } else if (auto oif = probe_.daddr ? w_.route(*probe_.daddr) : std::nullopt) {
      oif_ = *oif;
      probe_.oif = ct::IfName::exact(oif_);
      s.action = "out " + oif_;
      e_.oif = oif_;
    } else if (w_.routes_known && probe_.daddr) {
      s.action = "no route";
      e_.verdict = Explanation::Verdict::Dropped;
      e_.steps.push_back(std::move(s));
      return false;
    } else {
      probe_.oif = ct::IfName{};
      s.action = "forwarded";
      s.note = local ? "no route natc knows (give --out IF, or explain on the machine with --state live)"
                     : "whether the address is this host's, and the route, are unknown";
    }
    e_.steps.push_back(std::move(s));
    return true;
  }

  // The reply, back through prerouting's filters and forward: established,
  // its translations undone by conntrack.
  void reply() {
    ct::Probe r;
    r.family = probe_.family;
    r.iif = oif_.empty() ? ct::IfName{} : ct::IfName::exact(oif_);
    r.oif = ct::IfName::exact(e_.packet.iif);
    r.saddr = e_.translated_known ? std::optional(e_.out.daddr) : std::nullopt;
    r.sport = e_.out.dport;
    r.daddr = e_.packet.tuple.saddr, r.dport = e_.packet.tuple.sport;
    r.saddr_local = false, r.daddr_local = w_.local(e_.packet.tuple.saddr);
    r.l4proto = e_.packet.tuple.proto;
    if (r.l4proto == kTcp) r.tcp_flags = kTcpSynAck;
    r.ct_state = ct::kCtEstablished;
    r.ct_status =
        ct::kStatusSeenReply | ct::kStatusConfirmed | (dnat_ ? ct::kStatusDnat : 0) | (snat_ ? ct::kStatusSnat : 0);
    r.ct_direction = 1;
    probe_ = r;
    e_.reply = Explanation::Verdict::Forwarded;
    for (auto [h, name] :
         {std::pair{Hook::Prerouting, "reply prerouting"}, std::pair{Hook::Forward, "reply forward"}}) {
      Explanation::Verdict before = e_.verdict;
      bool on = hook(h, name, false);
      if (!on) {
        e_.reply = e_.verdict;
        e_.verdict = before;
        return;
      }
    }
  }

  const World& w_;
  Explanation e_;
  ct::Probe probe_;
  ct::Budget budget_{20000};  // rules run in the whole walk, every hook's chains together
  bool local_ = false, dnat_ = false, snat_ = false;
  std::string oif_;
};

}  // namespace

std::string to_string(const Tuple& t) {
  auto end = [&](const base::Addr& a, std::optional<uint16_t> p) {
    std::string s = base::to_string(a);
    if (!p) return s;
    return (a.family == base::Family::V6 ? "[" + s + "]" : s) + ":" + std::to_string(*p);
  };
  std::string proto = t.proto == kTcp ? "tcp" : t.proto == kUdp ? "udp" : t.proto == 1 ? "icmp" : "icmpv6";
  return proto + " " + end(t.saddr, t.sport) + " -> " + end(t.daddr, t.dport);
}

std::string action_text(const cotenancy::Decision& d) {
  switch (d.kind) {
    case cotenancy::Decision::Kind::Pass: return "accept";
    case cotenancy::Decision::Kind::Drop: return "drop";
    case cotenancy::Decision::Kind::Nat: return ct::describe(d.nat);
    case cotenancy::Decision::Kind::Unknown: return "maybe: " + d.what;
  }
  return "?";
}

std::string_view verdict_name(Explanation::Verdict v) {
  switch (v) {
    case Explanation::Verdict::Forwarded: return "forwarded";
    case Explanation::Verdict::Delivered: return "delivered";
    case Explanation::Verdict::Dropped: return "dropped";
    case Explanation::Verdict::Maybe: return "maybe";
  }
  return "maybe";
}

bool Explanation::maybe() const {
  return verdict == Verdict::Maybe || (reply && *reply == Verdict::Maybe) ||
         std::any_of(steps.begin(), steps.end(), [](const Step& s) { return !s.maybes.empty(); });
}

Explanation run(const World& w, const Packet& p) { return Walker(w, p).run(); }

}  // namespace natc::explain
