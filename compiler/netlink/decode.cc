#include "netlink/decode.h"

#include <arpa/inet.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "netlink/types.h"
#include "netlink/udata.h"

namespace natc::netlink {
namespace {

using nft::Family;
using nft::Field;

// Register numbers as the kernel dumps them (NFT_REG_1..4 for 16-byte
// aligned registers, NFT_REG32_xx otherwise) -> 32-bit register index.
uint32_t word_of(uint32_t reg) { return reg < NFT_REG32_00 ? (reg - NFT_REG_1) * 4 : reg - NFT_REG32_00; }

std::optional<std::vector<Field>> fields_of(uint32_t type, uint32_t len, Family* fam) {
  std::vector<Field> out;
  *fam = Family::V4;
  while (type) {
    switch (type & ((1u << kTypeBits) - 1)) {
      case kTypeIpAddr: out.push_back(Field::Daddr); break;
      case kTypeIp6Addr: out.push_back(Field::Daddr), *fam = Family::V6; break;
      case kTypeInetProto: out.push_back(Field::L4Proto); break;
      case kTypeInetService: out.push_back(Field::Dport); break;
      default: return std::nullopt;
    }
    type >>= kTypeBits;
  }
  std::reverse(out.begin(), out.end());
  if (out.empty()) return std::nullopt;
  // Addresses in a key are read back as daddr; the name decides nothing, but
  // a leading address of a two-address key is natc's source (allow_from).
  size_t addrs = std::count(out.begin(), out.end(), Field::Daddr);
  if (addrs == 2) out[0] = Field::Saddr;
  if (key_len(out, *fam) != len) return std::nullopt;
  return out;
}

// The element key's parts, per field, from raw bytes.
std::vector<nft::Part> parts_of(const std::vector<Field>& key, Family fam, const uint8_t* p, const uint8_t* end_p) {
  std::vector<nft::Part> out;
  uint32_t off = 0;
  for (Field f : key) {
    uint32_t n = field_len(f, fam);
    switch (f) {
      case Field::Saddr:
      case Field::Daddr: {
        ir::AddrRange r{{fam}, {fam}};
        std::memcpy(r.first.bytes.data(), p + off, n);
        std::memcpy(r.last.bytes.data(), (end_p ? end_p : p) + off, n);
        out.push_back(r);
        break;
      }
      case Field::L4Proto: out.push_back(ir::Proto(p[off])); break;
      case Field::Dport:
      case Field::Sport: {
        uint16_t v;
        std::memcpy(&v, p + off, 2);
        out.push_back(uint16_t(ntohs(v)));
        break;
      }
    }
    off += key.size() == 1 ? n : (n + 3) & ~3u;
  }
  return out;
}

// --- rules -------------------------------------------------------------------

class RuleDecoder {
 public:
  std::optional<nft::Rule> run(const nftnl_rule* r) {
    for_each_expr(r, [&](nftnl_expr* e) { exprs_.push_back(e); });
    while (ok_ && i_ < exprs_.size()) step();
    if (!ok_ || !regs_.empty() || pending_lookup_) return std::nullopt;
    uint32_t len = 0;
    const void* ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    auto fields = parse_udata(ud, len);
    rule_.comment = comment_text(fields[NFTNL_UDATA_RULE_COMMENT]);
    rule_.pool = fields[kUdataRulePool];
    return std::move(rule_);
  }

 private:
  struct Load {  // what a register holds
    Field field;
    Family family;
  };

  nftnl_expr* peek(size_t ahead = 0) const { return i_ + ahead < exprs_.size() ? exprs_[i_ + ahead] : nullptr; }
  static std::string name(const nftnl_expr* e) {
    return e ? str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)).value_or("") : "";
  }
  static uint32_t u32(const nftnl_expr* e, uint16_t attr) { return nftnl_expr_get_u32(e, attr); }
  // An attribute's bytes; a missing one reads as empty, never as null.
  static const uint8_t* data(const nftnl_expr* e, uint16_t attr, uint32_t* len) {
    static const uint8_t kNothing[1] = {};
    *len = 0;
    auto* p = static_cast<const uint8_t*>(nftnl_expr_get(e, attr, len));
    if (!p) *len = 0;
    return p ? p : kNothing;
  }
  void fail() { ok_ = false; }

