#include "netlink/encode.h"

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

#include "base/overload.h"
#include "netlink/types.h"
#include "netlink/udata.h"

namespace natc::netlink {
namespace {

using nft::Family;
using nft::Field;

// --- set keys ----------------------------------------------------------------

// An element key or value: each field in its own 32-bit registers.
struct Bytes {
  uint8_t data[64] = {};
  uint32_t len = 0;
  void put(const void* p, uint32_t n) {
    std::memcpy(data + len, p, n);
    len += (n + 3) & ~3u;
  }
};

void put_part(Bytes& b, const nft::Part& p, bool last_of_range) {
  std::visit(base::Overload{[&](const ir::AddrRange& r) {
                              const ir::Addr& a = last_of_range ? r.last : r.first;
                              b.put(a.bytes.data(), uint32_t(a.size()));
                            },
                            [&](ir::Proto proto) {
                              uint8_t v = uint8_t(proto);
                              b.put(&v, 1);
                            },
                            [&](uint16_t port) {
                              uint16_t v = htons(port);
                              b.put(&v, 2);
                            }},
             p);
}

Bytes key(const std::vector<nft::Part>& parts, bool end) {
  Bytes b;
  for (const nft::Part& p : parts) put_part(b, p, end);
  return b;
}

// An element with its key (and, for concatenated ranges, its key's end),
// its value in a map, and its spec entry's name.
nftnl_set_elem* new_element(const nft::Set& set, const nft::Element& e, bool key_end) {
  nftnl_set_elem* el = nftnl_set_elem_alloc();
  Bytes k = key(e.key, false);
  nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, k.data, k.len);
  if (key_end) {
    Bytes end = key(e.key, true);
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, end.data, end.len);
  }
  if (set.is_map()) {
    Bytes d = key(e.data, false);
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, d.data, d.len);
  }
  UdataWriter ud;
  ud.put_comment(NFTNL_UDATA_SET_ELEM_COMMENT, e.entry);
  if (!ud.empty()) nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, ud.bytes().data(), uint32_t(ud.bytes().size()));
  return el;
}

