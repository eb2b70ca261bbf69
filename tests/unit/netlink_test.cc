// encode -> netlink message -> libnftnl parse -> decode is the identity, for
// every rule and set natc builds from the examples. No kernel needed.
#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <vector>

#include "base/source.h"
#include "helpers.h"
#include "kernel/kernel.h"
#include "netlink/attrs.h"
#include "netlink/batch.h"
#include "netlink/decode.h"
#include "netlink/encode.h"
#include "nft/build.h"
#include "plan/plan.h"

using namespace natc;

namespace {

nft::Table table_of(const std::string& path) {
  std::string text;
  REQUIRE(base::read_file(path, &text));
  auto r = test::front(text);
  REQUIRE(r.diags.errors() == 0);
  return nft::build(r.ir);
}

template <class Build, class Parse>
void through_netlink(uint16_t type, Build&& build, Parse&& parse) {
  std::vector<char> buf(1 << 17);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, NFPROTO_INET, 0, 1);
  build(nlh);
  parse(nlh);
}

// libnftnl numbers element nests 1, 2, 3... when it builds a message but
// parses only NFTA_LIST_ELEM (1); the kernel ignores nest types. Renumber
// before parsing our own message, as the kernel's dumps would have it.
void renumber_element_nests(nlmsghdr* nlh) {
  netlink::for_each_element(nlh, [](const nlattr* e) {
    // Our own buffer: writable, though the walker hands out const.
    auto* nest = const_cast<nlattr*>(e);
    nest->nla_type = uint16_t((nest->nla_type & NLA_F_NESTED) | NFTA_LIST_ELEM);
  });
}

void round_trip(const nft::Table& t) {
  for (const nft::Chain& c : t.chains) {
    for (const nft::Rule& r : c.rules) {
      auto enc = netlink::encode_rule(c.name, r);
      through_netlink(
          NFT_MSG_NEWRULE, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, enc.get()); },
          [&](nlmsghdr* n) {
            netlink::RulePtr back(nftnl_rule_alloc());
            REQUIRE(nftnl_rule_nlmsg_parse(n, back.get()) == 0);
            auto dec = netlink::decode_rule(back.get());
            REQUIRE(dec);
            CHECK(*dec == r);
          });
    }
  }
  for (const nft::Set& s : t.sets) {
    CAPTURE(s.name);
    nft::Set decoded;
    auto def = netlink::encode_set(s, 1);
    through_netlink(
        NFT_MSG_NEWSET, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, def.get()); },
        [&](nlmsghdr* n) {
          netlink::SetPtr back(nftnl_set_alloc());
          REQUIRE(nftnl_set_nlmsg_parse(n, back.get()) == 0);
          auto d = netlink::decode_set(back.get());
          REQUIRE(d);
          decoded = *d;
        });
    auto elems = netlink::encode_elements(s, s.elements);
    through_netlink(
        NFT_MSG_NEWSETELEM, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, elems.get()); },
        [&](nlmsghdr* n) {
          renumber_element_nests(n);
          netlink::SetPtr back(nftnl_set_alloc());
          REQUIRE(nftnl_set_elems_nlmsg_parse(n, back.get()) == 0);
          REQUIRE(netlink::decode_elements(back.get(), decoded));
        });
    CHECK(decoded.name == s.name);
    CHECK(decoded.interval == s.interval);
    CHECK(decoded.counter == s.counter);
    CHECK(decoded.data == s.data);
    CHECK(decoded.elements.size() == s.elements.size());
    // rbtree sets come back sorted by address; the rest in order.
    auto sorted = [](std::vector<nft::Element> v) {
      std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
        return std::get<ir::AddrRange>(a.key[0]).first < std::get<ir::AddrRange>(b.key[0]).first;
      });
      return v;
    };
    if (s.interval && s.key.size() == 1)
      CHECK(decoded.elements == sorted(s.elements));
    else
      CHECK(decoded.elements == s.elements);
  }
}