  // "meta l4proto tcp" that only guards a following "tcp dport" or a port
  // map is the port's dependency, not a statement of its own.
  std::optional<ir::Proto> l4_guard_;
  std::optional<Family> family_guard_;

  // One row per expression natc writes (nftables' netlink_parsers[]); any
  // other expression makes the rule unknown.
  void step() {
    using Parser = void (RuleDecoder::*)(nftnl_expr*);
    static constexpr std::pair<std::string_view, Parser> kParsers[] = {
        {"meta", &RuleDecoder::meta},       {"payload", &RuleDecoder::payload}, {"cmp", &RuleDecoder::cmp},
        {"bitwise", &RuleDecoder::bitwise}, {"range", &RuleDecoder::range},     {"ct", &RuleDecoder::ct},
        {"fib", &RuleDecoder::fib},         {"lookup", &RuleDecoder::lookup},   {"immediate", &RuleDecoder::immediate},
        {"nat", &RuleDecoder::nat},         {"masq", &RuleDecoder::masq},       {"redir", &RuleDecoder::redir},
        {"notrack", &RuleDecoder::notrack}, {"objref", &RuleDecoder::objref},
    };
    nftnl_expr* e = exprs_[i_++];
    std::string n = name(e);
    for (const auto& [expr, parse] : kParsers)
      if (expr == n) return (this->*parse)(e);
    fail();
  }

