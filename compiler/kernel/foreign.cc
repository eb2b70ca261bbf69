// Other owners' tables from netlink into cotenancy::Ruleset. Every number
// of the kernel's ABI (registers, meta keys, verdicts, xt structures) is
// translated here, so evaluation needs no kernel headers. What natc does
// not model becomes cotenancy::Unknown with a name, never an error.
#include "kernel/foreign.h"

#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "netlink/attrs.h"
#include "netlink/handles.h"
#include "netlink/udata.h"
#include "netlink/validate.h"

namespace natc::kernel {
namespace {

namespace ct = cotenancy;
using ct::Bytes;
using ct::Unknown;

// Other owners' strings, "" when absent: nothing here is keyed on them
// but names, and a nameless object is found by nothing.
std::string str(const char* s) { return s ? s : ""; }

ct::Family family_of(uint32_t f) {
  switch (f) {
    case NFPROTO_IPV4: return ct::Family::Ip;
    case NFPROTO_IPV6: return ct::Family::Ip6;
    case NFPROTO_INET: return ct::Family::Inet;
    default: return ct::Family::Other;
  }
}

// NFT_REG_1..4 are 16 bytes each after the verdict; NFT_REG32_xx 4 bytes.
ct::Reg reg(uint32_t r) { return r < NFT_REG32_00 ? r * 16 : 16 + (r - NFT_REG32_00) * 4; }

Bytes data(const nftnl_expr* e, uint16_t attr) {
  uint32_t len = 0;
  auto* p = static_cast<const uint8_t*>(nftnl_expr_get(e, attr, &len));
  return p ? Bytes(p, p + len) : Bytes{};
}
uint32_t u32(const nftnl_expr* e, uint16_t attr) { return nftnl_expr_get_u32(e, attr); }
bool has(const nftnl_expr* e, uint16_t attr) { return nftnl_expr_is_set(e, attr); }

ct::Verdict verdict_of(int32_t v) {
  switch (v) {
    case NF_ACCEPT: return ct::Verdict::Accept;
    case NF_DROP: return ct::Verdict::Drop;
    case NFT_JUMP: return ct::Verdict::Jump;
    case NFT_GOTO: return ct::Verdict::Goto;
    case NFT_RETURN: return ct::Verdict::Return;
    case NFT_CONTINUE: return ct::Verdict::Continue;
    default: return ct::Verdict::Other;  // queue, stolen, break
  }
}

ct::Expr meta(const nftnl_expr* e) {
  if (!has(e, NFTNL_EXPR_META_DREG)) return Unknown{"meta set", Unknown::Role::NoEffect};
  ct::MetaKey k = ct::MetaKey::Other;
  switch (u32(e, NFTNL_EXPR_META_KEY)) {
    case NFT_META_IIFNAME: k = ct::MetaKey::IifName; break;
    case NFT_META_OIFNAME: k = ct::MetaKey::OifName; break;
    case NFT_META_L4PROTO: k = ct::MetaKey::L4Proto; break;
    case NFT_META_NFPROTO: k = ct::MetaKey::NfProto; break;
    default: break;
  }
  return ct::Meta{k, reg(u32(e, NFTNL_EXPR_META_DREG))};
}

ct::Expr payload(const nftnl_expr* e) {
  if (!has(e, NFTNL_EXPR_PAYLOAD_DREG)) return Unknown{"payload set", Unknown::Role::NoEffect};
  ct::Base b = ct::Base::Other;
  switch (u32(e, NFTNL_EXPR_PAYLOAD_BASE)) {
    case NFT_PAYLOAD_LL_HEADER: b = ct::Base::Link; break;
    case NFT_PAYLOAD_NETWORK_HEADER: b = ct::Base::Network; break;
    case NFT_PAYLOAD_TRANSPORT_HEADER: b = ct::Base::Transport; break;
    default: break;
  }
  return ct::Payload{b, u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), u32(e, NFTNL_EXPR_PAYLOAD_LEN),
                     reg(u32(e, NFTNL_EXPR_PAYLOAD_DREG))};
}

ct::Expr ct_expr(const nftnl_expr* e) {
  if (!has(e, NFTNL_EXPR_CT_DREG)) return Unknown{"ct set", Unknown::Role::NoEffect};
  ct::CtKey k = ct::CtKey::Other;
  if (!has(e, NFTNL_EXPR_CT_DIR)) {
    switch (u32(e, NFTNL_EXPR_CT_KEY)) {
      case NFT_CT_STATE: k = ct::CtKey::State; break;
      case NFT_CT_STATUS: k = ct::CtKey::Status; break;
      case NFT_CT_DIRECTION: k = ct::CtKey::Direction; break;
      default: break;
    }
  }
  return ct::Ct{k, reg(u32(e, NFTNL_EXPR_CT_DREG))};
}

void nat_flags(ct::NatAction& a, uint32_t flags) {
  a.persistent = flags & NF_NAT_RANGE_PERSISTENT;
  a.random = flags & NF_NAT_RANGE_PROTO_RANDOM;
  a.fully_random = flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY;
  a.offset = flags & NF_NAT_RANGE_PROTO_OFFSET;
}

// The attributes of nat, masq and redir, in their order: the first address
// register (0 when it has none), then the range's other registers and flags.
struct NatAttrs {
  uint16_t addr_min, addr_max, port_min, port_max, flags;
};

ct::Expr nat(const nftnl_expr* e, ct::NatAction::Kind kind, NatAttrs at) {
  ct::NatAction a{kind};
  auto r = [&](uint16_t attr, std::optional<ct::Reg>& out) {
    if (attr && has(e, attr)) out = reg(u32(e, attr));
  };
  r(at.addr_min, a.reg_addr), r(at.addr_max, a.reg_addr_max);
  r(at.port_min, a.reg_port), r(at.port_max, a.reg_port_max);
  if (has(e, at.flags)) nat_flags(a, u32(e, at.flags));
  return ct::Nat{a};
}

// xt targets' ranges: rev 0 is IPv4-only (nf_nat_ipv4_multi_range_compat),
// rev 1 and 2 share nf_nat_range's leading fields.
ct::NatAction xt_range(ct::NatAction::Kind kind, uint32_t rev, const Bytes& info, bool v6) {
  ct::NatAction a{kind};
  uint32_t flags = 0;
  base::Addr lo{v6 ? base::Family::V6 : base::Family::V4}, hi = lo;
  uint16_t plo = 0, phi = 0;
  if (rev == 0 && info.size() >= sizeof(nf_nat_ipv4_multi_range_compat)) {
    nf_nat_ipv4_multi_range_compat r;
    std::memcpy(&r, info.data(), sizeof r);
    flags = r.range[0].flags;
    std::memcpy(lo.bytes.data(), &r.range[0].min_ip, 4);
    std::memcpy(hi.bytes.data(), &r.range[0].max_ip, 4);
    plo = ntohs(r.range[0].min.all), phi = ntohs(r.range[0].max.all);
  } else if (rev >= 1 && info.size() >= sizeof(nf_nat_range)) {
    nf_nat_range r;
    std::memcpy(&r, info.data(), sizeof r);
    flags = r.flags;
    std::memcpy(lo.bytes.data(), &r.min_addr, lo.size());
    std::memcpy(hi.bytes.data(), &r.max_addr, hi.size());
    plo = ntohs(r.min_proto.all), phi = ntohs(r.max_proto.all);
  } else {
    return a;
  }
  if (flags & NF_NAT_RANGE_MAP_IPS) a.addr_min = lo, a.addr_max = hi;
  if (flags & NF_NAT_RANGE_PROTO_SPECIFIED) a.port_min = plo, a.port_max = phi;
  nat_flags(a, flags);
  return a;
}

ct::Expr xt_target(const nftnl_expr* e, bool v6) {
  std::string name = str(nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME));
  uint32_t rev = u32(e, NFTNL_EXPR_TG_REV);
  Bytes info = data(e, NFTNL_EXPR_TG_INFO);
  using K = ct::NatAction::Kind;
  if (name == "DNAT") return ct::Nat{xt_range(K::Dnat, rev, info, v6)};
  if (name == "SNAT") return ct::Nat{xt_range(K::Snat, rev, info, v6)};
  if (name == "MASQUERADE") return ct::Nat{xt_range(K::Masquerade, rev, info, v6)};
  if (name == "REDIRECT") return ct::Nat{xt_range(K::Redirect, rev, info, v6)};
  if (name == "REJECT") return ct::Reject{};
  // Targets that change or log a packet and let it go on through the chain.
  static const std::set<std::string> go_on{"LOG",      "NFLOG", "MARK",  "CONNMARK", "TCPMSS", "CT",
                                           "CHECKSUM", "DSCP",  "TOS",   "TTL",      "HL",     "CLASSIFY",
                                           "NOTRACK",  "TRACE", "AUDIT", "SECMARK"};
  if (go_on.count(name)) return Unknown{"xt target '" + name + "'", Unknown::Role::NoEffect};
  return Unknown{"xt target '" + name + "'", Unknown::Role::Decides};
}