// Interval sets without concatenation use the rbtree backend: a start
// element per range and an end element (flag INTERVAL_END) one past it.
void add_rbtree_elements(nftnl_set* s, const nft::Set& set, std::span<const nft::Element> elements,
                         std::vector<std::string>* nests) {
  for (const nft::Element& e : elements) {
    nftnl_set_elem_add(s, new_element(set, e, false));
    if (nests) nests->push_back(e.entry);
    ir::Addr after = std::get<ir::AddrRange>(e.key[0]).last;
    if (!base::next(&after)) continue;  // the range runs to the top: no end needed
    if (nests) nests->push_back(e.entry);
    nftnl_set_elem* end = nftnl_set_elem_alloc();
    nftnl_set_elem_set(end, NFTNL_SET_ELEM_KEY, after.bytes.data(), uint32_t(after.size()));
    nftnl_set_elem_set_u32(end, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    nftnl_set_elem_add(s, end);
  }
}

// --- rules -------------------------------------------------------------------

// 32-bit register n (NFT_REG32_00 + n): fields of a concatenation sit in
// consecutive registers, 4 bytes each, 16 for an IPv6 address.
uint32_t reg32(uint32_t word) { return NFT_REG32_00 + word; }

class RuleEncoder {
 public:
  explicit RuleEncoder(nftnl_rule* r) : r_(r) {}

  void stmt(const nft::Stmt& s) {
    std::visit(base::Overload{
                   [&](const nft::IfName& m) { ifname(m); },
                   [&](const nft::L4Proto& m) { l4proto(m.proto); },
                   [&](const nft::AddrMatch& m) { addr_match(m); },
                   [&](const nft::PortMatch& m) { port_match(m); },
                   [&](const nft::CtEstablished&) {
                     ct_bits(NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
                   },
                   [&](const nft::CtDnat&) { ct_bits(NFT_CT_STATUS, IPS_DST_NAT); },
                   [&](const nft::CtInvalid&) { ct_bits(NFT_CT_STATE, NF_CT_STATE_INVALID_BIT); },
                   [&](const nft::TcpNotSyn&) { tcp_not_syn(); },
                   [&](const nft::Drop&) { verdict(NF_DROP); },
                   [&](const nft::FibLocal&) { fib_local(); },
                   [&](const nft::Lookup& l) { lookup(l, false); },
                   [&](const nft::Accept&) { verdict(NF_ACCEPT); },
                   [&](const nft::Masquerade&) { add(nftnl_expr_alloc("masq")); },
                   [&](const nft::Redirect& r) { redirect(r); },
                   [&](const nft::Nat& n) { nat(n); },
                   [&](const nft::FibOif& f) { fib_oif(f); },
                   [&](const nft::PrefixRewrite& r) { prefix_rewrite(r); },
                   [&](const nft::Notrack&) { add(nftnl_expr_alloc("notrack")); },
                   [&](const nft::HelperSet& h) {
                     nftnl_expr* e = add(nftnl_expr_alloc("objref"));
                     nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_CT_HELPER);
                     nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, h.name.c_str());
                   },
               },
               s);
  }

 private:
  nftnl_expr* add(nftnl_expr* e) {
    nftnl_rule_add_expr(r_, e);
    return e;
  }
  void meta(uint32_t key, uint32_t dreg) {
    nftnl_expr* e = add(nftnl_expr_alloc("meta"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
  }
  void payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
    nftnl_expr* e = add(nftnl_expr_alloc("payload"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
  }
  void cmp(uint32_t op, const void* data, uint32_t len) {
    nftnl_expr* e = add(nftnl_expr_alloc("cmp"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  }
  void cmp_u8(uint8_t v) { cmp(NFT_CMP_EQ, &v, 1); }
  void nfproto(Family f) {
    meta(NFT_META_NFPROTO, NFT_REG_1);
    cmp_u8(f == Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
  }
  void l4proto(ir::Proto p) {
    meta(NFT_META_L4PROTO, NFT_REG_1);
    cmp_u8(uint8_t(p));
  }
  void ifname(const nft::IfName& m) {
    meta(m.out ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_REG_1);
    // The kernel compares IFNAMSIZ bytes, NUL-padded; a wildcard ("ppp*")
    // compares only the prefix before its '*'.
    char buf[IFNAMSIZ] = {};
    bool wildcard = !m.name.empty() && m.name.back() == '*';
    size_t n = std::min<size_t>(m.name.size() - (wildcard ? 1 : 0), IFNAMSIZ - 1);
    m.name.copy(buf, n);
    uint32_t len = wildcard ? uint32_t(n) : IFNAMSIZ;
    cmp(m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, buf, len);
  }
  void addr_match(const nft::AddrMatch& m) {
    nfproto(m.family);
    const ir::AddrRange& r = m.range;
    uint32_t len = uint32_t(r.first.size());
    uint32_t offset = addr_offset(m.family, m.source);
    payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len, NFT_REG_1);
    auto prefix = r.as_prefix();
    if (r.first == r.last) {
      cmp(NFT_CMP_EQ, r.first.bytes.data(), len);
    } else if (prefix) {
      // addr & mask == network: how nft stores a prefix, printed back as one.
      ir::Addr mask{r.first.family};
      for (uint32_t bit = 0; bit < prefix->len; ++bit) mask.bytes[bit / 8] |= uint8_t(0x80 >> (bit % 8));
      ir::Addr zero{r.first.family};
      nftnl_expr* e = add(nftnl_expr_alloc("bitwise"));
      nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
      nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.bytes.data(), len);
      nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.bytes.data(), len);
      cmp(NFT_CMP_EQ, r.first.bytes.data(), len);
    } else {
      nftnl_expr* e = add(nftnl_expr_alloc("range"));
      nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
      nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, r.first.bytes.data(), len);
      nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, r.last.bytes.data(), len);
    }
  }
  void port_match(const nft::PortMatch& m) {
    l4proto(m.proto);
    payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
    uint16_t first = htons(m.ports.first), last = htons(m.ports.last);
    if (m.ports.first == m.ports.last) {
      cmp(NFT_CMP_EQ, &first, 2);
      return;
    }
    nftnl_expr* e = add(nftnl_expr_alloc("range"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &first, 2);
    nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &last, 2);
  }
  // Register 1 &= mask (`len` bytes; the xor of nft's bitwise is zero).
  void mask_reg(const void* mask, uint32_t len) {
    const uint32_t zero = 0;
    nftnl_expr* bw = add(nftnl_expr_alloc("bitwise"));
    nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, &zero, len);
  }
  void ct_bits(uint32_t key, uint32_t mask) {
    nftnl_expr* ct = add(nftnl_expr_alloc("ct"));
    nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    mask_reg(&mask, 4);
    uint32_t zero = 0;
    cmp(NFT_CMP_NEQ, &zero, 4);
  }
  // As nft writes it: the protocol, then the flags byte masked and compared.
  void tcp_not_syn() {
    l4proto(ir::Proto::Tcp);
    payload(NFT_PAYLOAD_TRANSPORT_HEADER, kTcpFlagsOffset, 1, NFT_REG_1);
    uint8_t mask = kTcpFlagsMask, syn = kTcpSyn;
    mask_reg(&mask, 1);
    cmp(NFT_CMP_NEQ, &syn, 1);
  }
  void fib_oif(const nft::FibOif& f) {
    nftnl_expr* e = add(nftnl_expr_alloc("fib"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIFNAME);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    char buf[IFNAMSIZ] = {};
    f.name.copy(buf, std::min<size_t>(f.name.size(), IFNAMSIZ - 1));
    cmp(NFT_CMP_EQ, buf, IFNAMSIZ);
  }
  // Load the address, keep its host bits, put the new prefix in, write it
  // back; the kernel updates the transport checksum over the pseudo-header.
  void prefix_rewrite(const nft::PrefixRewrite& r) {
    Family f = r.to.addr.family;
    uint32_t len = addr_len(f), offset = addr_offset(f, r.source);
    nfproto(f);
    payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len, NFT_REG_1);
    ir::Addr mask = nft::host_mask(r.to);
    nftnl_expr* bw = add(nftnl_expr_alloc("bitwise"));
    nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, mask.bytes.data(), len);
    nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, r.to.addr.bytes.data(), len);
    nftnl_expr* w = add(nftnl_expr_alloc("payload"));
    nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
    nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_NONE);
    nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_FLAGS, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
  }
  void fib_local() {
    nftnl_expr* e = add(nftnl_expr_alloc("fib"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    uint32_t local = RTN_LOCAL;
    cmp(NFT_CMP_EQ, &local, 4);
  }
  void verdict(int v) {
    nftnl_expr* e = add(nftnl_expr_alloc("immediate"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, uint32_t(v));
  }
  // Loads the key fields into consecutive registers and looks them up;
  // with `map`, the value lands in registers from NFT_REG32_00 on.
  void lookup(const nft::Lookup& l, bool map) {
    if (l.transport) l4proto(*l.transport);
    bool needs_family =
        std::any_of(l.key.begin(), l.key.end(), [](Field f) { return f == Field::Saddr || f == Field::Daddr; });
    if (needs_family) nfproto(l.family);
    uint32_t word = 0;
    for (Field f : l.key) {
      switch (f) {
        case Field::Saddr:
        case Field::Daddr:
          payload(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(l.family, f == Field::Saddr), addr_len(l.family),
                  reg32(word));
          word += addr_len(l.family) / 4;
          break;
        case Field::L4Proto: meta(NFT_META_L4PROTO, reg32(word++)); break;
        case Field::Dport: payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg32(word++)); break;
        case Field::Sport: payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, reg32(word++)); break;
      }
    }
    nftnl_expr* e = add(nftnl_expr_alloc("lookup"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, reg32(0));
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, l.set.c_str());
    if (map) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, reg32(0));
  }
  void immediate(uint32_t reg, const void* data, uint32_t len) {
    nftnl_expr* e = add(nftnl_expr_alloc("immediate"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
  }
  // As nft writes it: the port, if any, in a register named as proto_min.
  void redirect(const nft::Redirect& r) {
    uint32_t reg = 0;
    if (r.port) {
      uint16_t port = htons(r.port);
      reg = reg32(0);
      immediate(reg, &port, 2);
    }
    nftnl_expr* e = add(nftnl_expr_alloc("redir"));
    if (reg) nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, reg);
  }
  void nat(const nft::Nat& n) {
    uint32_t alen = addr_len(n.family) / 4;
    uint32_t addr_min = reg32(0), addr_max = reg32(0), proto_min = 0, proto_max = 0;
    if (n.map) {
      lookup(*n.map, true);
      // A DNAT map's value is address . port; an SNAT map's an address.
      if (n.map->transport) proto_min = proto_max = reg32(alen);
    } else {
      immediate(addr_min, n.addr.first.bytes.data(), alen * 4);
      addr_max = reg32(alen);
      immediate(addr_max, n.addr.last.bytes.data(), alen * 4);
      if (n.ports) {
        uint16_t first = htons(n.ports->first), last = htons(n.ports->last);
        proto_min = reg32(2 * alen);
        proto_max = reg32(2 * alen + 1);
        immediate(proto_min, &first, 2);
        immediate(proto_max, &last, 2);
      }
    }
    nftnl_expr* e = add(nftnl_expr_alloc("nat"));
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, n.source ? NFT_NAT_SNAT : NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, n.family == Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_min);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, addr_max);
    uint32_t flags = NF_NAT_RANGE_MAP_IPS;
    if (proto_min) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_min);
      nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, proto_max);
      flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    }
    if (n.persistent) flags |= NF_NAT_RANGE_PERSISTENT;
    if (n.fully_random) flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
  }

  nftnl_rule* r_;
};

}  // namespace

