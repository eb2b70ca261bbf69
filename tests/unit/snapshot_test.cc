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
#include "kernel/preview.h"
#include "kernel/snapshot.h"
#include "netlink/attrs.h"
#include "netlink/encode.h"
#include "nft/build.h"
#include "nft/render.h"

using namespace natc;

namespace {

using kernel::dump_of;

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
    kernel::Live live = kernel::decode_live(dump_of(want, 42));
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
  kernel::Snapshot s{dump_of(table_of("port-forward"), 42), {{"net.ipv4.ip_forward", "1"}}, "# file\n"};
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