ct::Expr multiport(const Bytes& info) {
  xt_multiport_v1 m;
  std::memcpy(&m, info.data(), sizeof m);
  using W = ct::XtMultiport::Which;
  ct::XtMultiport out;
  out.which = m.flags == XT_MULTIPORT_SOURCE        ? W::Source
              : m.flags == XT_MULTIPORT_DESTINATION ? W::Destination
                                                    : W::Either;
  out.invert = m.invert != 0;
  for (size_t i = 0; i < std::min<size_t>(m.count, XT_MULTI_PORTS); ++i) {
    // A range takes two slots: its first port flagged, then its last.
    if (m.pflags[i] && i + 1 < XT_MULTI_PORTS)
      out.ports.emplace_back(m.ports[i], m.ports[i + 1]), ++i;
    else
      out.ports.emplace_back(m.ports[i], m.ports[i]);
  }
  return out;
}

ct::Expr xt_match(const nftnl_expr* e) {
  std::string name = str(nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME));
  uint32_t rev = u32(e, NFTNL_EXPR_MT_REV);
  Bytes info = data(e, NFTNL_EXPR_MT_INFO);
  if (name == "conntrack" && rev >= 2 && info.size() >= sizeof(xt_conntrack_mtinfo2)) {
    xt_conntrack_mtinfo2 m;
    std::memcpy(&m, info.data(), sizeof m);
    if (m.match_flags == XT_CONNTRACK_STATE)
      return ct::XtCtState{m.state_mask, (m.invert_flags & XT_CONNTRACK_STATE) != 0};
  }
  if (name == "addrtype" && rev == 1 && info.size() >= sizeof(xt_addrtype_info_v1)) {
    xt_addrtype_info_v1 m;
    std::memcpy(&m, info.data(), sizeof m);
    if (!(m.flags & (XT_ADDRTYPE_LIMIT_IFACE_IN | XT_ADDRTYPE_LIMIT_IFACE_OUT)))
      return ct::XtAddrType{m.source, m.dest, (m.flags & XT_ADDRTYPE_INVERT_SOURCE) != 0,
                            (m.flags & XT_ADDRTYPE_INVERT_DEST) != 0};
  }
  if (name == "multiport" && rev == 1 && info.size() >= sizeof(xt_multiport_v1)) return multiport(info);
  if (name == "comment") return Unknown{"xt match 'comment'", Unknown::Role::NoEffect};
  return Unknown{"xt match '" + name + "'" + (name == "conntrack" || name == "addrtype" ? " with these options" : ""),
                 Unknown::Role::Condition};
}

