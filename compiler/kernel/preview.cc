#include "kernel/preview.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>
#include <string_view>

#include "kernel/foreign.h"
#include "netlink/attrs.h"
#include "netlink/encode.h"

namespace natc::kernel {
namespace {

constexpr size_t kPage = size_t{1} << 17;

template <class Fill>
std::vector<uint8_t> message(uint16_t type, Fill&& fill) {
  std::vector<char> buf(kPage);
  nlmsghdr* n = nftnl_nlmsg_build_hdr(buf.data(), type, NFPROTO_INET, NLM_F_MULTI, 0);
  fill(n);
  // A dump numbers element nests NFTA_LIST_ELEM; libnftnl's builder counts
  // them up, and its parser takes only the kernel's numbering.
  if (type == NFT_MSG_NEWSETELEM)
    netlink::for_each_element(n, [](const nlattr* e) {
      auto* nest = const_cast<nlattr*>(e);  // our own buffer
      nest->nla_type = uint16_t((nest->nla_type & NLA_F_NESTED) | NFTA_LIST_ELEM);
    });
  return {buf.data(), buf.data() + n->nlmsg_len};
}

// libnftnl writes an objref's name and a ct helper's without their NUL
// (the kernel takes either); a dump carries it, and natc's checks require
// it. The attributes again, with that NUL added and every enclosing length
// grown.
enum class Level { Rule, Exprs, Expr, Objref, Object, Helper };

void put_attr(std::vector<uint8_t>& out, uint16_t type, const uint8_t* p, size_t n) {
  nlattr a{uint16_t(NLA_HDRLEN + n), type};
  const auto* h = reinterpret_cast<const uint8_t*>(&a);
  out.insert(out.end(), h, h + sizeof a);
  out.insert(out.end(), p, p + n);
  out.resize(NLA_ALIGN(out.size()), 0);
}

std::vector<uint8_t> with_nul_names(const uint8_t* p, size_t len, Level level) {
  std::vector<uint8_t> out;
  bool objref = false;
  for (size_t at = 0; at + NLA_HDRLEN <= len;) {
    const auto* a = reinterpret_cast<const nlattr*>(p + at);
    if (a->nla_len < NLA_HDRLEN || a->nla_len > len - at) break;
    const uint8_t* v = p + at + NLA_HDRLEN;
    size_t n = a->nla_len - NLA_HDRLEN;
    uint16_t type = a->nla_type & NLA_TYPE_MASK;
    std::vector<uint8_t> inner;
    if (level == Level::Rule && type == NFTA_RULE_EXPRESSIONS) {
      inner = with_nul_names(v, n, Level::Exprs);
    } else if (level == Level::Exprs && type == NFTA_LIST_ELEM) {
      inner = with_nul_names(v, n, Level::Expr);
    } else if (level == Level::Expr && type == NFTA_EXPR_NAME) {
      objref =
          std::string_view(reinterpret_cast<const char*>(v), strnlen(reinterpret_cast<const char*>(v), n)) == "objref";
      inner.assign(v, v + n);
    } else if (level == Level::Expr && type == NFTA_EXPR_DATA && objref) {
      inner = with_nul_names(v, n, Level::Objref);
    } else if (level == Level::Object && type == NFTA_OBJ_DATA) {
      inner = with_nul_names(v, n, Level::Helper);
    } else if (((level == Level::Objref && type == NFTA_OBJREF_IMM_NAME) ||
                (level == Level::Helper && type == NFTA_CT_HELPER_NAME)) &&
               (n == 0 || v[n - 1] != 0)) {
      inner.assign(v, v + n);
      inner.push_back(0);
    } else {
      inner.assign(v, v + n);
    }
    put_attr(out, a->nla_type, inner.data(), inner.size());
    at += NLA_ALIGN(a->nla_len);
  }
  return out;
}

std::vector<uint8_t> with_nuls(const std::vector<uint8_t>& built, Level top) {
  size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  std::vector<uint8_t> out(built.begin(), built.begin() + long(head));
  auto attrs = with_nul_names(built.data() + head, built.size() - head, top);
  out.insert(out.end(), attrs.begin(), attrs.end());
  reinterpret_cast<nlmsghdr*>(out.data())->nlmsg_len = uint32_t(out.size());
  return out;
}

}  // namespace

Dump dump_of(const nft::Table& t, uint32_t genid) {
  Dump d;
  d.genid = genid;
  auto table = netlink::encode_table();
  d.tables.push_back(message(NFT_MSG_NEWTABLE, [&](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, table.get()); }));
  uint64_t handle = 1;
  for (const nft::Chain& c : t.chains) {
    auto ch = netlink::encode_chain(c);
    d.chains.push_back(message(NFT_MSG_NEWCHAIN, [&](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, ch.get()); }));
    for (const nft::Rule& r : c.rules) {
      auto rule = netlink::encode_rule(c.name, r);
      nftnl_rule_set_u64(rule.get(), NFTNL_RULE_HANDLE, handle++);
      d.rules.push_back(with_nuls(
          message(NFT_MSG_NEWRULE, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, rule.get()); }), Level::Rule));
    }
  }
  for (const nft::CtHelper& h : t.helpers) {
    auto o = netlink::encode_helper(h);
    d.objects.push_back(with_nuls(
        message(NFT_MSG_NEWOBJ, [&](nlmsghdr* n) { nftnl_obj_nlmsg_build_payload(n, o.get()); }), Level::Object));
  }
  uint32_t id = 0;
  for (const nft::Set& s : t.sets) {
    auto def = netlink::encode_set(s, ++id);
    d.sets.push_back(message(NFT_MSG_NEWSET, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, def.get()); }));
    // One message per element keeps each under netlink's 64 KiB attribute.
    for (const nft::Element& e : s.elements) {
      auto elems = netlink::encode_elements(s, std::span(&e, 1));
      d.elements.push_back(
          message(NFT_MSG_NEWSETELEM, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, elems.get()); }));
    }
  }
  return d;
}

cotenancy::Ruleset preview(const nft::Table& t) { return decode_foreign(dump_of(t)); }

}  // namespace natc::kernel
