#include "cotenancy/eval.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "base/overload.h"

namespace natc::cotenancy {
namespace {

constexpr int kMaxDepth = 16;  // the kernel's jump stack
constexpr uint8_t kNfprotoIpv4 = 2, kNfprotoIpv6 = 10;

enum class Tri : uint8_t { False, True, Unknown };
Tri both(Tri a, Tri b) {
  if (a == Tri::False || b == Tri::False) return Tri::False;
  return a == Tri::Unknown || b == Tri::Unknown ? Tri::Unknown : Tri::True;
}
Tri negate(Tri t) { return t == Tri::Unknown ? t : t == Tri::True ? Tri::False : Tri::True; }

// Bytes, each either known or not.
struct Value {
  Bytes bytes;
  std::vector<bool> known;
  static Value unknown(size_t n) { return {Bytes(n, 0), std::vector<bool>(n, false)}; }
  static Value of(const Bytes& b) { return {b, std::vector<bool>(b.size(), true)}; }
  bool all_known() const {
    return std::all_of(known.begin(), known.end(), [](bool k) { return k; });
  }
};

Value addr_value(const std::optional<base::Addr>& a, size_t n) {
  if (!a) return Value::unknown(n);
  return Value::of(Bytes(a->bytes.begin(), a->bytes.begin() + long(n)));
}
template <class T>
Value host_value(const std::optional<T>& v) {
  if (!v) return Value::unknown(sizeof(T));
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &*v, sizeof(T));
  return Value::of(b);
}
Value port_value(const std::optional<uint16_t>& p) {
  if (!p) return Value::unknown(2);
  return Value::of({uint8_t(*p >> 8), uint8_t(*p & 0xff)});
}
constexpr size_t kIfNameSize = 16;
Value ifname_value(const IfName& n) {
  Value v = Value::unknown(kIfNameSize);
  if (n.kind == IfName::Kind::Unknown) return v;
  for (size_t i = 0; i < kIfNameSize; ++i) {
    if (i < n.name.size())
      v.bytes[i] = uint8_t(n.name[i]), v.known[i] = true;
    else
      v.known[i] = n.kind == IfName::Kind::Exact;
  }
  return v;
}

void put(Value& dst, size_t at, const Value& src) {
  for (size_t i = 0; i < src.bytes.size() && at + i < dst.bytes.size(); ++i)
    dst.bytes[at + i] = src.bytes[i], dst.known[at + i] = src.known[i];
}

// The headers as far as natc knows them; the rest unknown.
Value network_header(const Probe& p) {
  if (p.family == base::Family::V4) {
    Value h = Value::unknown(20);
    put(h, 0, Value::of({0x45}));
    if (p.l4proto) put(h, 9, Value::of({*p.l4proto}));
    put(h, 12, addr_value(p.saddr, 4));
    put(h, 16, addr_value(p.daddr, 4));
    return h;
  }
  Value h = Value::unknown(40);
  if (p.l4proto) put(h, 6, Value::of({*p.l4proto}));
  put(h, 8, addr_value(p.saddr, 16));
  put(h, 24, addr_value(p.daddr, 16));
  return h;
}
Value transport_header(const Probe& p) {
  Value h = Value::unknown(20);
  put(h, 0, port_value(p.sport));
  put(h, 2, port_value(p.dport));
  if (p.tcp_flags) put(h, 13, Value::of({*p.tcp_flags}));
  return h;
}

constexpr size_t kRegisterBytes = 80;  // the verdict and four 16-byte registers

class Registers {
 public:
  Registers() : v_(Value::unknown(kSize)) {}
  // Loads zero the rest of the last 32-bit word, as the kernel does.
  void load(Reg at, Value v) {
    if (at == kAllRegisters) {
      v_ = Value::unknown(kSize);
      return;
    }
    while (v.bytes.size() % 4) v.bytes.push_back(0), v.known.push_back(true);
    put(v_, at, v);
  }
  Value read(Reg at, size_t n) const {
    Value out = Value::unknown(n);
    for (size_t i = 0; i < n && at + i < kSize; ++i) out.bytes[i] = v_.bytes[at + i], out.known[i] = v_.known[at + i];
    return out;
  }

