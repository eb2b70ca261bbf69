#include "import/lift.h"

#include <algorithm>
#include <map>

#include "base/overload.h"
#include "base/text.h"
#include "check/check.h"

namespace natc::imports {
namespace {

namespace ct = cotenancy;
using ct::Bytes;
using ct::Reg;

constexpr size_t kMaxAlternatives = 4096;  // a rule over a set this large is not a spec entry
constexpr uint8_t kNfprotoIpv4 = 2, kNfprotoIpv6 = 10;
constexpr uint32_t kRtnLocal = 2;

// What a register holds: a field of the packet (as far as its load reached
// and through a mask), or data from the rule or a map.
struct Load {
  enum class Src : uint8_t {
    Iif,
    Oif,
    L4,
    NfProto,
    Saddr,
    Daddr,
    Sport,
    Dport,
    CtState,
    CtStatus,
    FibLocal,
    Data,
    Other
  };
  Src src = Src::Other;
  uint32_t len = 0;
  Bytes mask;  // from a bitwise; empty: every bit
  Bytes data;  // Data
  std::string what;
};
uint32_t round4(uint32_t n) { return (n + 3) / 4 * 4; }

struct Alt {
  Lifted lifted;
  std::map<Reg, Load> regs;
  void load(Reg at, Load l) {
    uint32_t end = at + round4(std::max<uint32_t>(l.len, 1));
    for (auto it = regs.begin(); it != regs.end();) {
      uint32_t e = it->first + round4(std::max<uint32_t>(it->second.len, 1));
      if (it->first < end && at < e)
        it = regs.erase(it);
      else
        ++it;
    }
    regs[at] = std::move(l);
  }
  const Load* at(Reg r) const {
    auto it = regs.find(r);
    return it == regs.end() ? nullptr : &it->second;
  }
  // `n` bytes of data starting at register byte `r`, from a load that covers them.
  std::optional<Bytes> data(Reg r, size_t n) const {
    for (const auto& [start, l] : regs)
      if (l.src == Load::Src::Data && start <= r && r + n <= start + l.data.size())
        return Bytes(l.data.begin() + (r - start), l.data.begin() + (r - start + n));
    return std::nullopt;
  }
};

// Thrown (internally) when a rule cannot be read as fields.
struct Cannot {
  std::string why;
};

base::Family family_of(const Alt& a, const ct::Chain& c) {
  if (a.lifted.match.family) return *a.lifted.match.family;
  if (c.family == ct::Family::Ip) return base::Family::V4;
  if (c.family == ct::Family::Ip6) return base::Family::V6;
  throw Cannot{"an address match in an inet chain without a family"};
}

Load payload_load(const ct::Payload& p, base::Family f) {
  bool v4 = f == base::Family::V4;
  uint32_t alen = v4 ? 4 : 16, s = v4 ? 12 : 8, d = v4 ? 16 : 24, proto = v4 ? 9 : 6;
  if (p.base == ct::Base::Network) {
    if (p.offset == s && p.len <= alen) return {Load::Src::Saddr, p.len};
    if (p.offset == d && p.len <= alen) return {Load::Src::Daddr, p.len};
    if (p.offset == proto && p.len == 1) return {Load::Src::L4, 1};
    return {Load::Src::Other, p.len, {}, {}, "a network header field"};
  }
  if (p.base == ct::Base::Transport && p.len == 2 && (p.offset == 0 || p.offset == 2))
    return {p.offset == 0 ? Load::Src::Sport : Load::Src::Dport, 2};
  if (p.base == ct::Base::Transport && p.offset == 13) return {Load::Src::Other, p.len, {}, {}, "TCP flags"};
  return {Load::Src::Other, p.len, {}, {}, "a header field"};
}

uint16_t port_of(const Bytes& b) { return b.size() >= 2 ? uint16_t(b[0] << 8 | b[1]) : 0; }
// A 32-bit value the kernel compares in host order (ct state, fib type).
uint32_t host32(const Bytes& b) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < b.size(); ++i) v |= uint32_t(b[i]) << (8 * i);
  return v;
}

