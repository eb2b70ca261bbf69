// Planning: structural identity (roles, not names), flow counts, and the
// plan of every example against an empty and a changed kernel, pinned as
// golden text, JSON and markdown.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "fake_system.h"
#include "helpers.h"
#include "nft/build.h"
#include "plan/plan.h"
#include "plan/render.h"

using namespace natc;

namespace {

nft::Table table_of(const std::string& yaml) {
  auto fe = test::front(yaml);
  REQUIRE(fe.ok());
  return nft::build(fe.ir);
}

kernel::Live live_of(const nft::Table& t) {
  test::FakeKernel k;
  k.load(t);
  return k.read();
}

const char* kForwards = R"(version: 1
port_forwards:
  - {name: a, ingress: eth0, protocol: tcp, port: 80, to: "10.0.0.5:8080", destination: 203.0.113.5}
  - {name: b, ingress: eth0, protocol: udp, port: 53, to: 10.0.0.6}
  - {name: c, ingress: eth0, protocol: tcp, port: 22, to: 10.0.0.7, allow_from: [198.51.100.0/24]}
)";

// A kernel that drifted from the spec: each set lost its first element, a
// map's value moved, a stale element appeared, the forward chain's policy
// flipped and postrouting lost its last rule.
nft::Table drifted(nft::Table t) {
  for (nft::Set& s : t.sets) {
    if (s.elements.empty()) continue;
    nft::Element stale = s.elements.back();
    stale.entry = "stale-entry";
    for (nft::Part& p : stale.key)
      if (auto* port = std::get_if<uint16_t>(&p)) *port = uint16_t(*port + 1000);
    for (nft::Part& p : stale.key)
      if (auto* r = std::get_if<ir::AddrRange>(&p); r && !s.keys(nft::Field::Dport))
        r->first.bytes[0] ^= 0x40, r->last.bytes[0] ^= 0x40;
    s.elements.erase(s.elements.begin());
    if (s.is_map() && !s.elements.empty())
      if (auto* port = std::get_if<uint16_t>(&s.elements[0].data.back())) *port = uint16_t(*port + 1);
    s.elements.push_back(stale);
  }
  for (nft::Chain& c : t.chains) {
    if (c.hook == nft::Hook::Forward) c.drop_policy = !c.drop_policy;
    if (c.hook == nft::Hook::Postrouting && !c.rules.empty()) c.rules.pop_back();
  }
  return t;
}

}  // namespace

TEST_CASE("a DNAT map's translation comes from its role and key fields, whatever the set is called") {
  nft::Table t = table_of(kForwards);
  size_t found = 0;
  for (nft::Set& s : t.sets) {
    s.name = "renamed_" + s.name;
    for (const auto& e : s.elements)
      if (auto tr = plan::translation_of(s, e)) {
        ++found;
        if (tr->entry == "a") {
          CHECK(tr->destination == base::parse_addr("203.0.113.5"));
          CHECK(tr->port == 80);
          CHECK(tr->target == *base::parse_addr("10.0.0.5"));
          CHECK(tr->target_port == 8080);
        } else {
          CHECK_FALSE(tr->destination);  // b: any address; c: its address is the source range
        }
      }
  }
  CHECK(found == 3);
  for (nft::Set& s : t.sets) s.role = nft::Role::Unknown;  // not natc's writing: no translations
  for (const nft::Set& s : t.sets)
    for (const auto& e : s.elements) CHECK_FALSE(plan::translation_of(s, e));
}

TEST_CASE("a set whose role changed is recreated; an unchanged one is left alone") {
  nft::Table t = table_of(kForwards);
  CHECK(plan::diff(t, live_of(t)).batch.ops.empty());
  nft::Table old = t;
  old.sets[0].role = nft::Role::Unknown;  // written by an older natc
  plan::Plan p = plan::diff(t, live_of(old));
  bool recreated = false;
  for (const auto& op : p.batch.ops) recreated |= op.kind == kernel::Op::Kind::DelSet && op.set.name == t.sets[0].name;
  CHECK(recreated);
}