  void objref(nftnl_expr* e) {
    flush_l4();
    auto name = str(nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME));
    if (!name || u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE) != NFT_OBJECT_CT_HELPER) return fail();
    rule_.stmts.push_back(nft::HelperSet{*name});
  }

  void notrack(nftnl_expr*) {
    flush_l4();
    rule_.stmts.push_back(nft::Notrack{});
  }

  void masq(nftnl_expr*) {
    flush_l4();
    rule_.stmts.push_back(nft::Masquerade{});
  }

  void redir(nftnl_expr* e) {
    flush_l4();
    nft::Redirect r;
    if (nftnl_expr_is_set(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN)) {
      auto it = imm_.find(word_of(u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN)));
      if (it == imm_.end() || it->second.size() < 2) return fail();
      uint16_t port;
      std::memcpy(&port, it->second.data(), 2);
      r.port = ntohs(port);
      imm_.clear();
    }
    rule_.stmts.push_back(r);
  }

  void flush_l4() {
    if (l4_guard_) rule_.stmts.push_back(nft::L4Proto{*l4_guard_});
    l4_guard_.reset();
  }

  void meta(nftnl_expr* e) {
    uint32_t key = u32(e, NFTNL_EXPR_META_KEY), reg = u32(e, NFTNL_EXPR_META_DREG);
    nftnl_expr* c = peek();
    if (key == NFT_META_L4PROTO && name(c) != "cmp") {  // a concatenation member
      regs_[word_of(reg)] = {Field::L4Proto, Family::V4};
      return;
    }
    if (name(c) != "cmp") return fail();
    ++i_;
    uint32_t len = 0;
    const uint8_t* d = data(c, NFTNL_EXPR_CMP_DATA, &len);
    uint32_t op = u32(c, NFTNL_EXPR_CMP_OP);
    switch (key) {
      case NFT_META_IIFNAME:
      case NFT_META_OIFNAME: {
        flush_l4();
        std::string s(reinterpret_cast<const char*>(d), strnlen(reinterpret_cast<const char*>(d), len));
        if (len < IFNAMSIZ) s += "*";
        rule_.stmts.push_back(nft::IfName{key == NFT_META_OIFNAME, op == NFT_CMP_NEQ, s});
        return;
      }
      case NFT_META_L4PROTO:
        flush_l4();
        if (len != 1 || op != NFT_CMP_EQ) return fail();
        l4_guard_ = ir::Proto(d[0]);
        return;
      case NFT_META_NFPROTO:
        if (len != 1 || op != NFT_CMP_EQ) return fail();
        family_guard_ = d[0] == NFPROTO_IPV6 ? Family::V6 : Family::V4;
        return;
    }
    fail();
  }

  void payload(nftnl_expr* e) {
    uint32_t base = u32(e, NFTNL_EXPR_PAYLOAD_BASE), off = u32(e, NFTNL_EXPR_PAYLOAD_OFFSET),
             len = u32(e, NFTNL_EXPR_PAYLOAD_LEN), reg = word_of(u32(e, NFTNL_EXPR_PAYLOAD_DREG));
    if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == kTcpFlagsOffset && len == 1) return tcp_flags();
    if (base == NFT_PAYLOAD_TRANSPORT_HEADER && (off == 0 || off == 2) && len == 2) {
      regs_[reg] = {off == 2 ? Field::Dport : Field::Sport, Family::V4};
      return;
    }
    if (base != NFT_PAYLOAD_NETWORK_HEADER || !family_guard_) return fail();
    Family f = *family_guard_;
    if (len != addr_len(f)) return fail();
    if (off == addr_offset(f, true))
      regs_[reg] = {Field::Saddr, f};
    else if (off == addr_offset(f, false))
      regs_[reg] = {Field::Daddr, f};
    else
      fail();
  }

  // tcp flags & (fin|syn|rst|ack) != syn, behind its `meta l4proto tcp`.
  void tcp_flags() {
    nftnl_expr* bw = peek();
    if (l4_guard_ != ir::Proto::Tcp || name(bw) != "bitwise") return fail();
    ++i_;
    nftnl_expr* c = peek();
    if (name(c) != "cmp" || u32(c, NFTNL_EXPR_CMP_OP) != NFT_CMP_NEQ) return fail();
    ++i_;
    uint32_t mlen = 0, clen = 0;
    const uint8_t* mask = data(bw, NFTNL_EXPR_BITWISE_MASK, &mlen);
    const uint8_t* value = data(c, NFTNL_EXPR_CMP_DATA, &clen);
    if (mlen != 1 || clen != 1 || mask[0] != kTcpFlagsMask || value[0] != kTcpSyn) return fail();
    l4_guard_.reset();
    rule_.stmts.push_back(nft::TcpNotSyn{});
  }

  // A compare on register 0 ends a single-field match.
  void cmp(nftnl_expr* e) {
    if (regs_.size() != 1 || !regs_.count(0)) return fail();
    Load l = regs_[0];
    regs_.clear();
    uint32_t len = 0;
    const uint8_t* d = data(e, NFTNL_EXPR_CMP_DATA, &len);
    if (u32(e, NFTNL_EXPR_CMP_OP) != NFT_CMP_EQ) return fail();
    if (l.field == Field::Sport) return fail();  // natc never compares a source port
    if (l.field == Field::Dport) return len == 2 ? port(d, d) : fail();
    ir::Addr a{l.family};
    if (len != a.size()) return fail();
    std::memcpy(a.bytes.data(), d, len);
    ir::AddrRange r{a, a};
    if (pending_mask_) {
      r.last = *pending_mask_;  // filled below: network | ~mask
      for (size_t b = 0; b < a.size(); ++b) r.last.bytes[b] = uint8_t(a.bytes[b] | ~pending_mask_->bytes[b]);
      pending_mask_.reset();
    }
    family_guard_.reset();
    rule_.stmts.push_back(nft::AddrMatch{l.family, l.field == Field::Saddr, r});
  }

  void port(const uint8_t* first, const uint8_t* last) {
    if (!l4_guard_) return fail();
    uint16_t a, b;
    std::memcpy(&a, first, 2);
    std::memcpy(&b, last, 2);
    rule_.stmts.push_back(nft::PortMatch{*l4_guard_, {uint16_t(ntohs(a)), uint16_t(ntohs(b))}});
    l4_guard_.reset();
  }

  std::optional<ir::Addr> pending_mask_;

  void bitwise(nftnl_expr* e) {
    uint32_t len = 0;
    const uint8_t* mask = data(e, NFTNL_EXPR_BITWISE_MASK, &len);
    if (regs_.size() == 1 && regs_.count(0) && (regs_[0].field == Field::Saddr || regs_[0].field == Field::Daddr)) {
      ir::Addr m{regs_[0].family};
      if (len != m.size()) return fail();
      if (nftnl_expr* w = peek(); name(w) == "payload" && nftnl_expr_is_set(w, NFTNL_EXPR_PAYLOAD_SREG))
        return prefix_rewrite(e, w, mask);
      std::memcpy(m.bytes.data(), mask, len);
      pending_mask_ = m;
      return;
    }
    if (!pending_ct_) return fail();
    uint32_t bits;
    if (len != 4) return fail();
    std::memcpy(&bits, mask, 4);
    nftnl_expr* c = peek();
    if (name(c) != "cmp" || u32(c, NFTNL_EXPR_CMP_OP) != NFT_CMP_NEQ) return fail();
    ++i_;
    uint32_t key = *pending_ct_;
    pending_ct_.reset();
    if (key == NFT_CT_STATE && bits == (NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED)))
      rule_.stmts.push_back(nft::CtEstablished{});
    else if (key == NFT_CT_STATE && bits == NF_CT_STATE_INVALID_BIT)
      rule_.stmts.push_back(nft::CtInvalid{});
    else if (key == NFT_CT_STATUS && bits == IPS_DST_NAT)
      rule_.stmts.push_back(nft::CtDnat{});
    else
      fail();
  }

  // load, bitwise (keep the host bits, put the prefix in), write back with
  // the transport checksum over the pseudo-header: a PrefixRewrite, exactly.
  void prefix_rewrite(nftnl_expr* bw, nftnl_expr* w, const uint8_t* mask) {
    ++i_;
    Load l = regs_[0];
    regs_.clear();
    family_guard_.reset();
    ir::Addr m{l.family}, x{l.family};
    uint32_t xlen = 0;
    const uint8_t* xor_ = data(bw, NFTNL_EXPR_BITWISE_XOR, &xlen);
    if (xlen != x.size()) return fail();
    std::memcpy(m.bytes.data(), mask, m.size());
    std::memcpy(x.bytes.data(), xor_, xlen);
    ir::Prefix p{x, 0};
    while (p.len < m.size() * 8 && !(m.bytes[p.len / 8] & (0x80 >> (p.len % 8)))) ++p.len;
    if (nft::host_mask(p) != m) return fail();
    for (size_t b = 0; b < x.size(); ++b)
      if (x.bytes[b] & m.bytes[b]) return fail();
    if (u32(w, NFTNL_EXPR_PAYLOAD_SREG) != NFT_REG_1 || u32(w, NFTNL_EXPR_PAYLOAD_BASE) != NFT_PAYLOAD_NETWORK_HEADER ||
        u32(w, NFTNL_EXPR_PAYLOAD_OFFSET) != addr_offset(l.family, l.field == Field::Saddr) ||
        u32(w, NFTNL_EXPR_PAYLOAD_LEN) != x.size() || u32(w, NFTNL_EXPR_PAYLOAD_CSUM_TYPE) != NFT_PAYLOAD_CSUM_NONE ||
        u32(w, NFTNL_EXPR_PAYLOAD_FLAGS) != NFT_PAYLOAD_L4CSUM_PSEUDOHDR)
      return fail();
    rule_.stmts.push_back(nft::PrefixRewrite{l.field == Field::Saddr, p});
  }

  void range(nftnl_expr* e) {
    if (regs_.size() != 1 || !regs_.count(0)) return fail();
    Load l = regs_[0];
    regs_.clear();
    uint32_t n1 = 0, n2 = 0;
    const uint8_t* from = data(e, NFTNL_EXPR_RANGE_FROM_DATA, &n1);
    const uint8_t* to = data(e, NFTNL_EXPR_RANGE_TO_DATA, &n2);
    if (l.field == Field::Sport) return fail();
    if (l.field == Field::Dport) return n1 == 2 && n2 == 2 ? port(from, to) : fail();
    ir::AddrRange r{{l.family}, {l.family}};
    if (n1 != r.first.size() || n2 != n1) return fail();
    std::memcpy(r.first.bytes.data(), from, n1);
    std::memcpy(r.last.bytes.data(), to, n2);
    family_guard_.reset();
    rule_.stmts.push_back(nft::AddrMatch{l.family, l.field == Field::Saddr, r});
  }

  std::optional<uint32_t> pending_ct_;
  void ct(nftnl_expr* e) {
    flush_l4();
    pending_ct_ = u32(e, NFTNL_EXPR_CT_KEY);
  }

  void fib(nftnl_expr* e) {
    flush_l4();
    nftnl_expr* c = peek();
    uint32_t len = 0;
    if (u32(e, NFTNL_EXPR_FIB_FLAGS) != NFTA_FIB_F_DADDR || name(c) != "cmp" || u32(c, NFTNL_EXPR_CMP_OP) != NFT_CMP_EQ)
      return fail();
    ++i_;
    const uint8_t* d = data(c, NFTNL_EXPR_CMP_DATA, &len);
    if (u32(e, NFTNL_EXPR_FIB_RESULT) == NFT_FIB_RESULT_OIFNAME) {
      if (len != IFNAMSIZ) return fail();
      rule_.stmts.push_back(
          nft::FibOif{std::string(reinterpret_cast<const char*>(d), strnlen(reinterpret_cast<const char*>(d), len))});
      return;
    }
    if (u32(e, NFTNL_EXPR_FIB_RESULT) != NFT_FIB_RESULT_ADDRTYPE) return fail();
    uint32_t v;
    if (len != 4) return fail();
    std::memcpy(&v, d, 4);
    if (v != RTN_LOCAL) return fail();
    rule_.stmts.push_back(nft::FibLocal{});
  }

  std::optional<nft::Lookup> pending_lookup_;
  void lookup(nftnl_expr* e) {
    nft::Lookup l;
    auto set = str(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
    if (!set) return fail();
    l.set = *set;
    // The key: the loaded registers, in order from the lookup's source.
    uint32_t word = word_of(u32(e, NFTNL_EXPR_LOOKUP_SREG));
    l.family = Family::V4;
    while (regs_.count(word)) {
      Load ld = regs_[word];
      regs_.erase(word);
      l.key.push_back(ld.field);
      if (ld.field == Field::Saddr || ld.field == Field::Daddr) l.family = ld.family;
      word += (field_len(ld.field, ld.family) + 3) / 4;
    }
    if (!regs_.empty() || l.key.empty()) return fail();
    family_guard_.reset();
    bool map = nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG);
    if (map) {
      // A port map's "tcp dport" carries its protocol guard along.
      if (l4_guard_ && std::find(l.key.begin(), l.key.end(), Field::Dport) != l.key.end()) {
        l.transport = l4_guard_;
        l4_guard_.reset();
      }
      pending_lookup_ = std::move(l);
      return;
    }
    flush_l4();
    if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) && u32(e, NFTNL_EXPR_LOOKUP_FLAGS) != 0) return fail();
    rule_.stmts.push_back(std::move(l));
  }

  std::map<uint32_t, std::vector<uint8_t>> imm_;
  void immediate(nftnl_expr* e) {
    uint32_t reg = u32(e, NFTNL_EXPR_IMM_DREG);
    if (reg == NFT_REG_VERDICT) {
      flush_l4();
      uint32_t v = u32(e, NFTNL_EXPR_IMM_VERDICT);
      if (v == NF_ACCEPT)
        rule_.stmts.push_back(nft::Accept{});
      else if (v == NF_DROP)
        rule_.stmts.push_back(nft::Drop{});
      else
        fail();
      return;
    }
    uint32_t len = 0;
    const uint8_t* d = data(e, NFTNL_EXPR_IMM_DATA, &len);
    if (!d) return fail();
    imm_[word_of(reg)] = std::vector<uint8_t>(d, d + len);
  }

  void nat(nftnl_expr* e) {
    nft::Nat n;
    n.source = u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_SNAT;
    n.family = u32(e, NFTNL_EXPR_NAT_FAMILY) == NFPROTO_IPV6 ? Family::V6 : Family::V4;
    uint32_t flags = nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS) ? u32(e, NFTNL_EXPR_NAT_FLAGS) : 0;
    n.persistent = flags & NF_NAT_RANGE_PERSISTENT;
    n.fully_random = flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY;
    if (pending_lookup_) {
      n.map = std::move(pending_lookup_);
      pending_lookup_.reset();
      n.map->family = n.family;
      rule_.stmts.push_back(std::move(n));
      return;
    }
    flush_l4();
    auto reg = [&](uint16_t attr) -> const std::vector<uint8_t>* {
      if (!nftnl_expr_is_set(e, attr)) return nullptr;
      auto it = imm_.find(word_of(u32(e, attr)));
      return it == imm_.end() ? nullptr : &it->second;
    };
    auto* amin = reg(NFTNL_EXPR_NAT_REG_ADDR_MIN);
    auto* amax = reg(NFTNL_EXPR_NAT_REG_ADDR_MAX);
    ir::Addr first{n.family}, last{n.family};
    if (!amin || amin->size() != first.size()) return fail();
    std::memcpy(first.bytes.data(), amin->data(), first.size());
    last = first;
    if (amax && amax->size() == last.size()) std::memcpy(last.bytes.data(), amax->data(), last.size());
    n.addr = {first, last};
    auto* pmin = reg(NFTNL_EXPR_NAT_REG_PROTO_MIN);
    auto* pmax = reg(NFTNL_EXPR_NAT_REG_PROTO_MAX);
    if (pmin && pmin->size() >= 2) {
      uint16_t a, b;
      std::memcpy(&a, pmin->data(), 2);
      std::memcpy(&b, (pmax && pmax->size() >= 2 ? pmax : pmin)->data(), 2);
      n.ports = ir::PortRange{uint16_t(ntohs(a)), uint16_t(ntohs(b))};
    }
    imm_.clear();
    rule_.stmts.push_back(std::move(n));
  }

  std::vector<nftnl_expr*> exprs_;
  size_t i_ = 0;
  bool ok_ = true;
  std::map<uint32_t, Load> regs_;
  nft::Rule rule_;
};

}  // namespace