base::Addr addr_of(const Bytes& b, base::Family f, uint8_t fill) {
  base::Addr a{f};
  for (size_t i = 0; i < a.size(); ++i) a.bytes[i] = i < b.size() ? b[i] : fill;
  return a;
}

std::string ifname_of(const Bytes& b, bool* prefix) {
  auto nul = std::find(b.begin(), b.end(), uint8_t{0});
  *prefix = nul == b.end();
  return std::string(b.begin(), nul);
}

// The packet field `l` lies between `lo` and `hi` (equal for one value), or
// outside them with `negate`.
Merged constrain(Match& m, const Load& l, const Bytes& lo, const Bytes& hi, bool negate, base::Family f) {
  Match with;
  using S = Load::Src;
  switch (l.src) {
    case S::Iif:
    case S::Oif: {
      if (lo != hi) throw Cannot{"an interface name range"};
      Iface i;
      i.name = ifname_of(lo, &i.prefix);
      i.negate = negate;
      // A name the kernel matches but a spec cannot hold (a control character,
      // a quote, past 15 bytes) is said as it is, not written into the spec.
      std::string spelled = i.prefix ? i.name + "*" : i.name;
      if (std::string why = check::interface_name_problem(spelled); !why.empty() && spelled != "*")
        throw Cannot{"interface name '" + base::clip(base::one_line(spelled), 80) + "' " + why};
      (l.src == S::Iif ? with.iif : with.oif) = i;
      break;
    }
    case S::L4:
      if (lo != hi || negate || lo.empty()) throw Cannot{"a protocol other than one"};
      with.l4proto = lo[0];
      break;
    case S::NfProto:
      if (lo != hi || negate || lo.empty()) throw Cannot{"an address family match"};
      if (lo[0] != kNfprotoIpv4 && lo[0] != kNfprotoIpv6) return Merged::Never;
      with.family = lo[0] == kNfprotoIpv4 ? base::Family::V4 : base::Family::V6;
      break;
    case S::Saddr:
    case S::Daddr: {
      Span s{{addr_of(lo, f, 0), addr_of(hi, f, 0xff)}, negate};
      (l.src == S::Saddr ? with.saddr : with.daddr) = s;
      break;
    }
    case S::Sport:
    case S::Dport: {
      if (negate) throw Cannot{"a port match with '!='"};
      // Port 0 is no port: `dport <= N` starts at 1, and only port 0 is no match natc can say.
      uint16_t first = std::max<uint16_t>(port_of(lo), 1), last = port_of(hi);
      if (last == 0) throw Cannot{"a match of port 0"};
      (l.src == S::Sport ? with.sport : with.dport) = base::PortRange{first, last};
      break;
    }
    case S::CtState:
    case S::CtStatus: {
      // A set element of `ct state { established, related }`: one state.
      if (lo != hi || negate || lo.size() != 4) throw Cannot{"a connection state natc cannot read"};
      uint32_t bits = host32(lo);
      if (!bits) throw Cannot{"a connection state natc cannot read"};
      (l.src == S::CtState ? with.ct_state : with.ct_status) = bits;
      break;
    }
    default: throw Cannot{l.what.empty() ? "a match natc does not model" : l.what};
  }
  return merge(m, with);
}