ct::Expr cmp(const nftnl_expr* e, bool) {
  return ct::Cmp{reg(u32(e, NFTNL_EXPR_CMP_SREG)), ct::CmpOp(u32(e, NFTNL_EXPR_CMP_OP)), data(e, NFTNL_EXPR_CMP_DATA)};
}

ct::Expr bitwise(const nftnl_expr* e, bool) {
  if (has(e, NFTNL_EXPR_BITWISE_OP) && u32(e, NFTNL_EXPR_BITWISE_OP) != NFT_BITWISE_BOOL)
    return Unknown{"a bit shift", Unknown::Role::Load, reg(u32(e, NFTNL_EXPR_BITWISE_DREG))};
  return ct::Bitwise{reg(u32(e, NFTNL_EXPR_BITWISE_SREG)), reg(u32(e, NFTNL_EXPR_BITWISE_DREG)),
                     data(e, NFTNL_EXPR_BITWISE_MASK), data(e, NFTNL_EXPR_BITWISE_XOR)};
}

ct::Expr range(const nftnl_expr* e, bool) {
  return ct::Range{reg(u32(e, NFTNL_EXPR_RANGE_SREG)), u32(e, NFTNL_EXPR_RANGE_OP) == NFT_RANGE_NEQ,
                   data(e, NFTNL_EXPR_RANGE_FROM_DATA), data(e, NFTNL_EXPR_RANGE_TO_DATA)};
}