std::optional<nft::Chain> decode_chain(const nftnl_chain* c) {
  auto name = str(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
  auto type = str(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
  if (!name || !type || !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) return std::nullopt;
  nft::Chain ch;
  ch.name = *name;
  uint32_t hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
  if (hook == NF_INET_PRE_ROUTING)
    ch.hook = *type == "nat" ? nft::Hook::Prerouting : nft::Hook::Raw;
  else if (hook == NF_INET_POST_ROUTING)
    ch.hook = nft::Hook::Postrouting;
  else if (hook == NF_INET_FORWARD)
    ch.hook = nft::Hook::Forward;
  else if (hook == NF_INET_LOCAL_OUT)
    ch.hook = nft::Hook::Output;
  else
    return std::nullopt;
  ch.drop_policy = nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) && nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_DROP;
  if ((*type == "nat") != ch.nat() || nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != ch.priority()) return std::nullopt;
  return ch;
}

namespace {

// Set expressions: natc only ever attaches a counter.
struct SetExprs {
  bool counter = false, other = false;
};

SetExprs set_exprs(const nftnl_set* s) {
  SetExprs exprs;
  nftnl_set_expr_foreach(
      s,
      [](nftnl_expr* e, void* data) -> int {
        auto* x = static_cast<SetExprs*>(data);
        (str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) == "counter" ? x->counter : x->other) = true;
        return 0;
      },
      &exprs);
  return exprs;
}

// What the set is for and its exact key, from natc's userdata. Without it
// (a set natc did not write) the role is Unknown and the key as its type
// says, addresses read as destinations.
void role_and_key(const nftnl_set* s, nft::Set& out) {
  uint32_t len = 0;
  const void* ud = nftnl_set_is_set(s, NFTNL_SET_USERDATA) ? nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len) : nullptr;
  auto fields = parse_udata(ud, len);
  const std::string& role = fields[kUdataSetRole];
  const std::string& key = fields[kUdataSetKey];
  if (role.size() != 1 || uint8_t(role[0]) > uint8_t(nft::Role::NptAccept) || key.size() != out.key.size()) return;
  std::vector<Field> exact;
  for (size_t i = 0; i < key.size(); ++i) {
    auto f = Field(uint8_t(key[i]));
    bool addr = f == Field::Saddr || f == Field::Daddr,
         was_addr = out.key[i] == Field::Saddr || out.key[i] == Field::Daddr;
    bool port = f == Field::Dport || f == Field::Sport,
         was_port = out.key[i] == Field::Dport || out.key[i] == Field::Sport;
    if (uint8_t(f) > uint8_t(Field::Sport) || addr != was_addr || port != was_port) return;  // not the type's shape
    exact.push_back(f);
  }
  out.key = std::move(exact);
  out.role = nft::Role(uint8_t(role[0]));
}

}  // namespace

