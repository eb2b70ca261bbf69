#include <doctest/doctest.h>

#include "helpers.h"
#include "nft/build.h"
#include "nft/render.h"

using namespace natc;
using test::front;

namespace {

nft::Table table(const std::string& yaml) {
  auto r = front(yaml);
  REQUIRE(r.diags.errors() == 0);
  return nft::build(r.ir);
}

size_t rules(const nft::Table& t) {
  size_t n = 0;
  for (const auto& c : t.chains) n += c.rules.size();
  return n;
}

// The set with `role` (and, for DNAT maps, with or without a destination
// in its key): found by what it is, as everything after the builder finds
// it, not by the name the builder gave it.
const nft::Set* find(const nft::Table& t, nft::Role role, bool keyed_by_destination_or_map = false) {
  for (const auto& s : t.sets) {
    if (s.role != role) continue;
    bool flag = role == nft::Role::DnatMap ? s.keys(nft::Field::Daddr) : s.is_map();
    if (role == nft::Role::Hairpin || role == nft::Role::Internal || flag == keyed_by_destination_or_map) return &s;
  }
  return nullptr;
}

std::string spec_with(int forwards) {
  std::string y =
      "version: 1\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/16, egress: eth0, snat: masquerade}]\n"
      "port_forwards:\n";
  for (int i = 0; i < forwards; ++i)
    y += "  - {name: f" + std::to_string(i) + ", ingress: eth0, protocol: tcp, port: " + std::to_string(1000 + i) +
         ", to: 10.0.1.5}\n";
  return y;
}

}  // namespace

TEST_CASE("more port forwards grow a map, never a chain") {
  auto one = table(spec_with(1)), many = table(spec_with(1000));
  CHECK(rules(one) == rules(many));
  const nft::Set* map = find(many, nft::Role::DnatMap);
  REQUIRE(map);
  CHECK(map->elements.size() == 1000);
  CHECK(map->elements[7].entry == "f7");
}

TEST_CASE("subnets with one egress and translation share one interval set") {
  auto t = table(
      "version: 1\n"
      "subnets:\n"
      "  - {name: a, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}\n"
      "  - {name: b, cidr: 10.0.1.0/24, egress: eth0, snat: masquerade}\n"
      "  - {name: c, cidr: 10.0.2.0/24, egress: eth0, snat: {to: 203.0.113.9}}\n");
  const nft::Set* masq = find(t, nft::Role::Subnet, /*map=*/false);
  REQUIRE(masq);
  CHECK(masq->interval);
  CHECK(masq->elements.size() == 2);
  const nft::Set* snat = find(t, nft::Role::Subnet, /*map=*/true);
  REQUIRE(snat);
  CHECK(snat->is_map());
  CHECK(nft::to_text(snat->elements[0]) == "10.0.2.0/24 comment \"c\" : 203.0.113.9");
}

TEST_CASE("a pool with ports gets a TCP/UDP rule with ports and one for other protocols") {
  auto t = table(
      "version: 1\n"
      "subnets: [{name: a, cidr: 10.0.0.0/24, egress: eth0, snat: {pool: p}}]\n"
      "snat_pools: [{name: p, addresses: 203.0.113.61-203.0.113.63, ports: 1024-2047, fully_random: true}]\n");
  const auto& post = t.chains[1];
  REQUIRE(post.rules.size() == 3);
  CHECK(nft::to_text(post.rules[0].stmts[1]) == "meta l4proto tcp");
  CHECK(nft::to_text(post.rules[1].stmts[1]) == "meta l4proto udp");
  CHECK(nft::to_text(post.rules[0].stmts.back()) == "snat ip to 203.0.113.61-203.0.113.63:1024-2047 fully-random");
  CHECK(nft::to_text(post.rules[2].stmts.back()) == "snat ip to 203.0.113.61-203.0.113.63 fully-random");
}

TEST_CASE("hairpin masquerades DNAT'd flows from internal networks only") {
  auto t = table(
      "version: 1\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: {to: 203.0.113.50}}]\n"
      "port_forwards:\n"
      "  - {name: web, ingress: eth0, protocol: tcp, port: 443, to: 10.0.0.5, destination: 203.0.113.50, hairpin: "
      "true}\n");
  REQUIRE(find(t, nft::Role::Hairpin));
  const nft::Set* internal = find(t, nft::Role::Internal);
  REQUIRE(internal);
  REQUIRE(t.chains.size() == 4);
  CHECK(t.chains[2].name == "postrouting");
  CHECK(nft::to_text(t.chains[2].rules[0].stmts[1]) == "ip saddr @" + internal->name);
  // A hairpin forward matches on every interface: its map has no iifname.
  const nft::Set* map = find(t, nft::Role::DnatMap, /*by destination=*/true);
  REQUIRE(map);
  REQUIRE(t.chains[0].rules.size() == 1);
  CHECK(nft::to_text(t.chains[0].rules[0].stmts[0]) ==
        "dnat ip to ip daddr . meta l4proto . tcp dport map @" + map->name);
  // ... and the gateway's own connections reach it too (from_gateway
  // defaults to hairpin), never those to loopback.
  const nft::Chain& out = t.chains[1];
  CHECK(out.name == "output");
  CHECK(out.hook == nft::Hook::Output);
  REQUIRE(out.rules.size() == 2);
  CHECK(nft::to_text(out.rules[0].stmts[0]) == "ip daddr 127.0.0.0/8");
  CHECK(nft::to_text(out.rules[1].stmts[0]) == "dnat ip to ip daddr . meta l4proto . tcp dport map @dnat4_out_any");
}