// A comparison of a loaded field with a value.
Merged compare(Match& m, const Load& l, ct::CmpOp op, const Bytes& data, base::Family f) {
  using S = Load::Src;
  if (l.src == S::CtState || l.src == S::CtStatus) {
    // `ct state established,related`: (state & mask) != 0; `ct state new`: == NEW.
    uint32_t mask = l.mask.empty() ? UINT32_MAX : host32(l.mask), v = host32(data);
    uint32_t bits = op == ct::CmpOp::Neq && v == 0 ? mask : op == ct::CmpOp::Eq && v != 0 ? v : 0;
    if (!bits) throw Cannot{"a negated connection state"};
    Match with;
    (l.src == S::CtState ? with.ct_state : with.ct_status) = bits;
    return merge(m, with);
  }
  if (l.src == S::FibLocal) {
    if (host32(data) != kRtnLocal || (op != ct::CmpOp::Eq && op != ct::CmpOp::Neq))
      throw Cannot{"an address type other than local"};
    Match with;
    with.daddr_local = op == ct::CmpOp::Eq;
    return merge(m, with);
  }
  const Bytes& lo = data;
  Bytes hi = data;
  for (size_t i = 0; i < l.mask.size() && i < hi.size(); ++i) hi[i] = uint8_t(hi[i] | ~l.mask[i]);
  switch (op) {
    case ct::CmpOp::Eq: return constrain(m, l, lo, hi, false, f);
    case ct::CmpOp::Neq: return constrain(m, l, lo, hi, true, f);
    case ct::CmpOp::Gte: return constrain(m, l, lo, Bytes(lo.size(), 0xff), false, f);
    case ct::CmpOp::Lte: return constrain(m, l, Bytes(lo.size(), 0), hi, false, f);
    default: throw Cannot{"a strict comparison"};
  }
}

// The fields a set's key is made of: the loads from `sreg` on, each in
// whole registers, as far as `len` bytes.
std::vector<Load> key_fields(const Alt& a, Reg sreg, size_t len) {
  std::vector<Load> out;
  for (Reg at = sreg; at < sreg + len;) {
    const Load* l = a.at(at);
    if (!l) throw Cannot{"a set key natc cannot follow"};
    out.push_back(*l);
    at += round4(std::max<uint32_t>(l->len, 1));
  }
  return out;
}

Bytes minus_one(Bytes b) {
  for (size_t i = b.size(); i-- > 0;)
    if (b[i]-- != 0) break;
  return b;
}

// Each element as [first, last] of its whole key, in key order: interval
// sets keep ranges as a start element and an end element.
std::vector<std::pair<const ct::Element*, std::pair<Bytes, Bytes>>> element_spans(const ct::Set& s) {
  std::vector<std::pair<const ct::Element*, std::pair<Bytes, Bytes>>> out;
  std::vector<const ct::Element*> sorted;
  sorted.reserve(s.elements.size());
  for (const ct::Element& e : s.elements) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->key < b->key; });
  out.reserve(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const ct::Element* e = sorted[i];
    if (e->interval_end) continue;
    if (!e->key_end.empty() || !s.interval) {
      out.push_back({e, {e->key, e->key_end.empty() ? e->key : e->key_end}});
      continue;
    }
    Bytes hi = i + 1 < sorted.size() ? minus_one(sorted[i + 1]->key) : Bytes(e->key.size(), 0xff);
    out.push_back({e, {e->key, hi}});
  }
  return out;
}

class Lifter {
 public:
  Lifter(const ct::Ruleset& rs, const ct::Chain& c) : rs_(rs), c_(c) {}

  LiftResult run(const ct::Rule& r) {
    LiftResult out;
    alts_.push_back({});
    try {
      for (const ct::Expr& e : r.exprs) {
        step(e);
        if (alts_.empty()) return out;  // never matches
        if (alts_.size() > kMaxAlternatives) throw Cannot{"a set of more than 4096 elements"};
      }
    } catch (const Cannot& c) {
      out.reason = c.why;
      return out;
    }
    out.alternatives.reserve(alts_.size());
    for (Alt& a : alts_) out.alternatives.push_back(std::move(a.lifted));
    return out;
  }