 private:
  static constexpr size_t kSize = kRegisterBytes;
  Value v_;
};

// memcmp on what is known: a known differing byte before any unknown one
// decides. Bytes past the value's end (a range whose ends differ in length)
// are unknown.
std::optional<int> compare(const Value& a, const Bytes& b) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (i >= a.known.size() || !a.known[i]) return std::nullopt;
    if (a.bytes[i] != b[i]) return a.bytes[i] < b[i] ? -1 : 1;
  }
  return 0;
}
Tri equal(const Value& a, const Bytes& b) {
  bool unknown = false;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i >= a.known.size() || !a.known[i])
      unknown = true;
    else if (a.bytes[i] != b[i])
      return Tri::False;
  }
  return unknown ? Tri::Unknown : Tri::True;
}
Tri cmp(const Value& a, CmpOp op, const Bytes& b) {
  if (op == CmpOp::Eq) return equal(a, b);
  if (op == CmpOp::Neq) return negate(equal(a, b));
  auto c = compare(a, b);
  if (!c) return Tri::Unknown;
  bool r = op == CmpOp::Lt ? *c < 0 : op == CmpOp::Lte ? *c <= 0 : op == CmpOp::Gt ? *c > 0 : *c >= 0;
  return r ? Tri::True : Tri::False;
}

// Which element of a set holds `key`: a known answer, or unknown.
struct Found {
  Tri member = Tri::False;
  const Element* element = nullptr;
};
// A range element of a concatenation holds a key when each field lies in
// its own range (the kernel's pipapo sets), not the key as one number.
bool within(const Set& s, const Element& e, const Bytes& key) {
  if (s.fields.size() < 2) return e.key <= key && key <= e.key_end;
  size_t at = 0;
  for (uint8_t len : s.fields) {
    size_t n = len, end = at + n;
    if (end > key.size() || end > e.key.size() || end > e.key_end.size()) return false;
    auto lo = std::lexicographical_compare(key.begin() + long(at), key.begin() + long(end), e.key.begin() + long(at),
                                           e.key.begin() + long(end));
    auto hi = std::lexicographical_compare(e.key_end.begin() + long(at), e.key_end.begin() + long(end),
                                           key.begin() + long(at), key.begin() + long(end));
    if (lo || hi) return false;
    at += (n + 3) / 4 * 4;
  }
  return true;
}

Found find(const Set& s, const Value& key) {
  if (s.elements.empty()) return {};
  size_t n = s.elements.front().key.size();
  Value k = key;
  k.bytes.resize(n), k.known.resize(n, true);
  if (!k.all_known()) {
    bool any = std::any_of(s.elements.begin(), s.elements.end(), [&](const Element& e) {
      return !e.interval_end && (s.interval || equal(k, e.key) != Tri::False);
    });
    return {any ? Tri::Unknown : Tri::False, nullptr};
  }
  for (const Element& e : s.elements)
    if (!e.key_end.empty() ? within(s, e, k.bytes) : !s.interval && e.key == k.bytes) return {Tri::True, &e};
  if (!s.interval) return {};
  // rbtree intervals: the greatest boundary at or below the key decides.
  const Element* best = nullptr;
  for (const Element& e : s.elements)
    if (e.key_end.empty() && e.key <= k.bytes && (!best || best->key < e.key || (best->key == e.key && e.interval_end)))
      best = &e;
  if (best && !best->interval_end) return {Tri::True, best};
  return {};
}

Tri addrtype(std::optional<bool> local, uint16_t mask, bool invert) {
  if (!mask) return Tri::True;
  if (!local) return Tri::Unknown;
  uint16_t type = uint16_t(1u << (*local ? kRtnLocal : kRtnUnicast));
  return (type & mask) != 0 ? (invert ? Tri::False : Tri::True) : (invert ? Tri::True : Tri::False);
}