TEST_CASE("elements diff by key whatever order the live set holds them in") {
  std::string spec = "version: 1\nport_forwards:\n";
  for (int i = 0; i < 40; ++i)
    spec += "  - {name: f" + std::to_string(i) + ", ingress: eth0, protocol: tcp, port: " + std::to_string(1000 + i) +
            ", to: 10.0.0." + std::to_string(i + 1) + "}\n";
  nft::Table want = table_of(spec);
  auto map = [](nft::Table& t) -> nft::Set& {
    for (nft::Set& s : t.sets)
      if (s.role == nft::Role::DnatMap) return s;
    FAIL("no DNAT map");
    return t.sets[0];
  };
  REQUIRE(map(want).elements.size() == 40);
  auto element_ops = [](const plan::Plan& p) {
    std::vector<std::pair<kernel::Op::Kind, size_t>> out;
    for (const auto& op : p.batch.ops)
      if (op.kind == kernel::Op::Kind::AddElems || op.kind == kernel::Op::Kind::DelElems)
        out.emplace_back(op.kind, op.items().size());
    return out;
  };
  using K = kernel::Op::Kind;
  nft::Table live = want;
  std::reverse(map(live).elements.begin(), map(live).elements.end());  // as a kernel's hash set may dump them
  CHECK(plan::diff(want, live_of(live)).batch.ops.empty());
  // One element changed in the middle, the rest in order or reversed: one
  // delete and one add, and nothing else.
  for (bool reversed : {false, true}) {
    CAPTURE(reversed);
    nft::Table moved = want;
    std::get<uint16_t>(map(moved).elements[17].data.back()) = 81;
    if (reversed) std::reverse(map(moved).elements.begin(), map(moved).elements.end());
    plan::Plan p = plan::diff(want, live_of(moved));
    CHECK(element_ops(p) == std::vector<std::pair<K, size_t>>{{K::DelElems, 1}, {K::AddElems, 1}});
    REQUIRE(p.resets.size() == 1);
    CHECK(p.resets[0].entry == "f17");
  }
  // An element gone from the head and one added at the tail.
  nft::Table shifted = want;
  auto& elements = map(shifted).elements;
  elements.push_back(elements.front());
  std::get<uint16_t>(elements.back().key.back()) = 2000;
  elements.erase(elements.begin());
  CHECK(element_ops(plan::diff(want, live_of(shifted))) ==
        std::vector<std::pair<K, size_t>>{{K::DelElems, 1}, {K::AddElems, 1}});
}

TEST_CASE("a batch outlives the table it was planned from; make()'s borrows from the table its plan keeps") {
  nft::Table t = table_of(kForwards);
  size_t elements = 0;
  for (const auto& s : t.sets) elements += s.elements.size();
  kernel::Live empty;  // no table at all
  auto batch_elements = [](const plan::Plan& p) {
    size_t n = 0;
    for (const auto& op : p.batch.ops) n += op.items().size();
    return n;
  };
  plan::Plan p;
  {
    nft::Table gone = t;
    p = plan::diff(gone, empty);  // rollback's way: the table goes before the commit
  }
  CHECK(batch_elements(p) == elements);
  test::FakeKernel k;
  k.commit(p.batch);
  CHECK(plan::diff(t, k.read()).batch.ops.empty());
  auto fe = test::front(kForwards);
  test::FakeSystem sys;
  plan::Plan made = plan::make(fe.ir, empty, sys.sysctls);
  plan::Plan copy = made;
  made = plan::Plan{};  // a copy shares the table its batch borrows from
  CHECK(batch_elements(copy) == elements);
  bool borrowed = false;
  for (const auto& op : copy.batch.ops) borrowed |= !op.borrowed.empty() && op.elements.empty();
  CHECK(borrowed);
}

TEST_CASE("flow counts land on the changed forward that resets them") {
  nft::Table now = table_of(kForwards);
  std::string moved = kForwards;
  moved.replace(moved.find("10.0.0.5:8080"), 13, "10.0.0.9:8080");
  plan::Plan p = plan::diff(table_of(moved), live_of(now));
  REQUIRE(p.resets.size() == 1);
  std::vector<conntrack::Flow> flows({test::dnat_flow("198.51.100.1", "203.0.113.5", 80, "10.0.0.5", 8080),
                                      test::dnat_flow("198.51.100.2", "203.0.113.9", 80, "10.0.0.5", 8080)});
  plan::count_flows(p, flows);
  int with_counts = 0;
  for (const auto& c : p.changes) {
    if (!c.flows_reset) continue;
    ++with_counts;
    CHECK(c.entry == "a");
    CHECK(*c.flows_reset == 1);  // not the flow to the other address
  }
  CHECK(with_counts == 1);
}

