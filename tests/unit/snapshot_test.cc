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

TEST_CASE("a broken snapshot is refused with a reason and the key at fault") {
  auto j = kernel::to_json({dump_of(table_of("masquerade")), {}, std::nullopt});
  auto refused = [&](auto&& edit) -> std::pair<std::string, std::string> {
    nlohmann::json k = j;
    edit(k);
    try {
      kernel::snapshot_from_json(k);
    } catch (const kernel::SnapshotError& e) {
      return {e.key(), e.what()};
    }
    return {"", "accepted"};
  };
  using P = std::pair<std::string, std::string>;
  CHECK(refused([](auto& k) { k["natc_snapshot"] = 2; }) ==
        P{"natc_snapshot", "it has no \"natc_snapshot\": 1 (this natc reads snapshot format 1)"});
  CHECK(refused([](auto& k) { k = nlohmann::json::array(); }) == P{"", "it is not a JSON object"});
  CHECK(refused([](auto& k) { k["messages"]["sets"][0] = "abc"; }) ==
        P{"messages", "message 1 of \"sets\" is not a string of hex digits"});
  CHECK(refused([](auto& k) { k["messages"]["sets"][0] = "zz"; }) ==
        P{"messages", "message 1 of \"sets\" is not a string of hex digits"});
  CHECK(refused([](auto& k) { k["messages"]["rules"][1] = 7; }) ==
        P{"messages", "message 2 of \"rules\" is not a string of hex digits"});
  CHECK(refused([](auto& k) { k["messages"]["rules"][0] = "0011"; }) ==
        P{"messages", "message 1 of \"rules\" is not a whole nf_tables message: a message is cut short"});
  CHECK(refused([](auto& k) { k["messages"].erase("chains"); }) == P{"messages", "\"messages\" has no \"chains\""});
  CHECK(refused([](auto& k) {
          k["sysctls"] = {{"net.ipv4.ip_forward", 1}};
        }) == P{"sysctls", "sysctl \"net.ipv4.ip_forward\" has a value that is not a string"});
  CHECK(refused([](auto& k) { k["genid"] = -1; }) == P{"genid", "\"genid\" is not a generation number"});
  CHECK(refused([](auto& k) { k["sysctl_file"] = false; }) ==
        P{"sysctl_file", "\"sysctl_file\" is neither a string nor null"});
  // A message's length field that claims more than the message holds
  // (libnftnl would read past the buffer).
  CHECK(refused([](auto& k) {
          std::string m = k["messages"]["chains"][0];
          m.replace(0, 2, "ff");
          k["messages"]["chains"][0] = m;
        }).second ==
        "message 1 of \"chains\" is not a whole nf_tables message: a message's length field is not its size");
  CHECK(refused([](auto&) {}).second == "accepted");
}