// One rule's run: whether it matched and what it decided.
struct RuleRun {
  Tri matched = Tri::True;
  std::string unknown;  // what made it undecidable
  Verdict verdict = Verdict::Continue;
  std::string chain;                 // Jump/Goto
  std::optional<Decision> decision;  // Nat, Drop (reject), Unknown
  std::string entry;                 // the comment of the last element a lookup found
};

class Evaluator {
 public:
  Evaluator(const Ruleset& rs, const Probe& p, Budget& budget) : rs_(rs), p_(p), budget_(budget) {}

  Outcome base(const Chain& c) {
    Outcome out;
    if (auto d = chain(c, 0, out.maybes)) {
      out.decision = *d;
    } else {
      out.decision.kind = c.policy_drop ? Decision::Kind::Drop : Decision::Kind::Pass;
      out.decision.chain = &c;
    }
    return out;
  }

 private:
  // nullopt: the chain returned (or ran off its end) without deciding.
  std::optional<Decision> chain(const Chain& c, int depth, std::vector<Maybe>& maybes) {
    if (depth > kMaxDepth)
      return Decision{Decision::Kind::Unknown, &c, nullptr, {}, "a jump deeper than the kernel allows"};
    for (const Rule& r : c.rules) {
      if (budget_.runs == 0)
        return Decision{Decision::Kind::Unknown, &c, &r, {}, "more rules than natc runs for one packet"};
      --budget_.runs;
      RuleRun run = rule(c, r);
      if (run.matched == Tri::False) continue;
      // A jump that might happen: what the chain decides, and what it
      // might decide, are all maybes.
      std::optional<Decision> d = act(c, r, run, depth, maybes);
      if (run.matched == Tri::Unknown) {
        if (d) maybes.push_back({*d, run.unknown});
        continue;
      }
      if (run.verdict == Verdict::Return) return std::nullopt;
      if (run.verdict == Verdict::Goto) return d;  // a goto's return leaves this chain too
      if (d) return d;
    }
    return std::nullopt;
  }

  std::optional<Decision> act(const Chain& c, const Rule& r, const RuleRun& run, int depth,
                              std::vector<Maybe>& maybes) {
    if (run.decision) return run.decision;
    auto here = [&](Decision::Kind k) { return Decision{k, &c, &r, {}, {}, run.entry}; };
    switch (run.verdict) {
      case Verdict::Accept: return here(Decision::Kind::Pass);
      case Verdict::Drop: return here(Decision::Kind::Drop);
      case Verdict::Jump:
      case Verdict::Goto: {
        const Chain* to = rs_.chain(c.family, c.table, run.chain);
        if (!to) return Decision{Decision::Kind::Unknown, &c, &r, {}, "a jump to a chain natc did not read"};
        return chain(*to, depth + 1, maybes);
      }
      case Verdict::Other: return Decision{Decision::Kind::Unknown, &c, &r, {}, "a verdict natc does not model"};
      case Verdict::Return:
      case Verdict::Continue: return std::nullopt;
    }
    return std::nullopt;
  }

