// netlink/validate: what may reach libnftnl, which trusts lengths, exits
// the process on a wrong attribute size and indexes arrays by attribute
// type. Messages built by hand, byte by byte, as a hostile snapshot or a
// newer kernel could send them.
#include "netlink/validate.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <string>
#include <vector>

#include "helpers.h"
#include "kernel/foreign.h"
#include "kernel/live_decode.h"
#include "kernel/preview.h"
#include "netlink/handles.h"
#include "nft/build.h"

using namespace natc;
using Verdict = netlink::Checked::Verdict;

namespace {

// An nf_tables message built with libmnl, attribute by attribute. Copies
// well: it holds offsets, not pointers.
class Msg {
 public:
  explicit Msg(uint16_t type) : buf_(1 << 12) {
    mnl_nlmsg_put_header(buf_.data());
    nlh()->nlmsg_type = uint16_t(NFNL_SUBSYS_NFTABLES << 8 | type);
    auto* nf = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh(), sizeof(nfgenmsg)));
    nf->nfgen_family = NFPROTO_INET;
  }
  Msg& str(uint16_t type, const char* s) { return mnl_attr_put_strz(nlh(), type, s), *this; }
  Msg& u32(uint16_t type, uint32_t v) { return mnl_attr_put_u32(nlh(), type, htonl(v)), *this; }
  Msg& raw(uint16_t type, const std::vector<uint8_t>& v) {
    return mnl_attr_put(nlh(), type, v.size(), v.data()), *this;
  }
  // A nest without NLA_F_NESTED, as nf_tables sends most of them.
  Msg& open(uint16_t type) {
    nests_.push_back(nlh()->nlmsg_len);
    mnl_attr_nest_start(nlh(), type)->nla_type = type;
    return *this;
  }
  Msg& close() {
    mnl_attr_nest_end(nlh(), reinterpret_cast<nlattr*>(buf_.data() + nests_.back()));
    nests_.pop_back();
    return *this;
  }
  Msg& expr(const char* name) { return open(NFTA_LIST_ELEM).str(NFTA_EXPR_NAME, name).open(NFTA_EXPR_DATA); }
  Msg& end_expr() { return close().close(); }
  std::vector<uint8_t> bytes() const { return {buf_.data(), buf_.data() + nlh()->nlmsg_len}; }

 private:
  nlmsghdr* nlh() const { return reinterpret_cast<nlmsghdr*>(const_cast<char*>(buf_.data())); }
  std::vector<char> buf_;
  std::vector<uint32_t> nests_;
};

Msg rule_head() {
  Msg m(NFT_MSG_NEWRULE);
  m.str(NFTA_RULE_TABLE, "natc").str(NFTA_RULE_CHAIN, "prerouting");
  return m;
}

netlink::Checked check(const std::vector<uint8_t>& m, uint16_t type) { return netlink::check_natc_message(m, type); }

}  // namespace

TEST_CASE("natc's own messages pass whole, with nothing hidden") {
  for (const char* name : test::kExamples) {
    auto r = test::front(test::example(name));
    REQUIRE(r.diags.errors() == 0);
    kernel::Dump d = kernel::dump_of(nft::build(r.ir));
    const std::pair<const std::vector<std::vector<uint8_t>>*, uint16_t> lists[] = {{&d.tables, NFT_MSG_NEWTABLE},
                                                                                   {&d.chains, NFT_MSG_NEWCHAIN},
                                                                                   {&d.sets, NFT_MSG_NEWSET},
                                                                                   {&d.elements, NFT_MSG_NEWSETELEM},
                                                                                   {&d.rules, NFT_MSG_NEWRULE}};
    for (const auto& [list, type] : lists)
      for (const auto& m : *list) {
        auto c = check(m, type);
        CHECK_MESSAGE(c.verdict == Verdict::Ok, name, ": ", c.why);
        CHECK(c.hidden.empty());
      }
  }
}

TEST_CASE("a wrong attribute size is malformed, where libnftnl would exit the process") {
  auto m = rule_head().open(NFTA_RULE_EXPRESSIONS).expr("meta").raw(NFTA_META_KEY, {1, 2, 3}).end_expr().close();
  auto c = check(m.bytes(), NFT_MSG_NEWRULE);
  CHECK(c.verdict == Verdict::Malformed);
  CHECK(c.why == "a 32-bit attribute of another size");
  CHECK_FALSE(netlink::Readable(m.bytes(), NFT_MSG_NEWRULE));
  kernel::Dump d;
  d.rules.push_back(m.bytes());
  CHECK_THROWS_WITH_AS(kernel::decode_live(d), "a malformed rule message (a 32-bit attribute of another size)",
                       kernel::Error);
  CHECK(kernel::decode_foreign(d).chains.empty());  // left out, not read
}

