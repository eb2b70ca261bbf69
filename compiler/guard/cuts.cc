// Each session's packets through the next ruleset, the way the kernel would
// take them: its established packets (does it keep working?) and a new
// connection like it (can the operator get back in?).
#include <algorithm>

#include "cotenancy/eval.h"
#include "guard/guard.h"

namespace natc::guard {
namespace {

using cotenancy::Decision;
using cotenancy::Probe;
using Kind = Decision::Kind;

std::string endpoint(const base::Addr& a, uint16_t port) {
  return (a.family == base::Family::V6 ? "[" + base::to_string(a) + "]" : base::to_string(a)) + ":" +
         std::to_string(port);
}

// The base chains on `hook` for `f`, in the order the kernel runs them.
std::vector<const cotenancy::Chain*> chains(const cotenancy::Ruleset& rs, cotenancy::Hook hook, base::Family f) {
  std::vector<const cotenancy::Chain*> out;
  for (const auto& c : rs.chains)
    if (c.hook == hook && c.serves(f)) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->priority < b->priority; });
  return out;
}

// What a hook does to a packet: the first drop or (prerouting) the first
// translation; "maybe" when a chain's answer depends on what natc cannot read.
struct HookResult {
  std::optional<Decision> decided;  // Drop or Nat
  std::string maybe;                // a drop that might happen, and why
  bool maybe_nat = false;           // a translation that might happen
};

HookResult run_hook(const cotenancy::Ruleset& rs, cotenancy::Hook hook, const Probe& p) {
  HookResult out;
  for (const cotenancy::Chain* c : chains(rs, hook, p.family)) {
    cotenancy::Outcome o = cotenancy::evaluate(rs, *c, p);
    if (o.decision.kind == Kind::Drop || o.decision.kind == Kind::Nat) {
      out.decided = o.decision;
      return out;
    }
    if (o.decision.kind == Kind::Unknown && out.maybe.empty())
      out.maybe = cotenancy::describe(o.decision) + " (" + o.decision.what + ")";
    for (const auto& m : o.maybes) {
      if (m.decision.kind == Kind::Drop && out.maybe.empty())
        out.maybe = cotenancy::describe(m.decision) + ", depending on " + m.unknown;
      out.maybe_nat |= m.decision.kind == Kind::Nat;
    }
  }
  return out;
}

class Guard {
 public:
  Guard(const Facts& f, const plan::Plan& p) : f_(f), p_(p) {}

  std::vector<std::string> run(const Session& s) {
    out_.clear();
    resets(s);
    // Where the session's packets go now: conntrack's answer.
    base::Addr now = s.flow ? s.flow->reply.src : s.server;
    uint16_t now_port = s.flow ? s.flow->reply.sport : s.server_port;
    bool translated = now != s.server || now_port != s.server_port;
    if (!local(now)) established(s, now, now_port, translated);
    reconnect(s, now, now_port);
    return out_;
  }

 private:
  // Whether an address is the gateway's own: unknown without a route.
  std::optional<bool> is_local(const base::Addr& a) const {
    auto it = f_.routes.find(a);
    if (it == f_.routes.end()) return std::nullopt;
    return it->second.local;
  }
  bool local(const base::Addr& a) const { return is_local(a).value_or(false); }
  cotenancy::IfName oif_to(const base::Addr& a) const {
    auto it = f_.routes.find(a);
    return it == f_.routes.end() || it->second.oif.empty() ? cotenancy::IfName{}
                                                           : cotenancy::IfName::exact(it->second.oif);
  }

  Probe probe(const Session& s, const base::Addr& dst, uint16_t dport, uint32_t state, bool dnat) const {
    Probe p;
    p.family = s.client.family;
    p.iif = oif_to(s.client);  // packets from the client arrive where its route leaves
    p.oif = local(dst) ? cotenancy::IfName::none() : oif_to(dst);
    p.saddr = s.client, p.daddr = dst;
    p.saddr_local = is_local(s.client), p.daddr_local = is_local(dst);
    p.l4proto = s.proto, p.sport = s.client_port, p.dport = dport;
    p.ct_state = state;
    p.ct_status = dnat ? cotenancy::kStatusDnat | cotenancy::kStatusSeenReply : 0;
    p.ct_direction = 0;
    return p;
  }

  void resets(const Session& s) {
    if (!s.flow) return;
    for (const auto& t : p_.resets)
      if (conntrack::matches(t, *s.flow)) {
        out_.push_back("this change would cut " + s.describe() + ": port forward '" + t.entry +
                       "' moves, and its flows are reset (--keep-flows keeps them)");
        return;
      }
  }

  void established(const Session& s, const base::Addr& dst, uint16_t dport, bool dnat) {
    HookResult r = run_hook(f_.next, cotenancy::Hook::Forward, probe(s, dst, dport, cotenancy::kCtEstablished, dnat));
    if (r.decided && r.decided->kind == Kind::Drop)
      out_.push_back("this change would cut " + s.describe() + ": " + cotenancy::describe(*r.decided) + " drops it");
    else if (!r.maybe.empty())
      out_.push_back("this change may cut " + s.describe() + ": " + r.maybe);
  }

  // A new connection like the session: where prerouting sends it, and
  // whether forward lets it through.
  void reconnect(const Session& s, const base::Addr& now, uint16_t now_port) {
    Probe syn = probe(s, s.server, s.server_port, cotenancy::kCtNew, false);
    HookResult pre = run_hook(f_.next, cotenancy::Hook::Prerouting, syn);
    if (!pre.decided && pre.maybe_nat) return;  // where it would go depends on what natc cannot tell
    base::Addr to = s.server;
    uint16_t to_port = s.server_port;
    bool dnat =
        pre.decided && pre.decided->kind == Kind::Nat && pre.decided->nat.kind == cotenancy::NatAction::Kind::Dnat;
    if (pre.decided && pre.decided->kind == Kind::Drop)
      return drop(s, "new connections like it would be dropped by " + cotenancy::describe(*pre.decided));
    if (dnat && pre.decided->nat.addr_min) to = *pre.decided->nat.addr_min;
    if (dnat && pre.decided->nat.port_min) to_port = *pre.decided->nat.port_min;
    if (to != now || to_port != now_port) {
      std::string there = local(now) ? "this gateway" : endpoint(now, now_port);
      return drop(s, "new connections like it would go to " + endpoint(to, to_port) + " instead of " + there);
    }
    if (local(to)) return;
    HookResult fwd = run_hook(f_.next, cotenancy::Hook::Forward, probe(s, to, to_port, cotenancy::kCtNew, dnat));
    if (fwd.decided && fwd.decided->kind == Kind::Drop)
      drop(s, "new connections like it would be dropped by " + cotenancy::describe(*fwd.decided));
    else if (!fwd.maybe.empty())
      out_.push_back("this change may cut " + s.describe() + ": new connections like it may be dropped by " +
                     fwd.maybe);
  }

  void drop(const Session& s, const std::string& why) {
    out_.push_back("this change would cut " + s.describe() + ": " + why);
  }

  const Facts& f_;
  const plan::Plan& p_;
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> cuts(const std::vector<Session>& sessions, const Facts& f, const plan::Plan& p) {
  std::vector<std::string> out;
  Guard g(f, p);
  for (const Session& s : sessions)
    for (auto& line : g.run(s)) out.push_back(std::move(line));
  return out;
}

}  // namespace natc::guard