  RuleRun rule(const Chain& c, const Rule& r) {
    RuleRun run;
    Registers regs;
    std::map<Reg, std::string> names;  // what each register was loaded from, for messages
    auto cond = [&](Tri t, const std::string& what) {
      if (t == Tri::Unknown && run.unknown.empty()) run.unknown = what;
      run.matched = both(run.matched, t);
    };
    auto decide = [&](Decision::Kind k, std::string what = {}) {
      run.decision = Decision{k, &c, &r, {}, std::move(what), run.entry.empty() ? r.comment : run.entry};
    };
    for (const Expr& e : r.exprs) {
      std::visit(
          base::Overload{
              [&](const Meta& m) { regs.load(m.dreg, meta(m.key)), names[m.dreg] = meta_name(m.key); },
              [&](const Payload& pl) { regs.load(pl.dreg, payload(pl)), names[pl.dreg] = payload_name(pl); },
              [&](const Cmp& x) { cond(cmp(regs.read(x.sreg, x.data.size()), x.op, x.data), names[x.sreg]); },
              [&](const Bitwise& b) { regs.load(b.dreg, bitwise(regs.read(b.sreg, b.mask.size()), b)); },
              [&](const Range& x) {
                Value v = regs.read(x.sreg, x.from.size());
                Tri in = both(cmp(v, CmpOp::Gte, x.from), cmp(v, CmpOp::Lte, x.to));
                cond(x.negate ? negate(in) : in, names[x.sreg]);
              },
              [&](const Lookup& l) { lookup(l, c, regs, run, cond, names[l.sreg]); },
              [&](const Immediate& i) {
                if (i.dreg)
                  regs.load(*i.dreg, Value::of(i.data));
                else
                  run.verdict = i.verdict, run.chain = i.chain;
              },
              [&](const Ct& x) { regs.load(x.dreg, ct(x.key)), names[x.dreg] = "the connection's state"; },
              [&](const FibAddrType& f) {
                regs.load(f.dreg, fib(f));
                names[f.dreg] = "whether the address is one of this host's";
              },
              [&](const Nat& n) {
                decide(Decision::Kind::Nat);
                run.decision->nat = resolve(n.action, regs);
              },
              [&](const Reject&) { decide(Decision::Kind::Drop); },
              [&](const XtCtState& x) { cond(ct_state(x), "the connection's state"); },
              [&](const XtMultiport& x) { cond(multiport(x), "the ports"); },
              [&](const XtAddrType& x) {
                cond(both(addrtype(p_.saddr_local, x.src, x.invert_src), addrtype(p_.daddr_local, x.dst, x.invert_dst)),
                     "whether the address is one of this host's");
              },
              [&](const Unknown& u) {
                if (u.role == Unknown::Role::Decides) decide(Decision::Kind::Unknown, u.what);
                if (u.role == Unknown::Role::Load) regs.load(u.dreg, Value::unknown(16)), names[u.dreg] = u.what;
                if (u.role == Unknown::Role::Opaque) regs.load(kAllRegisters, {});  // may load any register
                if (u.role == Unknown::Role::Condition || u.role == Unknown::Role::Opaque) cond(Tri::Unknown, u.what);
              },
          },
          e);
      if (run.matched == Tri::False || run.decision || run.verdict != Verdict::Continue) break;
    }
    return run;
  }

  static Value bitwise(Value in, const Bitwise& b) {
    for (size_t i = 0; i < b.mask.size() && i < in.bytes.size(); ++i) {
      in.known[i] = in.known[i] || b.mask[i] == 0;
      in.bytes[i] = uint8_t((in.bytes[i] & b.mask[i]) ^ (i < b.xor_.size() ? b.xor_[i] : 0));
    }
    return in;
  }

  Value fib(const FibAddrType& f) const {
    std::optional<bool> local = f.daddr ? p_.daddr_local : p_.saddr_local;
    std::optional<uint32_t> type;
    if (local) type = *local ? kRtnLocal : kRtnUnicast;
    return host_value(type);
  }

  Tri multiport(const XtMultiport& x) const {
    auto in = [&](const std::optional<uint16_t>& port) {
      if (!port) return Tri::Unknown;
      bool any = std::any_of(x.ports.begin(), x.ports.end(),
                             [&](const auto& r) { return r.first <= *port && *port <= r.second; });
      return any ? Tri::True : Tri::False;
    };
    using W = XtMultiport::Which;
    Tri t = x.which == W::Source        ? in(p_.sport)
            : x.which == W::Destination ? in(p_.dport)
                                        : negate(both(negate(in(p_.sport)), negate(in(p_.dport))));
    return x.invert ? negate(t) : t;
  }