TablePtr encode_table() {
  TablePtr t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, std::string(nft::kTable).c_str());
  return t;
}

ChainPtr encode_chain(const nft::Chain& c) {
  ChainPtr ch(nftnl_chain_alloc());
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, std::string(nft::kTable).c_str());
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, hook_number(c.hook));
  nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.priority());
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, c.nat() ? "nat" : "filter");
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, c.drop_policy ? NF_DROP : NF_ACCEPT);
  return ch;
}

SetPtr encode_set(const nft::Set& s, uint32_t id) {
  SetPtr set(nftnl_set_alloc());
  nftnl_set* p = set.get();
  nftnl_set_set_u32(p, NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(p, NFTNL_SET_TABLE, std::string(nft::kTable).c_str());
  nftnl_set_set_str(p, NFTNL_SET_NAME, s.name.c_str());
  nftnl_set_set_u32(p, NFTNL_SET_ID, id);
  uint32_t flags = 0;
  if (s.is_map()) flags |= NFT_SET_MAP;
  if (s.interval) flags |= NFT_SET_INTERVAL;
  bool concat = s.key.size() > 1;
  if (concat && s.interval) flags |= NFT_SET_CONCAT;
  nftnl_set_set_u32(p, NFTNL_SET_FLAGS, flags);
  nftnl_set_set_u32(p, NFTNL_SET_KEY_TYPE, key_type(s.key, s.family));
  nftnl_set_set_u32(p, NFTNL_SET_KEY_LEN, key_len(s.key, s.family));
  if (concat && s.interval) {
    uint8_t lens[NFT_REG32_COUNT] = {};
    for (size_t i = 0; i < s.key.size(); ++i) lens[i] = uint8_t(field_len(s.key[i], s.family));
    nftnl_set_set_data(p, NFTNL_SET_DESC_CONCAT, lens, uint32_t(s.key.size()));
  }
  if (s.is_map()) {
    nftnl_set_set_u32(p, NFTNL_SET_DATA_TYPE, data_type_id(s.data, s.family));
    nftnl_set_set_u32(p, NFTNL_SET_DATA_LEN, data_len(s.data, s.family));
  }
  if (s.counter) nftnl_set_add_expr(p, nftnl_expr_alloc("counter"));
  std::string fields;
  for (Field f : s.key) fields += char(f);
  UdataWriter ud;
  ud.put(kUdataSetRole, std::string(1, char(s.role))).put(kUdataSetKey, fields);
  nftnl_set_set_data(p, NFTNL_SET_USERDATA, ud.bytes().data(), uint32_t(ud.bytes().size()));
  return set;
}

SetPtr encode_elements(const nft::Set& s, std::span<const nft::Element> elements, std::vector<std::string>* nests) {
  SetPtr set(nftnl_set_alloc());
  nftnl_set* p = set.get();
  nftnl_set_set_u32(p, NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(p, NFTNL_SET_TABLE, std::string(nft::kTable).c_str());
  nftnl_set_set_str(p, NFTNL_SET_NAME, s.name.c_str());
  if (s.interval && s.key.size() == 1) {
    add_rbtree_elements(p, s, elements, nests);
    return set;
  }
  // Concatenated ranges carry their end in the element itself.
  for (const nft::Element& e : elements) {
    nftnl_set_elem_add(p, new_element(s, e, s.interval));
    if (nests) nests->push_back(e.entry);
  }
  return set;
}

RulePtr encode_rule(const std::string& chain, const nft::Rule& r) {
  RulePtr rule(nftnl_rule_alloc());
  nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, std::string(nft::kTable).c_str());
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain.c_str());
  RuleEncoder enc(rule.get());
  for (const nft::Stmt& s : r.stmts) enc.stmt(s);
  UdataWriter ud;
  ud.put_comment(NFTNL_UDATA_RULE_COMMENT, r.comment);
  if (!r.pool.empty()) ud.put(kUdataRulePool, r.pool);
  if (!ud.empty()) nftnl_rule_set_data(rule.get(), NFTNL_RULE_USERDATA, ud.bytes().data(), uint32_t(ud.bytes().size()));
  return rule;
}