ct::Expr lookup(const nftnl_expr* e, bool) {
  ct::Lookup l{reg(u32(e, NFTNL_EXPR_LOOKUP_SREG)), str(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET))};
  if (has(e, NFTNL_EXPR_LOOKUP_DREG)) l.dreg = reg(u32(e, NFTNL_EXPR_LOOKUP_DREG));
  l.invert = has(e, NFTNL_EXPR_LOOKUP_FLAGS) && (u32(e, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV);
  return l;
}

ct::Expr immediate(const nftnl_expr* e, bool) {
  ct::Immediate i;
  if (u32(e, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT) {
    i.dreg = reg(u32(e, NFTNL_EXPR_IMM_DREG));
    i.data = data(e, NFTNL_EXPR_IMM_DATA);
  } else {
    i.verdict = verdict_of(int32_t(u32(e, NFTNL_EXPR_IMM_VERDICT)));
    if (has(e, NFTNL_EXPR_IMM_CHAIN)) i.chain = str(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
  }
  return i;
}

ct::Expr fib(const nftnl_expr* e, bool) {
  uint32_t flags = u32(e, NFTNL_EXPR_FIB_FLAGS);
  if (u32(e, NFTNL_EXPR_FIB_RESULT) == NFT_FIB_RESULT_ADDRTYPE &&
      !(flags & (NFTA_FIB_F_IIF | NFTA_FIB_F_OIF | NFTA_FIB_F_MARK)))
    return ct::FibAddrType{(flags & NFTA_FIB_F_DADDR) != 0, reg(u32(e, NFTNL_EXPR_FIB_DREG))};
  return Unknown{"a fib lookup", Unknown::Role::Load, reg(u32(e, NFTNL_EXPR_FIB_DREG))};
}

ct::Expr nft_nat(const nftnl_expr* e, bool) {
  auto kind = u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_DNAT ? ct::NatAction::Kind::Dnat : ct::NatAction::Kind::Snat;
  ct::Expr out = nat(e, kind,
                     {NFTNL_EXPR_NAT_REG_ADDR_MIN, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFTNL_EXPR_NAT_REG_PROTO_MIN,
                      NFTNL_EXPR_NAT_REG_PROTO_MAX, NFTNL_EXPR_NAT_FLAGS});
  if (has(e, NFTNL_EXPR_NAT_FAMILY)) std::get<ct::Nat>(out).action.family = uint8_t(u32(e, NFTNL_EXPR_NAT_FAMILY));
  return out;
}
ct::Expr masq(const nftnl_expr* e, bool) {
  return nat(e, ct::NatAction::Kind::Masquerade,
             {0, 0, NFTNL_EXPR_MASQ_REG_PROTO_MIN, NFTNL_EXPR_MASQ_REG_PROTO_MAX, NFTNL_EXPR_MASQ_FLAGS});
}
ct::Expr redir(const nftnl_expr* e, bool) {
  return nat(e, ct::NatAction::Kind::Redirect,
             {0, 0, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFTNL_EXPR_REDIR_FLAGS});
}
ct::Expr reject(const nftnl_expr*, bool) { return ct::Reject{}; }
ct::Expr byteorder(const nftnl_expr* e, bool) {
  return Unknown{"a byte order conversion", Unknown::Role::Load, reg(u32(e, NFTNL_EXPR_BYTEORDER_DREG))};
}

// One row per expression natc models (nftables' netlink_parsers[]).
using Parser = ct::Expr (*)(const nftnl_expr*, bool v6);
constexpr std::pair<std::string_view, Parser> kParsers[] = {
    {"meta", [](const nftnl_expr* e, bool) { return meta(e); }},
    {"payload", [](const nftnl_expr* e, bool) { return payload(e); }},
    {"cmp", cmp},
    {"bitwise", bitwise},
    {"range", range},
    {"lookup", lookup},
    {"immediate", immediate},
    {"ct", [](const nftnl_expr* e, bool) { return ct_expr(e); }},
    {"fib", fib},
    {"nat", nft_nat},
    {"masq", masq},
    {"redir", redir},
    {"reject", reject},
    {"match", [](const nftnl_expr* e, bool) { return xt_match(e); }},
    {"target", xt_target},
    {"byteorder", byteorder},
};

// Expressions that change or count a packet and let it go on, and ones
// that take it away from the chain.
constexpr std::string_view kNoEffect[] = {"counter", "log", "notrack",      "last",     "objref",
                                          "dynset",  "dup", "flow_offload", "ct_expect"};
constexpr std::string_view kDecides[] = {"queue", "tproxy", "synproxy", "fwd"};

ct::Expr expr(const nftnl_expr* e, bool v6) {
  std::string name = str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
  for (const auto& [n, parse] : kParsers)
    if (n == name) return parse(e, v6);
  auto in = [&](const auto& list) { return std::find(std::begin(list), std::end(list), name) != std::end(list); };
  if (in(kNoEffect)) return Unknown{"expression '" + name + "'", Unknown::Role::NoEffect};
  if (in(kDecides)) return Unknown{"expression '" + name + "'", Unknown::Role::Decides};
  // Anything else may be a condition (limit, quota, socket, ...) or load a
  // register natc cannot follow (exthdr, rt, numgen, ...).
  return Unknown{"expression '" + name + "'", Unknown::Role::Opaque};
}

using netlink::ChainPtr;
using netlink::header;
using netlink::RulePtr;
using netlink::SetPtr;

ct::Hook hook_of(uint32_t h) {
  switch (h) {
    case NF_INET_PRE_ROUTING: return ct::Hook::Prerouting;
    case NF_INET_LOCAL_IN: return ct::Hook::Input;
    case NF_INET_FORWARD: return ct::Hook::Forward;
    case NF_INET_LOCAL_OUT: return ct::Hook::Output;
    case NF_INET_POST_ROUTING: return ct::Hook::Postrouting;
    default: return ct::Hook::Other;
  }
}

ct::Chain chain_of(const nftnl_chain* c) {
  ct::Chain out;
  out.family = family_of(nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY));
  out.table = str(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE));
  out.name = str(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
  if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
    out.hook = hook_of(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM));
    out.priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
    std::string type = str(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
    out.type = type == "nat" ? ct::ChainType::Nat : type == "route" ? ct::ChainType::Route : ct::ChainType::Filter;
    out.policy_drop =
        nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) && nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_DROP;
  }
  return out;
}