  // xt's state bits: INVALID, ESTABLISHED, RELATED and NEW as nft's; SNAT
  // (1 << 6) and DNAT (1 << 7) are status bits, UNTRACKED is 1 << 8.
  Tri ct_state(const XtCtState& x) const {
    constexpr uint32_t kXtSnat = 1u << 6, kXtDnat = 1u << 7, kXtUntracked = 1u << 8;
    auto any = [](Tri a, Tri b) { return negate(both(negate(a), negate(b))); };
    auto bits = [](const std::optional<uint32_t>& v, uint32_t mask) {
      return !mask ? Tri::False : !v ? Tri::Unknown : (*v & mask) ? Tri::True : Tri::False;
    };
    Tri t = bits(p_.ct_state, x.mask & (kCtInvalid | kCtEstablished | kCtRelated | kCtNew));
    t = any(t, bits(p_.ct_state, (x.mask & kXtUntracked) ? kCtUntracked : 0));
    t = any(t, bits(p_.ct_status, ((x.mask & kXtSnat) ? kStatusSnat : 0) | ((x.mask & kXtDnat) ? kStatusDnat : 0)));
    return x.invert ? negate(t) : t;
  }

  template <class Cond>
  void lookup(const Lookup& l, const Chain& c, Registers& regs, RuleRun& run, Cond&& cond, const std::string& key) {
    const Set* s = rs_.set(c.family, c.table, l.set);
    if (!s) {
      cond(Tri::Unknown, "set '" + l.set + "', which natc did not read");
      return;
    }
    size_t n = s->elements.empty() ? 16 : s->elements.front().key.size();
    Found f = find(*s, regs.read(l.sreg, n));
    std::string what = key + " (looked up in set '" + l.set + "')";
    if (f.element && !l.invert && !f.element->comment.empty()) run.entry = f.element->comment;
    if (!l.dreg) {
      cond(l.invert ? negate(f.member) : f.member, what);
      return;
    }
    if (f.member != Tri::True) {  // a map without the key: the rule ends here
      cond(f.member == Tri::False ? Tri::False : Tri::Unknown, what);
      return;
    }
    if (*l.dreg == 0)
      run.verdict = f.element->verdict, run.chain = f.element->chain;
    else
      regs.load(*l.dreg, Value::of(f.element->data));
  }

  std::string payload_name(const Payload& pl) const {
    bool v4 = p_.family == base::Family::V4;
    if (pl.base == Base::Transport) return pl.offset < 2 ? "the source port" : "the destination port";
    if (pl.base != Base::Network) return "a link-layer header field";
    if (pl.offset >= (v4 ? 16u : 24u)) return "the destination address";
    if (pl.offset >= (v4 ? 12u : 8u)) return "the source address";
    return "a network header field";
  }
  static std::string meta_name(MetaKey k) {
    switch (k) {
      case MetaKey::IifName: return "the input interface";
      case MetaKey::OifName: return "the output interface";
      case MetaKey::L4Proto: return "the protocol";
      case MetaKey::NfProto: return "the address family";
      case MetaKey::Other: return "packet metadata";
    }
    return "packet metadata";
  }

  Value meta(MetaKey k) const {
    switch (k) {
      case MetaKey::IifName: return ifname_value(p_.iif);
      case MetaKey::OifName: return ifname_value(p_.oif);
      case MetaKey::L4Proto: return p_.l4proto ? Value::of({*p_.l4proto}) : Value::unknown(1);
      case MetaKey::NfProto: return Value::of({p_.family == base::Family::V4 ? kNfprotoIpv4 : kNfprotoIpv6});
      case MetaKey::Other: return Value::unknown(16);
    }
    return Value::unknown(16);
  }
  Value payload(const Payload& pl) const {
    Value h = pl.base == Base::Network     ? network_header(p_)
              : pl.base == Base::Transport ? transport_header(p_)
                                           : Value{};
    // No load is longer than the registers (a hostile length would be
    // memory without bound).
    size_t len = std::min<size_t>(pl.len, kRegisterBytes);
    Value out = Value::unknown(len);
    for (size_t i = 0; i < len && pl.offset + i < h.bytes.size(); ++i)
      out.bytes[i] = h.bytes[pl.offset + i], out.known[i] = h.known[pl.offset + i];
    return out;
  }
  Value ct(CtKey k) const {
    switch (k) {
      case CtKey::State: return host_value(p_.ct_state);
      case CtKey::Status: return host_value(p_.ct_status);
      case CtKey::Direction: return host_value(p_.ct_direction);
      case CtKey::Other: return Value::unknown(16);
    }
    return Value::unknown(16);
  }