 private:
  // Applies `fn` to every alternative; those it returns Never for are gone.
  template <class Fn>
  void each(Fn&& fn) {
    std::vector<Alt> kept;
    kept.reserve(alts_.size());
    for (Alt& a : alts_) {
      Merged m = fn(a);
      if (m == Merged::Cannot) throw Cannot{"conditions natc cannot join"};
      if (m == Merged::Ok) kept.push_back(std::move(a));
    }
    alts_ = std::move(kept);
  }

  void step(const ct::Expr& e) {
    std::visit(base::Overload{
                   [&](const ct::Meta& m) { meta(m); },
                   [&](const ct::Payload& p) {
                     each([&](Alt& a) {
                       a.load(p.dreg,
                              payload_load(p, p.base == ct::Base::Transport ? base::Family::V4 : family_of(a, c_)));
                       return Merged::Ok;
                     });
                   },
                   [&](const ct::Cmp& x) {
                     each([&](Alt& a) {
                       const Load* l = a.at(x.sreg);
                       if (!l) throw Cannot{"a comparison natc cannot follow"};
                       return compare(a.lifted.match, *l, x.op, x.data, family_of_or_v4(a));
                     });
                   },
                   [&](const ct::Bitwise& b) { bitwise(b); },
                   [&](const ct::Range& x) {
                     each([&](Alt& a) {
                       const Load* l = a.at(x.sreg);
                       if (!l) throw Cannot{"a range natc cannot follow"};
                       return constrain(a.lifted.match, *l, x.from, x.to, x.negate, family_of_or_v4(a));
                     });
                   },
                   [&](const ct::Lookup& l) { lookup(l); },
                   [&](const ct::Immediate& i) { immediate(i); },
                   [&](const ct::Ct& x) {
                     if (x.key != ct::CtKey::State && x.key != ct::CtKey::Status)
                       throw Cannot{"a connection tracking field natc does not model"};
                     load_all(x.dreg, {x.key == ct::CtKey::State ? Load::Src::CtState : Load::Src::CtStatus, 4});
                   },
                   [&](const ct::FibAddrType& f) {
                     if (!f.daddr) throw Cannot{"the source address's type"};
                     load_all(f.dreg, {Load::Src::FibLocal, 4});
                   },
                   [&](const ct::Nat& n) { nat(n.action); },
                   [&](const ct::Reject&) { verdict(Action::Kind::Drop); },
                   [&](const ct::XtCtState& x) { ctstate(x); },
                   [&](const ct::XtAddrType& x) { addrtype(x); },
                   [&](const ct::XtMultiport& x) { multiport(x); },
                   [&](const ct::Unknown& u) {
                     if (u.role != ct::Unknown::Role::NoEffect) throw Cannot{u.what};
                   },
               },
               e);
  }

  // The alternative's family: its own match's, else its chain's (an inet
  // chain's rule without one is read as IPv4 until a match says otherwise).
  base::Family family_of_or_v4(const Alt& a) const {
    if (a.lifted.match.family) return *a.lifted.match.family;
    return c_.family == ct::Family::Ip6 ? base::Family::V6 : base::Family::V4;
  }

  void load_all(Reg at, const Load& l) {
    for (Alt& a : alts_) a.load(at, l);
  }

  void meta(const ct::Meta& m) {
    using K = ct::MetaKey;
    switch (m.key) {
      case K::IifName: return load_all(m.dreg, {Load::Src::Iif, 16});
      case K::OifName: return load_all(m.dreg, {Load::Src::Oif, 16});
      case K::L4Proto: return load_all(m.dreg, {Load::Src::L4, 1});
      case K::NfProto: return load_all(m.dreg, {Load::Src::NfProto, 1});
      case K::Other:
        return load_all(m.dreg, {Load::Src::Other, 4, {}, {}, "packet metadata natc does not model (a mark?)"});
    }
  }

  void bitwise(const ct::Bitwise& b) {
    if (std::any_of(b.xor_.begin(), b.xor_.end(), [](uint8_t x) { return x != 0; }))
      throw Cannot{"a bitwise change of a field"};
    for (Alt& a : alts_) {
      const Load* l = a.at(b.sreg);
      Load out = l ? *l : Load{Load::Src::Other, uint32_t(b.mask.size()), {}, {}, "a masked value"};
      out.mask = b.mask;
      a.load(b.dreg, out);
    }
  }