ct::Set set_of(const nftnl_set* s) {
  ct::Set out;
  out.family = family_of(nftnl_set_get_u32(s, NFTNL_SET_FAMILY));
  out.table = str(nftnl_set_get_str(s, NFTNL_SET_TABLE));
  out.name = str(nftnl_set_get_str(s, NFTNL_SET_NAME));
  uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
  out.interval = flags & NFT_SET_INTERVAL;
  out.map = flags & NFT_SET_MAP;
  out.vmap = out.map && nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE) == NFT_DATA_VERDICT;
  uint32_t n = 0;
  if (nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT))
    if (auto* p = static_cast<const uint8_t*>(nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &n)))
      out.fields.assign(p, p + std::min<uint32_t>(n, 16));  // NFT_REG32_COUNT fields at most
  return out;
}

Bytes elem_data(nftnl_set_elem* e, uint16_t attr) {
  uint32_t len = 0;
  auto* p = static_cast<const uint8_t*>(nftnl_set_elem_get(e, attr, &len));
  return p ? Bytes(p, p + len) : Bytes{};
}

ct::Element element_of(nftnl_set_elem* e) {
  ct::Element el;
  el.key = elem_data(e, NFTNL_SET_ELEM_KEY);
  el.key_end = elem_data(e, NFTNL_SET_ELEM_KEY_END);
  el.interval_end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
                    (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
  el.data = elem_data(e, NFTNL_SET_ELEM_DATA);
  Bytes ud = elem_data(e, NFTNL_SET_ELEM_USERDATA);
  el.comment =
      netlink::comment_text(netlink::parse_udata(ud.data(), uint32_t(ud.size()))[NFTNL_UDATA_SET_ELEM_COMMENT]);
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
    el.verdict = verdict_of(int32_t(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT)));
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) el.chain = str(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
  }
  return el;
}