std::optional<nft::Set> decode_set(const nftnl_set* s) {
  uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
  auto name = str(nftnl_set_get_str(s, NFTNL_SET_NAME));
  if (!name || flags & (NFT_SET_ANONYMOUS | NFT_SET_EVAL | NFT_SET_OBJECT | NFT_SET_TIMEOUT)) return std::nullopt;
  nft::Set out;
  out.name = *name;
  out.interval = flags & NFT_SET_INTERVAL;
  SetExprs exprs = set_exprs(s);
  if (exprs.other) return std::nullopt;
  out.counter = exprs.counter;
  auto key = fields_of(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), &out.family);
  if (!key) return std::nullopt;
  out.key = *key;
  role_and_key(s, out);
  if (flags & NFT_SET_MAP) {
    uint32_t t = nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE);
    uint32_t addr = out.family == Family::V4 ? kTypeIpAddr : kTypeIp6Addr;
    if (t == addr)
      out.data = {nft::Data::Addr};
    else if (t == (addr << kTypeBits | kTypeInetService))
      out.data = {nft::Data::Addr, nft::Data::Port};
    else
      return std::nullopt;
    if (data_len(out.data, out.family) != nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN)) return std::nullopt;
  }
  return out;
}

namespace {

// One element as the message carries it.
struct RawElement {
  std::vector<uint8_t> key, key_end, data;
  bool end = false;  // an rbtree interval's end
  std::string entry;
  std::optional<nft::Counter> counter;
};

std::vector<uint8_t> elem_bytes(nftnl_set_elem* e, uint16_t attr) {
  uint32_t len = 0;
  auto* p = nftnl_set_elem_is_set(e, attr) ? static_cast<const uint8_t*>(nftnl_set_elem_get(e, attr, &len)) : nullptr;
  return p ? std::vector<uint8_t>(p, p + len) : std::vector<uint8_t>{};
}

RawElement raw_element(nftnl_set_elem* e) {
  RawElement r;
  r.key = elem_bytes(e, NFTNL_SET_ELEM_KEY);
  r.key_end = elem_bytes(e, NFTNL_SET_ELEM_KEY_END);
  r.data = elem_bytes(e, NFTNL_SET_ELEM_DATA);
  r.end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
          (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
  std::vector<uint8_t> ud = elem_bytes(e, NFTNL_SET_ELEM_USERDATA);
  r.entry = comment_text(parse_udata(ud.data(), uint32_t(ud.size()))[NFTNL_UDATA_SET_ELEM_COMMENT]);
  nftnl_set_elem_expr_foreach(
      e,
      [](nftnl_expr* x, void* data) -> int {
        if (str(nftnl_expr_get_str(x, NFTNL_EXPR_NAME)) == "counter")
          *static_cast<std::optional<nft::Counter>*>(data) =
              nft::Counter{nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS), nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES)};
        return 0;
      },
      &r.counter);
  return r;
}

}  // namespace

