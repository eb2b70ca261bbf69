// natc status and natc flows on many flows: what the indexed counting and
// attribution say equals what a scan of every flow against every entry
// (conntrack::matches, range by range) says, on random flows.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "fake_system.h"
#include "helpers.h"
#include "nft/build.h"
#include "plan/plan.h"
#include "status/flows.h"
#include "status/status.h"

using namespace natc;

namespace {

// Forwards sharing a target (by address), one by source ranges, static
// NAT, subnets that overlap on different egresses, and redirects.
const char* kSpec = R"(version: 1
interfaces: {wan: eth0, wan2: eth1, lan: eth2}
subnets:
  - {name: lan, cidr: 10.0.0.0/16, egress: wan, snat: masquerade}
  - {name: lab, cidr: 10.0.5.0/24, egress: wan2, snat: masquerade}
  - {name: v6, cidr: "2001:db8:1::/64", egress: wan, snat: masquerade}
static_nat: [{name: mail, public: 203.0.113.70, private: 10.0.0.7, interface: wan}]
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 80, to: "10.0.0.5:8080", destination: 203.0.113.5}
  - {name: web2, ingress: wan, protocol: tcp, port: 80, to: "10.0.0.5:8080", destination: 203.0.113.6}
  - {name: dns, ingress: wan, protocol: udp, port: 53, to: 10.0.0.6}
  - {name: ssh, ingress: wan, protocol: tcp, port: 22, to: 10.0.0.8, allow_from: [198.51.100.0/24, 192.0.2.0/24]}
redirects:
  - {name: proxy, ingress: lan, protocol: tcp, port: 3128, to_port: 8888}
)";

kernel::Live live_of(const std::string& yaml) {
  auto fe = test::front(yaml);
  REQUIRE_MESSAGE(fe.ok(), fe.codes());
  test::FakeKernel k;
  k.load(nft::build(fe.ir));
  return k.read();
}

std::vector<conntrack::Flow> random_flows(size_t n) {
  std::mt19937 rng(12);
  auto pick = [&](std::initializer_list<const char*> v) {
    return *base::parse_addr(v.begin()[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)]);
  };
  auto port = [&](std::initializer_list<uint16_t> v) {
    return v.begin()[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  std::vector<conntrack::Flow> out;
  for (size_t i = 0; i < n; ++i) {
    conntrack::Flow f;
    f.proto = rng() % 3 ? (rng() % 2 ? 6 : 17) : 1;
    f.orig.src = pick({"198.51.100.7", "192.0.2.9", "10.0.0.9", "10.0.5.3", "10.0.0.7", "203.0.113.99"});
    f.orig.dst = pick({"203.0.113.5", "203.0.113.6", "203.0.113.70", "10.0.0.1", "8.8.8.8"});
    f.orig.sport = port({40000, 40001});
    f.orig.dport = port({80, 53, 22, 25, 3128});
    f.reply.src = rng() % 2 ? pick({"10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.1"}) : f.orig.dst;
    f.reply.sport = rng() % 2 ? port({8080, 53, 22, 25, 8888}) : f.orig.dport;
    f.reply.dst = rng() % 2 ? f.orig.src : pick({"203.0.113.1", "203.0.113.70"});
    f.reply.dport = f.orig.sport;
    f.status = (rng() % 2 ? conntrack::kDstNat : 0) | (rng() % 2 ? conntrack::kSrcNat : 0);
    out.push_back(f);
  }
  for (const char* v6 : {"2001:db8:1::5", "2001:db8:2::5"}) {  // both families in one table
    conntrack::Flow f;
    f.proto = 6;
    f.orig = {*base::parse_addr(v6), *base::parse_addr("2001:db8:ffff::1"), 40000, 443};
    f.reply = {f.orig.dst, *base::parse_addr("2001:db8:ffff::2"), 443, 40000};
    out.push_back(f);
  }
  return out;
}

uint64_t flows_of(const std::vector<status::Count>& counts, const std::string& name) {
  for (const auto& c : counts)
    if (c.name == name) return c.flows;
  FAIL("no count for " << name);
  return 0;
}

}  // namespace