ObjPtr encode_helper(const nft::CtHelper& h, bool definition) {
  ObjPtr o(nftnl_obj_alloc());
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_FAMILY, NFPROTO_INET);
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, std::string(nft::kTable).c_str());
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, h.name.c_str());
  nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
  if (!definition) return o;
  // No l3proto: in an inet table the kernel takes the helper for both families.
  nftnl_obj_set_str(o.get(), NFTNL_OBJ_CT_HELPER_NAME, h.type.c_str());
  nftnl_obj_set_u8(o.get(), NFTNL_OBJ_CT_HELPER_L4PROTO, uint8_t(h.proto));
  UdataWriter ud;
  ud.put_comment(0, h.entry);  // NFTNL_UDATA_OBJ_COMMENT: nft lists it as the comment
  nftnl_obj_set_data(o.get(), NFTNL_OBJ_USERDATA, ud.bytes().data(), uint32_t(ud.bytes().size()));
  return o;
}

size_t element_size(const nft::Set& s, const nft::Element& e) {
  // What libnftnl writes, each attribute padded to 4 bytes: the element's
  // nest; its key (a nest around a value); a concatenated range's key end;
  // a map's value; the entry as a NUL-terminated comment in userdata. An
  // rbtree range adds an end element: nest, key and flags.
  auto pad = [](size_t n) { return (n + 3) & ~size_t(3); };
  size_t key = 8 + pad(key_len(s.key, s.family));
  bool rbtree = s.interval && s.key.size() == 1, concat_range = s.interval && !rbtree;
  size_t one = 4 + key + (concat_range ? key : 0) + (s.is_map() ? 8 + pad(data_len(s.data, s.family)) : 0) +
               (e.entry.empty() ? 0 : 4 + pad(2 + std::min<size_t>(e.entry.size(), 254) + 1));
  return rbtree ? one + 4 + key + 8 : one;
}

}  // namespace natc::netlink
