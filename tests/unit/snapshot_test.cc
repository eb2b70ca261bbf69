// Live state from the kernel's messages: a dump natc decodes back to the
// table it wrote, a snapshot file that round-trips, and broken snapshots
// that are refused with a reason rather than read.
#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "kernel/live_decode.h"
#include "kernel/snapshot.h"
#include "netlink/attrs.h"
#include "netlink/encode.h"
#include "nft/build.h"
#include "nft/render.h"

using namespace natc;

namespace {

template <class Fill>
std::vector<uint8_t> message(uint16_t type, Fill&& fill) {
  std::vector<char> buf(1 << 17);
  nlmsghdr* n = nftnl_nlmsg_build_hdr(buf.data(), type, NFPROTO_INET, NLM_F_MULTI, 1);
  fill(n);
  // A dump numbers element nests NFTA_LIST_ELEM; libnftnl's builder counts.
  if (type == NFT_MSG_NEWSETELEM)
    netlink::for_each_element(n, [](const nlattr* e) {
      const_cast<nlattr*>(e)->nla_type = uint16_t((e->nla_type & NLA_F_NESTED) | NFTA_LIST_ELEM);
    });
  return {buf.data(), buf.data() + n->nlmsg_len};
}

// The messages the kernel would dump for a table natc wrote.
kernel::Dump dump_of(const nft::Table& t) {
  kernel::Dump d;
  d.genid = 42;
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
  for (const nft::Set& s : t.sets) {
    auto def = netlink::encode_set(s, 1);
    d.sets.push_back(message(NFT_MSG_NEWSET, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, def.get()); }));
    if (s.elements.empty()) continue;
    auto elems = netlink::encode_elements(s, s.elements);
    d.elements.push_back(
        message(NFT_MSG_NEWSETELEM, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, elems.get()); }));
  }
  return d;
}

nft::Table table_of(const std::string& name) {
  auto fe = test::front(test::example(name));
  REQUIRE(fe.ok());
  return nft::build(fe.ir);
}

// Rendered with elements sorted: an rbtree set comes back in address order.
std::string canonical(nft::Table t) {
  for (nft::Set& s : t.sets)
    std::sort(s.elements.begin(), s.elements.end(),
              [](auto& a, auto& b) { return nft::element_key(a) < nft::element_key(b); });
  return nft::render_text(t);
}

}  // namespace

TEST_CASE("every example decodes from the kernel's messages to the table natc wrote") {
  for (const char* name : test::kExamples) {
    CAPTURE(std::string(name));
    nft::Table want = table_of(name);
    kernel::Live live = kernel::decode_live(dump_of(want));
    CHECK(live.genid == 42);
    CHECK(live.table);
    auto got = kernel::to_table(live);
    REQUIRE(got);
    CHECK(canonical(*got) == canonical(want));
    for (const auto& s : live.sets) CHECK(s.set.role != nft::Role::Unknown);
  }
}

TEST_CASE("the live hash follows what natc owns: entries and values, not the order elements come in") {
  nft::Table t = table_of("gateway");
  uint64_t h = kernel::decode_live(dump_of(t)).hash;
  nft::Table reordered = t;
  for (auto& s : reordered.sets) std::reverse(s.elements.begin(), s.elements.end());
  CHECK(kernel::decode_live(dump_of(reordered)).hash == h);
  nft::Table renamed = t;
  renamed.sets[0].elements[0].entry = "other";
  CHECK(kernel::decode_live(dump_of(renamed)).hash != h);
}

TEST_CASE("a snapshot round-trips through its JSON") {
  kernel::Snapshot s{dump_of(table_of("port-forward")), {{"net.ipv4.ip_forward", "1"}}, "# file\n"};
  kernel::Snapshot back = kernel::snapshot_from_json(nlohmann::json::parse(kernel::to_json(s).dump()));
  CHECK(back.dump.genid == 42);
  CHECK(back.dump.sets == s.dump.sets);
  CHECK(back.dump.elements == s.dump.elements);
  CHECK(back.sysctls == s.sysctls);
  CHECK(back.sysctl_file == s.sysctl_file);
}

TEST_CASE("a broken snapshot is refused with a reason") {
  auto j = kernel::to_json({dump_of(table_of("masquerade")), {}, std::nullopt});
  auto broken = [&](auto&& edit) {
    nlohmann::json k = j;
    edit(k);
    kernel::Snapshot s = kernel::snapshot_from_json(k);
    kernel::decode_live(s.dump);
  };
  CHECK_THROWS_WITH(broken([](auto& k) { k["natc_snapshot"] = 2; }), "not a natc snapshot (no \"natc_snapshot\": 1)");
  CHECK_THROWS_WITH(broken([](auto& k) { k["messages"]["sets"][0] = "abc"; }), "a message is not hex");
  CHECK_THROWS_WITH(broken([](auto& k) { k["messages"]["rules"][0] = "0011"; }), "a message in \"rules\" is truncated");
  CHECK_THROWS(broken([](auto& k) { k["messages"]["chains"][0] = std::string(64, '0'); }));
}