TEST_CASE("status counts each entry's flows as a scan of every flow against every entry would") {
  kernel::Live live = live_of(kSpec);
  std::vector<conntrack::Flow> flows = random_flows(3000);
  status::Report r;
  status::count_entries(live, flows, r);
  // The scan: every translation of an entry once, every range of a subnet.
  std::map<std::string, std::set<conntrack::Translation>> translations;
  std::map<std::string, uint64_t> subnets, statics;
  for (const auto& ls : live.sets)
    for (const auto& e : ls.set.elements) {
      if (auto t = plan::translation_of(ls.set, e); t && ls.set.role == nft::Role::DnatMap)
        translations[t->entry].insert(*t);
      const auto* key = e.key.size() == 1 ? std::get_if<ir::AddrRange>(&e.key[0]) : nullptr;
      if (key && ls.set.role == nft::Role::Subnet)
        for (const auto& f : flows) subnets[e.entry] += key->contains(f.orig.src) && f.reply.dst != f.orig.src;
      if (key && ls.set.role == nft::Role::StaticSnat)
        for (const auto& f : flows) statics[e.entry] += f.orig.src == key->first || f.reply.src == key->first;
    }
  REQUIRE(translations.size() == 4);
  for (const auto& it : translations) {
    const std::string& entry = it.first;
    uint64_t n = 0;
    for (const auto& t : it.second)
      for (const auto& f : flows) n += conntrack::matches(t, f);
    CAPTURE(entry);
    CHECK(n > 0);  // the random flows reach every entry
    CHECK(flows_of(r.forwards, entry) == n);
  }
  REQUIRE(subnets.size() == 3);
  for (const auto& it : subnets) {
    const std::string& entry = it.first;
    CAPTURE(entry);
    CHECK(flows_of(r.subnets, entry) == it.second);
  }
  CHECK(subnets["lab"] > 0);  // counted in both overlapping subnets
  CHECK(subnets["v6"] == 1);
  REQUIRE(statics.size() == 1);
  CHECK(flows_of(r.statics, "mail") == statics["mail"]);
  uint64_t redirected = 0;
  status::Attribution who(live);
  for (const auto& f : flows)
    if (auto t = who.of(f); t && t->kind == "redirect") ++redirected;
  CHECK(redirected > 0);
  CHECK(flows_of(r.redirects, "proxy") == redirected);
}

TEST_CASE("a flow is named by the first forward, in the live table's order, that translated it") {
  kernel::Live live = live_of(kSpec);
  std::vector<conntrack::Translation> in_order;
  for (const auto& ls : live.sets)
    for (const auto& e : ls.set.elements)
      if (auto t = plan::translation_of(ls.set, e)) in_order.push_back(*t);
  status::Attribution who(live);
  size_t named = 0;
  for (const auto& f : random_flows(3000)) {
    auto t = who.of(f);
    if (!(f.status & conntrack::kDstNat)) continue;
    std::string want;
    for (const auto& x : in_order)
      if (conntrack::matches(x, f)) {
        want = x.entry;
        break;
      }
    if (want.empty()) continue;
    ++named;
    REQUIRE(t);
    CHECK(t->entry == want);
    CHECK(t->kind == (f.status & conntrack::kSrcNat ? "dnat+snat" : "dnat"));
  }
  CHECK(named > 20);
}

TEST_CASE("translations of one target with other destinations, ports or protocols count apart") {
  auto tr = [](const char* entry, uint8_t proto, uint16_t port, const char* dst, const char* target, uint16_t tport) {
    conntrack::Translation t{entry, proto, port, std::nullopt, *base::parse_addr(target), tport};
    if (dst) t.destination = base::parse_addr(dst);
    return t;
  };
  conntrack::TranslationIndex index(
      {tr("a", 6, 80, "203.0.113.5", "10.0.0.5", 8080), tr("b", 6, 80, "203.0.113.6", "10.0.0.5", 8080),
       tr("c", 6, 80, nullptr, "10.0.0.5", 8080), tr("d", 17, 80, nullptr, "10.0.0.5", 8080),
       tr("e", 0, 0, nullptr, "10.0.0.5", 0)});
  std::vector<conntrack::Flow> flows{test::dnat_flow("198.51.100.1", "203.0.113.5", 80, "10.0.0.5", 8080),
                                     test::dnat_flow("198.51.100.1", "203.0.113.6", 80, "10.0.0.5", 8080),
                                     test::dnat_flow("198.51.100.1", "203.0.113.7", 80, "10.0.0.5", 8080, 17),
                                     test::dnat_flow("198.51.100.1", "203.0.113.7", 443, "10.0.0.5", 443)};
  CHECK(index.count(flows) == std::vector<size_t>{1, 1, 2, 1, 4});
  CHECK(index.first(flows[0]) == 0u);
  CHECK(index.first(flows[1]) == 1u);
  CHECK(index.first(flows[2]) == 3u);
  CHECK(index.first(flows[3]) == 4u);
  CHECK_FALSE(index.first(test::dnat_flow("198.51.100.1", "203.0.113.7", 80, "10.0.0.6", 8080)));
}