bool decode_elements(const nftnl_set* elems, nft::Set& set) {
  using Raw = RawElement;
  std::vector<Raw> raw;
  for_each_elem(elems, [&](nftnl_set_elem* e) { raw.push_back(raw_element(e)); });
  uint32_t klen = key_len(set.key, set.family);
  std::vector<nft::Data> data_fields = set.data;
  std::vector<Field> data_as_key;
  data_as_key.reserve(data_fields.size());
  for (nft::Data d : data_fields) data_as_key.push_back(d == nft::Data::Addr ? Field::Daddr : Field::Dport);
  auto make = [&](const Raw& r, const uint8_t* end) {
    nft::Element el{parts_of(set.key, set.family, r.key.data(), end), {}, r.entry, r.counter};
    if (set.is_map()) {
      if (r.data.size() != data_len(set.data, set.family)) return false;
      el.data = parts_of(data_as_key, set.family, r.data.data(), nullptr);
    }
    set.elements.push_back(std::move(el));
    return true;
  };
  if (!(set.interval && set.key.size() == 1)) {
    for (const Raw& r : raw) {
      if (r.key.size() != klen || (!r.key_end.empty() && r.key_end.size() != klen)) return false;
      if (!make(r, r.key_end.empty() ? nullptr : r.key_end.data())) return false;
    }
    return true;
  }
  // rbtree: sort by key; each start runs to the next end element, minus one.
  std::stable_sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) {
    return a.key != b.key ? a.key < b.key : a.end > b.end;  // an end before a start at one key
  });
  for (size_t i = 0; i < raw.size(); ++i) {
    const Raw& r = raw[i];
    if (r.key.size() != klen) return false;
    if (r.end) continue;
    ir::Addr last{set.family};
    last.bytes.fill(0xff);
    size_t j = i + 1;
    while (j < raw.size() && !raw[j].end) ++j;
    if (j < raw.size()) {
      ir::Addr end{set.family};
      std::memcpy(end.bytes.data(), raw[j].key.data(), klen);
      // end - 1
      for (size_t b = klen; b-- > 0;)
        if (end.bytes[b]-- != 0) break;
      last = end;
    }
    for (size_t b = klen; b < last.bytes.size(); ++b) last.bytes[b] = 0;
    std::vector<uint8_t> last_bytes(last.bytes.begin(), last.bytes.begin() + klen);
    if (!make(r, last_bytes.data())) return false;
  }
  return true;
}