  // nft's nat reads its addresses and ports from registers.
  NatAction resolve(NatAction n, const Registers& regs) const {
    size_t alen = p_.family == base::Family::V4 ? 4 : 16;
    auto addr = [&](const std::optional<Reg>& r, std::optional<base::Addr>& out) {
      if (!r) return;
      if (Value v = regs.read(*r, alen); v.all_known()) {
        base::Addr a{p_.family};
        std::copy(v.bytes.begin(), v.bytes.end(), a.bytes.begin());
        out = a;
      }
    };
    auto port = [&](const std::optional<Reg>& r, std::optional<uint16_t>& out) {
      if (!r) return;
      if (Value v = regs.read(*r, 2); v.all_known()) out = uint16_t(v.bytes[0] << 8 | v.bytes[1]);
    };
    addr(n.reg_addr, n.addr_min), addr(n.reg_addr_max ? n.reg_addr_max : n.reg_addr, n.addr_max);
    port(n.reg_port, n.port_min), port(n.reg_port_max ? n.reg_port_max : n.reg_port, n.port_max);
    return n;
  }

  const Ruleset& rs_;
  const Probe& p_;
  Budget& budget_;
};

}  // namespace

Outcome evaluate(const Ruleset& rs, const Chain& base, const Probe& p, Budget& budget) {
  return Evaluator(rs, p, budget).base(base);
}
Outcome evaluate(const Ruleset& rs, const Chain& base, const Probe& p) {
  Budget b;
  return evaluate(rs, base, p, b);
}

const Chain* Ruleset::chain(Family f, const std::string& table, const std::string& name) const {
  for (const Chain& c : chains)
    if (c.family == f && c.table == table && c.name == name) return &c;
  return nullptr;
}
const Set* Ruleset::set(Family f, const std::string& table, const std::string& name) const {
  for (const Set& s : sets)
    if (s.family == f && s.table == table && s.name == name) return &s;
  return nullptr;
}

std::string_view family_name(Family f) {
  switch (f) {
    case Family::Ip: return "ip";
    case Family::Ip6: return "ip6";
    case Family::Inet: return "inet";
    case Family::Other: return "other";
  }
  return "other";
}
std::string_view hook_name(Hook h) {
  constexpr std::array<std::string_view, 6> names{"prerouting", "input", "forward", "output", "postrouting", "other"};
  return names[size_t(h)];
}

std::string describe(const Decision& d) {
  if (!d.chain) return "?";
  std::string s =
      "table " + std::string(family_name(d.chain->family)) + " " + d.chain->table + ", chain " + d.chain->name;
  if (d.rule) return s + ", rule handle " + std::to_string(d.rule->handle);
  return s + (d.kind == Decision::Kind::Drop ? " (policy drop)" : " (policy accept)");
}

std::string describe(const NatAction& n) {
  using K = NatAction::Kind;
  if (n.kind == K::Masquerade) return "masquerade";
  std::string s = n.kind == K::Dnat ? "DNAT" : n.kind == K::Snat ? "SNAT" : "redirect";
  std::string to;
  if (n.addr_min) {
    to = base::to_string(*n.addr_min);
    if (n.addr_max && *n.addr_max != *n.addr_min) to += "-" + base::to_string(*n.addr_max);
  }
  if (n.port_min) {
    std::string port = std::to_string(*n.port_min);
    if (n.port_max && *n.port_max != *n.port_min) port += "-" + std::to_string(*n.port_max);
    to = n.addr_min && n.addr_min->family == base::Family::V6 ? "[" + to + "]:" + port : to + ":" + port;
  }
  return to.empty() ? s : s + " to " + to;
}

}  // namespace natc::cotenancy
