#include "kernel/preview.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

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
      d.rules.push_back(message(NFT_MSG_NEWRULE, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, rule.get()); }));
    }
  }
  uint32_t id = 0;
  for (const nft::Set& s : t.sets) {
    auto def = netlink::encode_set(s, ++id);
    d.sets.push_back(message(NFT_MSG_NEWSET, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, def.get()); }));
    // One message per element keeps each under netlink's 64 KiB attribute.
    for (const nft::Element& e : s.elements) {
      auto elems = netlink::encode_elements(s, {e});
      d.elements.push_back(
          message(NFT_MSG_NEWSETELEM, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, elems.get()); }));
    }
  }
  return d;
}

cotenancy::Ruleset preview(const nft::Table& t) { return decode_foreign(dump_of(t)); }

}  // namespace natc::kernel
