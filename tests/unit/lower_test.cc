#include <doctest/doctest.h>

#include "helpers.h"

using namespace natc;
using test::front;

TEST_CASE("aliases resolve to kernel names; wildcards pass through") {
  auto r = front(
      "version: 1\n"
      "interfaces: {wan: eth0}\n"
      "subnets:\n"
      "  - {name: a, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}\n"
      "  - {name: b, cidr: 10.0.1.0/24, egress: ppp*, snat: masquerade}\n");
  REQUIRE(r.ir.subnets.size() == 2);
  CHECK(r.ir.subnets[0].egress.name == "eth0");
  CHECK(r.ir.subnets[0].egress.label == "wan");
  CHECK(r.ir.subnets[1].egress.name == "ppp*");
}

TEST_CASE("a port range maps 1:1 onto the target range, per protocol") {
  auto r = front(
      "version: 1\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}]\n"
      "port_forwards:\n"
      "  - {name: g, ingress: eth0, protocol: [tcp, udp], port: 8000-8002, to: 10.0.0.5:9000-9002}\n"
      "  - {name: same, ingress: eth0, protocol: udp, port: 5060, to: 10.0.0.6}\n");
  REQUIRE(r.ir.forwards.size() == 2);
  const auto& p = r.ir.forwards[0].ports;
  REQUIRE(p.size() == 6);
  CHECK(p[0].proto == ir::Proto::Tcp);
  CHECK(p[0].port == 8000);
  CHECK(p[0].to_port == 9000);
  CHECK(p[5].proto == ir::Proto::Udp);
  CHECK(p[5].port == 8002);
  CHECK(p[5].to_port == 9002);
  CHECK(r.ir.forwards[1].ports[0].to_port == 5060);
}

TEST_CASE("a Docker publish becomes a hairpin forward on any interface") {
  auto r = front(
      "version: 1\n"
      "docker:\n"
      "  bridges:\n"
      "    - name: docker0\n"
      "      cidr: 172.17.0.0/16\n"
      "      publish: [{name: nginx, protocol: tcp, port: 8081, to: 172.17.0.2:80}]\n");
  REQUIRE(r.ir.forwards.size() == 1);
  const auto& f = r.ir.forwards[0];
  CHECK(f.entry.name == "docker0/nginx");
  CHECK(f.ingress.kind == ir::IfMatch::Kind::Any);
  CHECK_FALSE(f.destination);
  CHECK(f.hairpin);
  REQUIRE(r.ir.subnets.size() == 1);
  CHECK(r.ir.subnets[0].egress.kind == ir::IfMatch::Kind::IsNot);
  CHECK(r.ir.subnets[0].egress.name == "docker0");
}

TEST_CASE("a bridge without masquerade is still an internal network") {
  auto r = front(
      "version: 1\n"
      "docker: {bridges: [{name: br0, cidr: 172.18.0.0/16, masquerade: false}]}\n");
  REQUIRE(r.ir.subnets.size() == 1);
  CHECK(r.ir.subnets[0].snat == ir::SnatKind::None);
}

TEST_CASE("ip_forward comes first, then conntrack keys by their sysctl names") {
  auto r = front(
      "version: 1\n"
      "conntrack: {max: 1000, timeouts: {tcp_established: 600, udp: 30, udp_stream: 120}}\n"
      "subnets:\n"
      "  - {name: v6, cidr: 'fd00::/64', egress: eth0, snat: masquerade}\n"
      "  - {name: v4, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}\n");
  std::vector<std::string> keys;
  for (const auto& s : r.ir.sysctls) keys.push_back(s.key + "=" + s.value);
  CHECK(keys == std::vector<std::string>{
                    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.netfilter.nf_conntrack_max=1000",
                    "net.netfilter.nf_conntrack_tcp_timeout_established=600",
                    "net.netfilter.nf_conntrack_udp_timeout=30", "net.netfilter.nf_conntrack_udp_timeout_stream=120"});
  CHECK(r.ir.sysctls[0].entry.name == "v4");
  CHECK(ir::sysctl_path("net.ipv4.ip_forward") == "net/ipv4/ip_forward");
}

TEST_CASE("a conntrack-only spec asks for no forwarding") {
  auto r = front("version: 1\nconntrack: {max: 1000}\n");
  REQUIRE(r.ir.sysctls.size() == 1);
  CHECK(r.ir.sysctls[0].key == "net.netfilter.nf_conntrack_max");
}

TEST_CASE("allow_from anywhere means no source match; overlapping sources merge") {
  auto r = front(
      "version: 1\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}]\n"
      "port_forwards:\n"
      "  - {name: a, ingress: eth0, protocol: tcp, port: 1, to: 10.0.0.5, allow_from: [0.0.0.0/0]}\n"
      "  - {name: b, ingress: eth0, protocol: tcp, port: 2, to: 10.0.0.5, allow_from: [10.0.0.0/8, 10.1.0.0/16, "
      "192.0.2.0/24]}\n");
  CHECK(r.ir.forwards[0].allow_from.empty());
  CHECK(r.ir.forwards[1].allow_from.size() == 2);
}