  void immediate(const ct::Immediate& i) {
    if (i.dreg) return load_all(*i.dreg, {Load::Src::Data, uint32_t(i.data.size()), {}, i.data});
    using V = ct::Verdict;
    switch (i.verdict) {
      case V::Accept: return verdict(Action::Kind::Accept);
      case V::Drop: return verdict(Action::Kind::Drop);
      case V::Return: return verdict(Action::Kind::Return);
      case V::Jump: return verdict(Action::Kind::Jump, i.chain);
      case V::Goto: return verdict(Action::Kind::Goto, i.chain);
      case V::Continue: return;
      case V::Other: throw Cannot{"a verdict natc does not model (queue)"};
    }
  }

  void verdict(Action::Kind k, const std::string& chain = {}) {
    for (Alt& a : alts_) a.lifted.action.kind = k, a.lifted.action.chain = chain;
  }

  // -m conntrack --ctstate: INVALID, ESTABLISHED, RELATED, NEW share nft's
  // bits; SNAT and DNAT are the connection's status, UNTRACKED its own bit.
  void ctstate(const ct::XtCtState& x) {
    if (x.invert) throw Cannot{"a negated connection state"};
    constexpr uint32_t kStates = 0x0f, kSnat = 1u << 6, kDnat = 1u << 7;
    Match with;
    if (x.mask == kDnat || x.mask == kSnat)
      with.ct_status = x.mask == kDnat ? ct::kStatusDnat : ct::kStatusSnat;
    else if (x.mask & ~kStates)
      throw Cannot{"a connection state of several kinds"};
    else
      with.ct_state = x.mask;
    each([&](Alt& a) { return merge(a.lifted.match, with); });
  }

  void addrtype(const ct::XtAddrType& x) {
    constexpr uint16_t kLocal = 1u << kRtnLocal;
    if (x.src != 0 || x.dst != kLocal) throw Cannot{"an address type other than the destination's LOCAL"};
    Match with;
    with.daddr_local = !x.invert_dst;
    each([&](Alt& a) { return merge(a.lifted.match, with); });
  }

  void multiport(const ct::XtMultiport& x) {
    if (x.invert || x.which == ct::XtMultiport::Which::Either) throw Cannot{"-m multiport with ! or --ports"};
    std::vector<Alt> out;
    for (const Alt& a : alts_)
      for (const auto& [lo, hi] : x.ports) {
        Alt b = a;
        Match with;
        (x.which == ct::XtMultiport::Which::Source ? with.sport : with.dport) = base::PortRange{lo, hi};
        if (Merged m = merge(b.lifted.match, with); m == Merged::Ok)
          out.push_back(std::move(b));
        else if (m == Merged::Cannot)
          throw Cannot{"conditions natc cannot join"};
      }
    alts_ = std::move(out);
  }

  void lookup(const ct::Lookup& l) {
    const ct::Set* s = rs_.set(c_.family, c_.table, l.set);
    if (!s) throw Cannot{"set '" + l.set + "', which natc did not read"};
    if (l.invert) throw Cannot{"a negated set lookup"};
    std::vector<Alt> out;
    auto spans = element_spans(*s);
    for (const Alt& a : alts_) {
      if (spans.empty()) continue;
      std::vector<Load> fields = key_fields(a, l.sreg, spans.front().second.first.size());
      for (const auto& [el, span] : spans) {
        Alt b = a;
        if (!apply_key(b, fields, span.first, span.second)) continue;
        if (l.dreg && *l.dreg == 0) {
          Lifted& lf = b.lifted;
          immediate_into(lf, *el);
        } else if (l.dreg) {
          b.load(*l.dreg, {Load::Src::Data, uint32_t(el->data.size()), {}, el->data});
        }
        out.push_back(std::move(b));
        if (out.size() > kMaxAlternatives) throw Cannot{"a set of more than 4096 elements"};
      }
    }
    alts_ = std::move(out);
  }