TEST_CASE("lengths that run past their message, and names without their NUL, are malformed") {
  auto good = Msg(NFT_MSG_NEWCHAIN).str(NFTA_CHAIN_TABLE, "natc").str(NFTA_CHAIN_NAME, "forward").bytes();
  REQUIRE(check(good, NFT_MSG_NEWCHAIN).verdict == Verdict::Ok);

  auto cut = good;
  cut.resize(cut.size() - 4);
  CHECK(netlink::check_message(cut, NFT_MSG_NEWCHAIN) == "a message's length field is not its size");

  auto long_attr = good;
  long_attr[NLMSG_HDRLEN + sizeof(nfgenmsg)] = 0xff;  // the first attribute's length
  CHECK(netlink::check_message(long_attr, NFT_MSG_NEWCHAIN) == "an attribute's length runs past its message");

  auto unterminated = Msg(NFT_MSG_NEWCHAIN).raw(NFTA_CHAIN_NAME, {'f', 'w', 'd', '!'}).bytes();
  CHECK(check(unterminated, NFT_MSG_NEWCHAIN).why == "a name that is not a NUL-terminated string");

  CHECK(netlink::check_message(good, NFT_MSG_NEWRULE) == "a message of another type");
}

TEST_CASE("an unflagged nest is walked for bounds all the same") {
  // NFTA_CHAIN_HOOK without NLA_F_NESTED, holding an attribute that runs
  // past the nest (but not past the message).
  Msg m(NFT_MSG_NEWCHAIN);
  m.str(NFTA_CHAIN_NAME, "x").open(NFTA_CHAIN_HOOK).u32(NFTA_HOOK_HOOKNUM, 1).close().str(NFTA_CHAIN_TYPE, "nat");
  auto bytes = m.bytes();
  size_t hook = NLMSG_HDRLEN + sizeof(nfgenmsg) + MNL_ALIGN(MNL_ATTR_HDRLEN + 2);
  bytes[hook + MNL_ATTR_HDRLEN] = 12;                              // the hook number's length: 12 inside a nest of 12
  CHECK(netlink::check_message(bytes, NFT_MSG_NEWCHAIN).empty());  // unflagged: not walked here
  CHECK(check(bytes, NFT_MSG_NEWCHAIN).why == "an attribute's length runs past its message");
}

TEST_CASE("an element attribute of a type past nf_tables' own is hidden, not indexed") {
  // libnftnl checks element attribute types against NFTA_SET_MAX and keeps
  // them in an array of NFTA_SET_ELEM_MAX + 1: type 16 writes past it.
  Msg m(NFT_MSG_NEWSETELEM);
  m.str(NFTA_SET_ELEM_LIST_TABLE, "natc").str(NFTA_SET_ELEM_LIST_SET, "dnat4_any");
  m.open(NFTA_SET_ELEM_LIST_ELEMENTS).open(NFTA_LIST_ELEM);
  m.open(NFTA_SET_ELEM_KEY).raw(NFTA_DATA_VALUE, {10, 0, 0, 1}).close();
  m.u32(16, 7);
  m.close().close();
  auto c = check(m.bytes(), NFT_MSG_NEWSETELEM);
  CHECK(c.verdict == Verdict::Ok);
  REQUIRE(c.hidden.size() == 1);
  netlink::Readable r(m.bytes(), NFT_MSG_NEWSETELEM);
  REQUIRE(r);
  const auto* at = reinterpret_cast<const nlattr*>(reinterpret_cast<const uint8_t*>(r.header()) + c.hidden[0]);
  CHECK((at->nla_type & NLA_TYPE_MASK) == 0);
  CHECK(at->nla_len == MNL_ATTR_HDRLEN + 4);
  netlink::SetPtr s(nftnl_set_alloc());
  CHECK(nftnl_set_elems_nlmsg_parse(r.header(), s.get()) == 0);
}

TEST_CASE("an expression natc has no schema for keeps its name and loses its data") {
  auto m = rule_head()
               .open(NFTA_RULE_EXPRESSIONS)
               .expr("log")
               .raw(NFTA_LOG_GROUP, {1, 2, 3})  // a u16 of three bytes: libnftnl would exit
               .end_expr()
               .expr("immediate")
               .u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT)
               .open(NFTA_IMMEDIATE_DATA)
               .open(NFTA_DATA_VERDICT)
               .u32(NFTA_VERDICT_CODE, uint32_t(NF_DROP))
               .close()
               .close()
               .end_expr()
               .close();
  auto c = check(m.bytes(), NFT_MSG_NEWRULE);
  CHECK(c.verdict == Verdict::Foreign);
  CHECK(c.hidden.size() == 1);
  netlink::Readable r(m.bytes(), NFT_MSG_NEWRULE);
  REQUIRE(r);
  CHECK(r.foreign());
  netlink::RulePtr rule(nftnl_rule_alloc());
  REQUIRE(nftnl_rule_nlmsg_parse(r.header(), rule.get()) == 0);
  CHECK(nftnl_rule_get_u32(rule.get(), NFTNL_RULE_FAMILY) == NFPROTO_INET);

  // The foreign decoder reads both: the log by name, the drop in full.
  auto chain = Msg(NFT_MSG_NEWCHAIN).str(NFTA_CHAIN_TABLE, "natc").str(NFTA_CHAIN_NAME, "prerouting");
  kernel::Dump d;
  d.chains.push_back(chain.bytes());
  d.rules.push_back(m.bytes());
  auto rs = kernel::decode_foreign(d);
  REQUIRE(rs.chains.size() == 1);
  REQUIRE(rs.chains[0].rules.size() == 1);
  CHECK(rs.chains[0].rules[0].exprs.size() == 2);
  // natc's own reader takes the rule for one it did not write.
  auto live = kernel::decode_live(d);
  REQUIRE(live.chains.size() == 1);
  REQUIRE(live.chains[0].rules.size() == 1);
  CHECK_FALSE(live.chains[0].rules[0].rule.has_value());
}