TEST_CASE("a moved static NAT host resets the flows to its public address, every protocol and port") {
  const char* spec = R"(version: 1
static_nat: [{name: mail, public: 203.0.113.70, private: 10.0.0.7, interface: eth0}]
)";
  std::string moved = spec;
  moved.replace(moved.find("10.0.0.7"), 8, "10.0.0.8");
  plan::Plan p = plan::diff(table_of(moved), live_of(table_of(spec)));
  REQUIRE(p.resets.size() == 1);
  CHECK(p.resets[0].proto == 0);
  std::vector<conntrack::Flow> flows({test::dnat_flow("198.51.100.1", "203.0.113.70", 25, "10.0.0.7", 25),
                                      test::dnat_flow("198.51.100.2", "203.0.113.70", 443, "10.0.0.7", 443),
                                      test::dnat_flow("198.51.100.3", "203.0.113.9", 25, "10.0.0.7", 25)});
  CHECK(conntrack::TranslationIndex({p.resets[0]}).count(flows) == std::vector<size_t>{2});
}

TEST_CASE("a changed helper object goes after the rules that name it, and comes back before them") {
  const char* spec = R"(version: 1
helpers: [{name: ftp, protocol: tcp, port: 21}]
)";
  nft::Table now = table_of(spec);
  nft::Table old = now;
  old.helpers[0].type = "irc";  // as if it had been another helper
  plan::Plan p = plan::diff(now, live_of(old));
  using K = kernel::Op::Kind;
  std::vector<K> kinds;
  for (const auto& op : p.batch.ops) kinds.push_back(op.kind);
  CHECK(kinds == std::vector<K>{K::DelRule, K::DelObj, K::AddObj, K::AddRule});
  CHECK(plan::diff(now, live_of(now)).batch.ops.empty());
  // Gone from the spec: rule, then object.
  plan::Plan gone = plan::diff(table_of("version: 1\n"), live_of(now));
  kinds.clear();
  for (const auto& op : gone.batch.ops) kinds.push_back(op.kind);
  CHECK(kinds == std::vector<K>{K::DelRule, K::DelObj});
}

TEST_CASE("every example's plan against an empty and a drifted kernel, as text, JSON and markdown") {
  for (const char* name : test::kExamples) {
    CAPTURE(std::string(name));
    auto fe = test::front(test::example(name), std::string(name) + ".yaml");
    REQUIRE(fe.ok());
    sysctl::MemoryStore none;
    sysctl::MemoryStore old({{"net.ipv4.ip_forward", "0"}, {"net.netfilter.nf_conntrack_max", "65536"}}, "# old\n");
    struct Against {
      const char* suffix;
      kernel::Live live;
      sysctl::MemoryStore* sysctls;
    } cases[] = {{"empty", {}, &none}, {"drifted", live_of(drifted(nft::build(fe.ir))), &old}};
    for (auto& c : cases) {
      plan::Plan p = plan::make(fe.ir, c.live, *c.sysctls);
      std::string base = "plan/" + std::string(name) + "." + c.suffix;
      CHECK(test::golden_mismatch(base + ".txt", plan::render_text(p)) == "");
      CHECK(test::golden_mismatch(base + ".json", plan::render_json(p).dump(2) + "\n") == "");
      CHECK(test::golden_mismatch(base + ".md", plan::render_markdown(p, std::string(name) + ".yaml")) == "");
    }
  }
}

TEST_CASE("natc plan against the machine counts flows and lints; against a snapshot it does neither") {
  auto fe = test::front(kForwards);
  REQUIRE(fe.ok());
  test::FakeSystem m;
  std::string moved = kForwards;
  moved.replace(moved.find("10.0.0.5:8080"), 13, "10.0.0.9:8080");
  m.kernel.load(table_of(kForwards));
  m.conntrack.list = {test::dnat_flow("198.51.100.1", "203.0.113.5", 80, "10.0.0.5", 8080)};
  auto next = test::front(moved);
  system::System sys = m.get();
  plan::Planned live = plan::for_spec(next.ir, *next.spec, sys, plan::Against::Machine);
  CHECK(live.genid == m.kernel.genid);
  CHECK(live.notes.empty());
  bool counted = false;
  for (const auto& c : live.plan.changes) counted |= c.entry == "a" && c.flows_reset == size_t(1);
  CHECK(counted);
  plan::Planned offline = plan::for_spec(next.ir, *next.spec, sys, plan::Against::Snapshot);
  for (const auto& c : offline.plan.changes) CHECK_FALSE(c.flows_reset);
  m.conntrack.broken = true;
  plan::Planned blind = plan::for_spec(next.ir, *next.spec, sys, plan::Against::Machine);
  CHECK(blind.notes == "cannot read the conntrack table: Operation not permitted; flow counts unknown");
}