  static void immediate_into(Lifted& lf, const ct::Element& el) {
    using V = ct::Verdict;
    using K = Action::Kind;
    switch (el.verdict) {
      case V::Accept: lf.action.kind = K::Accept; break;
      case V::Drop: lf.action.kind = K::Drop; break;
      case V::Jump: lf.action.kind = K::Jump, lf.action.chain = el.chain; break;
      case V::Goto: lf.action.kind = K::Goto, lf.action.chain = el.chain; break;
      case V::Return: lf.action.kind = K::Return; break;
      default: throw Cannot{"a verdict map's verdict natc does not model"};
    }
  }

  // One element's key, field by field; false when it contradicts the rest.
  bool apply_key(Alt& a, const std::vector<Load>& fields, const Bytes& lo, const Bytes& hi) {
    size_t at = 0;
    for (const Load& f : fields) {
      size_t n = f.len, step = round4(std::max<uint32_t>(f.len, 1));
      if (at + n > lo.size() || at + n > hi.size()) throw Cannot{"a set key natc cannot follow"};
      Bytes flo(lo.begin() + long(at), lo.begin() + long(at + n)),
          fhi(hi.begin() + long(at), hi.begin() + long(at + n));
      if (f.src == Load::Src::Iif || f.src == Load::Src::Oif) fhi = flo;  // names compare whole
      Merged m = constrain(a.lifted.match, f, flo, fhi, false, family_of_or_v4(a));
      if (m == Merged::Cannot) throw Cannot{"conditions natc cannot join"};
      if (m == Merged::Never) return false;
      at += step;
    }
    return true;
  }

  void nat(ct::NatAction n) {
    for (Alt& a : alts_) {
      ct::NatAction out = n;
      base::Family f = out.family ? (*out.family == kNfprotoIpv6 ? base::Family::V6 : base::Family::V4)
                                  : (c_.family == ct::Family::Ip6 ? base::Family::V6 : family_of_or_v4(a));
      size_t alen = f == base::Family::V4 ? 4 : 16;
      auto addr = [&](const std::optional<Reg>& r, std::optional<base::Addr>& into) {
        if (!r) return;
        auto d = a.data(*r, alen);
        if (!d) throw Cannot{"a NAT address natc cannot follow"};
        into = addr_of(*d, f, 0);
      };
      auto port = [&](const std::optional<Reg>& r, std::optional<uint16_t>& into) {
        if (!r) return;
        auto d = a.data(*r, 2);
        if (!d) throw Cannot{"a NAT port natc cannot follow"};
        into = port_of(*d);
      };
      addr(out.reg_addr, out.addr_min), addr(out.reg_addr_max ? out.reg_addr_max : out.reg_addr, out.addr_max);
      port(out.reg_port, out.port_min), port(out.reg_port_max ? out.reg_port_max : out.reg_port, out.port_max);
      if (!a.lifted.match.family) a.lifted.match.family = f;
      a.lifted.action.kind = Action::Kind::Nat;
      a.lifted.action.nat = out;
    }
  }

  const ct::Ruleset& rs_;
  const ct::Chain& c_;
  std::vector<Alt> alts_;
};