// The bytes an element adds to a NEWSETELEM message, measured against the
// same message without it.
size_t element_bytes(const nft::Set& s, const nft::Element& e) {
  auto message_len = [&](const std::vector<nft::Element>& v) {
    auto elems = netlink::encode_elements(s, v);
    std::vector<char> buf(1 << 16);
    nlmsghdr* n = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWSETELEM, NFPROTO_INET, 0, 1);
    nftnl_set_elems_nlmsg_build_payload(n, elems.get());
    return size_t(n->nlmsg_len);
  };
  // With no elements libnftnl leaves the list attribute out: measure one
  // element against two, the second's bytes are one element's.
  return message_len({e, e}) - message_len({e});
}

}  // namespace

TEST_CASE("every example's ruleset survives encode, netlink and decode unchanged") {
  for (const char* name : test::kExamples) {
    CAPTURE(std::string(name));
    round_trip(table_of(std::string(NATC_SOURCE_ROOT) + "/examples/" + name + ".yaml"));
  }
  for (const char* name : {"ipv6", "interfaces"}) {
    CAPTURE(std::string(name));
    round_trip(table_of(std::string(NATC_SOURCE_ROOT) + "/tests/golden/render/" + name + ".yaml"));
  }
}

TEST_CASE("a rule natc would not write decodes as unknown, not as a guess") {
  netlink::RulePtr r(nftnl_rule_alloc());
  nftnl_expr* e = nftnl_expr_alloc("counter");
  nftnl_rule_add_expr(r.get(), e);
  CHECK_FALSE(netlink::decode_rule(r.get()));
}

TEST_CASE("element size estimates are never short, so a message's element list stays under 64 KiB") {
  nft::Table t = table_of(std::string(NATC_SOURCE_ROOT) + "/examples/gateway.yaml");
  size_t checked = 0;
  for (const nft::Set& s : t.sets) {
    CAPTURE(s.name);
    for (const nft::Element& e : s.elements) {
      size_t actual = element_bytes(s, e), estimate = netlink::element_size(s, e);
      CHECK(estimate >= actual);
      CHECK(estimate <= actual + 16);  // and not so generous that messages are half empty
      ++checked;
    }
  }
  CHECK(checked > 200);
}

TEST_CASE("an extended ack's offset names the element the kernel refused") {
  nft::Table t = table_of(std::string(NATC_SOURCE_ROOT) + "/examples/gateway.yaml");
  for (const nft::Set& s : t.sets) {
    if (s.elements.size() < 3) continue;
    CAPTURE(s.name);
    kernel::Batch b;
    kernel::Op op{kernel::Op::Kind::AddElems};
    op.set = s;
    op.elements = s.elements;
    op.entry = "set " + s.name;
    b.ops.push_back(op);
    netlink::BatchBytes bb = netlink::build_batch(b, 100);
    REQUIRE(bb.messages.size() >= 1);
    const auto& m = bb.messages[0];
    CHECK(m.seq == 101);  // 100 is the batch's begin
    REQUIRE(m.nests.size() >= s.elements.size());
    // Walk to the nest that starts the third element and point into it.
    size_t per = s.interval && s.key.size() == 1 ? 2 : 1;  // an rbtree range has a start and an end nest
    const auto& third = m.nests[2 * per];
    CHECK(bb.entry_at(m.seq, third.begin + 8) == s.elements[2].entry);
    CHECK(bb.entry_at(m.seq, m.nests[0].begin) == s.elements[0].entry);
    CHECK(bb.entry_at(m.seq, 4) == "set " + s.name);  // the header: the op's entry
    CHECK(bb.entry_at(999, 40).empty());              // no such message
  }
}

// nftables pins its encoder to golden payloads (tests/py/*.payload): an
// encoder bug mirrored in the decoder cannot pass these.
TEST_CASE("every example's first batch is byte for byte the golden payload") {
  for (const char* name : test::kExamples) {
    CAPTURE(std::string(name));
    nft::Table t = table_of(std::string(NATC_SOURCE_ROOT) + "/examples/" + name + ".yaml");
    kernel::Batch b = plan::diff(t, kernel::Live{}).batch;
    b.genid = 7;
    std::string got = netlink::hexdump(netlink::build_batch(b, 1));
    CHECK(test::golden_mismatch("batch/" + std::string(name) + ".payload", got) == "");
  }
}