TEST_CASE("from_gateway: opt in without hairpin, opt out with it; one key once in the output map") {
  auto t = table(
      "version: 1\n"
      "port_forwards:\n"
      "  - {name: a, ingress: eth0, protocol: tcp, port: 80, to: 10.0.0.5, from_gateway: true}\n"
      "  - {name: b, ingress: eth1, protocol: tcp, port: 80, to: 10.0.0.6, from_gateway: true}\n"
      "  - {name: c, ingress: eth0, protocol: tcp, port: 81, to: 10.0.0.7, hairpin: true, from_gateway: false}\n");
  REQUIRE(t.chains.size() == 4);
  const nft::Set* out = nullptr;
  for (const auto& s : t.sets)
    if (s.name == "dnat4_out_any_local") out = &s;
  REQUIRE(out);
  REQUIRE(out->elements.size() == 1);  // a's port 80; b's is the same key, c opted out
  CHECK(out->elements[0].entry == "a");
  CHECK(nft::to_text(t.chains[1].rules[1].stmts[0]) == "fib daddr type local");
  CHECK(table("version: 1\nport_forwards: [{name: a, ingress: eth0, protocol: tcp, port: 80, to: 10.0.0.5}]\n")
            .chains.size() == 3);  // no output chain without a forward from the gateway
}

TEST_CASE("IPv6 NAT targets with ports are bracketed") {
  auto t = table(
      "version: 1\n"
      "subnets: [{name: a, cidr: 'fd00::/64', egress: eth0, snat: {pool: p}}]\n"
      "snat_pools: [{name: p, addresses: '2001:db8::1-2001:db8::4', ports: 2000-3000}]\n");
  CHECK(nft::to_text(t.chains[1].rules[0].stmts.back()) == "snat ip6 to [2001:db8::1]-[2001:db8::4]:2000-3000");
}

TEST_CASE("lists in forwarding.rules become one plain rule per combination") {
  auto t = table(
      "version: 1\n"
      "forwarding: {rules: [{name: r, from: [10.8.0.0/24, 10.9.0.0/24], to: 10.0.0.2, protocol: [tcp, udp], port: "
      "53}]}\n");
  const auto& fwd = t.chains[2];
  REQUIRE(fwd.rules.size() == 1 + 4);
  CHECK(nft::to_text(fwd.rules[4].stmts[0]) == "ip saddr 10.9.0.0/24");
  CHECK(nft::to_text(fwd.rules[4].stmts[2]) == "udp dport 53");
  CHECK(fwd.rules[4].comment == "r");
}

TEST_CASE("the forward chain policy follows forwarding.policy") {
  CHECK_FALSE(table("version: 1\nconntrack: {max: 1000}\n").chains[2].drop_policy);
  CHECK(table("version: 1\nforwarding: {policy: drop}\n").chains[2].drop_policy);
}

TEST_CASE("redirects come after the port forwards, their exceptions before them") {
  auto t = table(
      "version: 1\n"
      "port_forwards: [{name: web, ingress: eth0, protocol: tcp, port: 80, to: 10.0.0.5}]\n"
      "redirects:\n"
      "  - {name: proxy, ingress: eth1, protocol: tcp, port: 80, to_port: 3128, except: [10.0.0.2, 10.0.0.3]}\n"
      "  - {name: dns, ingress: '*', protocol: udp, port: 53}\n");
  const auto& pre = t.chains[0].rules;
  REQUIRE(pre.size() == 4);
  CHECK(pre[0].comment == "port forwards via eth0");
  CHECK(nft::to_text(pre[1].stmts[1]) == "ip saddr 10.0.0.2/31");  // the exceptions, merged
  CHECK(nft::to_text(pre[1].stmts.back()) == "accept");
  CHECK(pre[1].comment == "proxy (except)");
  CHECK(nft::to_text(pre[2].stmts.back()) == "redirect to :3128");
  CHECK(pre[3].stmts.size() == 2);  // '*': no interface match
  CHECK(nft::to_text(pre[3].stmts.back()) == "redirect");
}