// Fills a Ruleset, finding each rule's chain and each element list's set
// by name through indexes built as chains and sets arrive.
class Decoder {
 public:
  void chain(const nlmsghdr* m) {
    ChainPtr c(nftnl_chain_alloc());
    if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return;
    ct::Chain out = chain_of(c.get());
    chains_[{out.family, out.table, out.name}] = rs_.chains.size();
    rs_.chains.push_back(std::move(out));
  }

  void set(const nlmsghdr* m) {
    SetPtr s(nftnl_set_alloc());
    if (nftnl_set_nlmsg_parse(m, s.get()) < 0) return;
    ct::Set out = set_of(s.get());
    sets_[{out.family, out.table, out.name}] = rs_.sets.size();
    rs_.sets.push_back(std::move(out));
  }

  void elements(const nlmsghdr* m) {
    SetPtr s(nftnl_set_alloc());
    if (nftnl_set_elems_nlmsg_parse(m, s.get()) < 0) return;
    auto it =
        sets_.find({family_of(nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY)),
                    str(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE)), str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME))});
    if (it == sets_.end()) return;
    ct::Set& set = rs_.sets[it->second];
    netlink::for_each_elem(s.get(), [&](nftnl_set_elem* e) { set.elements.push_back(element_of(e)); });
  }

  void rule(const nlmsghdr* m) {
    RulePtr r(nftnl_rule_alloc());
    if (nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
    ct::Family fam = family_of(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY));
    auto it = chains_.find(
        {fam, str(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)), str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN))});
    if (it == chains_.end()) return;
    ct::Rule out;
    out.handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
    uint32_t len = 0;
    if (const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len))
      out.comment = netlink::comment_text(netlink::parse_udata(ud, len)[NFTNL_UDATA_RULE_COMMENT]);
    netlink::for_each_expr(r.get(), [&](nftnl_expr* e) { out.exprs.push_back(expr(e, fam == ct::Family::Ip6)); });
    rs_.chains[it->second].rules.push_back(std::move(out));
  }

  ct::Ruleset take() { return std::move(rs_); }

 private:
  using Key = std::tuple<ct::Family, std::string, std::string>;  // family, table, name
  ct::Ruleset rs_;
  std::map<Key, size_t> chains_, sets_;
};

}  // namespace

cotenancy::Ruleset decode_foreign(const Dump& d) {
  // Checked before libnftnl reads them (netlink/validate.h): a malformed
  // message is left out, a foreign expression is read by its name alone.
  auto each = [](const auto& list, uint16_t type, auto&& fn) {
    for (const auto& m : list)
      if (netlink::Readable r(m, type); r) fn(r.header());
  };
  Decoder dec;
  each(d.chains, NFT_MSG_NEWCHAIN, [&](const nlmsghdr* m) { dec.chain(m); });
  each(d.sets, NFT_MSG_NEWSET, [&](const nlmsghdr* m) { dec.set(m); });
  each(d.elements, NFT_MSG_NEWSETELEM, [&](const nlmsghdr* m) { dec.elements(m); });
  each(d.rules, NFT_MSG_NEWRULE, [&](const nlmsghdr* m) { dec.rule(m); });
  return dec.take();
}

}  // namespace natc::kernel