std::optional<nft::Rule> decode_rule(const nftnl_rule* r) { return RuleDecoder().run(r); }

std::optional<nft::CtHelper> decode_helper(nftnl_obj* o) {
  if (!nftnl_obj_is_set(o, NFTNL_OBJ_TYPE) || nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) != NFT_OBJECT_CT_HELPER)
    return std::nullopt;
  auto name = str(nftnl_obj_get_str(o, NFTNL_OBJ_NAME));
  auto type = str(nftnl_obj_get_str(o, NFTNL_OBJ_CT_HELPER_NAME));
  if (!name || !type || !nftnl_obj_is_set(o, NFTNL_OBJ_CT_HELPER_L4PROTO)) return std::nullopt;
  uint8_t proto = nftnl_obj_get_u8(o, NFTNL_OBJ_CT_HELPER_L4PROTO);
  if (proto != uint8_t(ir::Proto::Tcp) && proto != uint8_t(ir::Proto::Udp)) return std::nullopt;
  // natc sets no l3proto; the kernel reports the table's family then.
  nft::CtHelper h{*name, *type, ir::Proto(proto), ""};
  if (nftnl_obj_is_set(o, NFTNL_OBJ_USERDATA)) {
    uint32_t len = 0;
    const void* d = nftnl_obj_get_data(o, NFTNL_OBJ_USERDATA, &len);
    auto ud = parse_udata(d, len);
    if (auto it = ud.find(0); it != ud.end()) h.entry = comment_text(it->second);
  }
  return h;
}

}  // namespace natc::netlink