// Two conditions on one interface: the one that keeps the most, or none.
Merged merge_iface(std::optional<Iface>& into, const std::optional<Iface>& with) {
  if (!with) return Merged::Ok;
  if (!into) {
    into = with;
    return Merged::Ok;
  }
  const Iface& a = *into;
  const Iface& b = *with;
  auto covers = [](const Iface& pattern, const std::string& name) {
    return pattern.prefix ? name.starts_with(pattern.name) : name == pattern.name;
  };
  if (a == b) return Merged::Ok;
  if (!a.negate && !b.negate) {
    if (!a.prefix && !b.prefix) return Merged::Never;
    if (!a.prefix) return covers(b, a.name) ? Merged::Ok : Merged::Never;
    if (!b.prefix) return covers(a, b.name) ? (into = with, Merged::Ok) : Merged::Never;
    return Merged::Cannot;
  }
  const Iface& pos = a.negate ? b : a;
  const Iface& neg = a.negate ? a : b;
  if (pos.negate) return Merged::Cannot;  // two exclusions
  if (!pos.prefix && covers(neg, pos.name)) return Merged::Never;
  if (!pos.prefix && !covers(neg, pos.name)) return into = pos, Merged::Ok;
  return Merged::Cannot;
}

Merged merge_span(std::optional<Span>& into, const std::optional<Span>& with) {
  if (!with) return Merged::Ok;
  if (!into) {
    into = with;
    return Merged::Ok;
  }
  Span a = *into, b = *with;
  if (a.range.first.family != b.range.first.family) return Merged::Never;
  bool overlap = a.range.overlaps(b.range);
  if (!a.negate && !b.negate) {
    if (!overlap) return Merged::Never;
    into = Span{{std::max(a.range.first, b.range.first), std::min(a.range.last, b.range.last)}, false};
    return Merged::Ok;
  }
  if (a.negate && b.negate) return a.range == b.range ? Merged::Ok : Merged::Cannot;
  const Span& pos = a.negate ? b : a;
  const Span& neg = a.negate ? a : b;
  if (!pos.range.overlaps(neg.range)) return into = pos, Merged::Ok;
  if (neg.range.contains(pos.range.first) && neg.range.contains(pos.range.last)) return Merged::Never;
  return Merged::Cannot;
}

template <class T>
Merged merge_equal(std::optional<T>& into, const std::optional<T>& with) {
  if (!with) return Merged::Ok;
  if (!into) return into = with, Merged::Ok;
  return *into == *with ? Merged::Ok : Merged::Never;
}

Merged merge_ports(std::optional<base::PortRange>& into, const std::optional<base::PortRange>& with) {
  if (!with) return Merged::Ok;
  if (!into) return into = with, Merged::Ok;
  if (!into->overlaps(*with)) return Merged::Never;
  into = base::PortRange{std::max(into->first, with->first), std::min(into->last, with->last)};
  return Merged::Ok;
}

Merged merge_bits(std::optional<uint32_t>& into, const std::optional<uint32_t>& with) {
  if (!with) return Merged::Ok;
  into = into ? *into & *with : *with;
  return *into ? Merged::Ok : Merged::Never;
}

}  // namespace

bool Match::empty() const {
  return !iif && !oif && !l4proto && !saddr && !daddr && !sport && !dport && !ct_state && !ct_status && !daddr_local;
}

Merged merge(Match& into, const Match& with) {
  Merged results[] = {
      merge_equal(into.family, with.family),
      merge_iface(into.iif, with.iif),
      merge_iface(into.oif, with.oif),
      merge_equal(into.l4proto, with.l4proto),
      merge_span(into.saddr, with.saddr),
      merge_span(into.daddr, with.daddr),
      merge_ports(into.sport, with.sport),
      merge_ports(into.dport, with.dport),
      merge_bits(into.ct_state, with.ct_state),
      merge_bits(into.ct_status, with.ct_status),
      merge_equal(into.daddr_local, with.daddr_local),
  };
  if (std::find(std::begin(results), std::end(results), Merged::Never) != std::end(results)) return Merged::Never;
  if (std::find(std::begin(results), std::end(results), Merged::Cannot) != std::end(results)) return Merged::Cannot;
  return Merged::Ok;
}

LiftResult lift(const ct::Ruleset& rs, const ct::Chain& chain, const ct::Rule& rule) {
  return Lifter(rs, chain).run(rule);
}

}  // namespace natc::imports
