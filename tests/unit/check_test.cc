#include <doctest/doctest.h>

#include "check/check.h"
#include "helpers.h"

using namespace natc;
using test::front;

namespace {
std::string forwards(const std::string& items) {
  return "version: 1\n"
         "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: {to: 203.0.113.1}}]\n"
         "port_forwards:\n" +
         items;
}
}  // namespace

TEST_CASE("interface matches overlap as the kernel would match them") {
  using K = ir::IfMatch::Kind;
  ir::IfMatch eth0{K::Is, "eth0"}, eth1{K::Is, "eth1"}, eth_any{K::Is, "eth*"}, not_docker{K::IsNot, "docker0"},
      docker{K::Is, "docker0"}, any{K::Any};
  CHECK_FALSE(check::interfaces_overlap(eth0, eth1));
  CHECK(check::interfaces_overlap(eth0, eth_any));
  CHECK(check::interfaces_overlap(eth_any, eth1));
  CHECK(check::interfaces_overlap(not_docker, eth0));
  CHECK_FALSE(check::interfaces_overlap(not_docker, docker));
  CHECK(check::interfaces_overlap(any, docker));
}

TEST_CASE("the same port on another destination, source range or interface is not a duplicate") {
  auto r = front(
      forwards("  - {name: a, ingress: eth0, protocol: tcp, port: 443, to: 10.0.0.5, destination: 203.0.113.1}\n"
               "  - {name: b, ingress: eth0, protocol: tcp, port: 443, to: 10.0.0.6, destination: 203.0.113.2}\n"
               "  - {name: c, ingress: eth1, protocol: tcp, port: 443, to: 10.0.0.7}\n"
               "  - {name: d, ingress: eth0, protocol: udp, port: 443, to: 10.0.0.7}\n"
               "  - {name: e, ingress: eth0, protocol: tcp, port: 22, to: 10.0.0.8, allow_from: [192.0.2.0/24]}\n"
               "  - {name: f, ingress: eth0, protocol: tcp, port: 22, to: 10.0.0.9, allow_from: [198.51.100.0/24]}\n"));
  CHECK(r.codes() == "");
}

TEST_CASE("a forward on all addresses collides with one on a single address") {
  auto r =
      front(forwards("  - {name: a, ingress: eth0, protocol: tcp, port: 443, to: 10.0.0.5, destination: 203.0.113.1}\n"
                     "  - {name: b, ingress: eth0, protocol: tcp, port: 440-450, to: 10.0.0.6}\n"));
  CHECK(r.codes() == "E2002");
  CHECK(r.diags.all()[0].message == "port tcp/443 is forwarded twice: by 'a' and by 'b'");
}

TEST_CASE("a wildcard ingress collides with the interfaces it covers") {
  auto r =
      front(forwards("  - {name: a, ingress: eth*, protocol: tcp, port: 80, to: 10.0.0.5}\n"
                     "  - {name: b, ingress: eth3, protocol: tcp, port: 80, to: 10.0.0.6}\n"));
  CHECK(r.codes() == "E2002");
}

TEST_CASE("manual FORWARD accepts must be covered by a rule's address, protocol and port") {
  auto spec = [](const std::string& rule) {
    return "version: 1\n"
           "forwarding: {policy: drop, rules: [" +
           rule +
           "]}\n"
           "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}]\n"
           "port_forwards:\n"
           "  - {name: w, ingress: eth0, protocol: tcp, port: 8080, to: 10.0.0.5:80, forward_accept: manual}\n";
  };
  CHECK(front(spec("{name: r, to: 10.0.0.0/24}")).codes() == "");
  CHECK(front(spec("{name: r, to: 10.0.0.5, protocol: tcp, port: 80}")).codes() == "");
  CHECK(front(spec("{name: r, to: 10.0.0.5, protocol: tcp, port: 8080}")).codes() == "E2001");
  CHECK(front(spec("{name: r, to: 10.0.0.5, protocol: udp, port: 80}")).codes() == "E2001");
  CHECK(front(spec("{name: r, to: 10.0.0.6}")).codes() == "E2001");
}

TEST_CASE("100k forwards on one port at distinct destinations are no duplicates") {
  std::string items;
  for (int i = 0; i < 100000; ++i)
    items += "  - {name: f" + std::to_string(i) +
             ", ingress: eth0, protocol: tcp, port: 443, to: 10.0.0.5, destination: 100." +
             std::to_string(64 + i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) +
             "}\n";
  auto r = front(forwards(items));
  CHECK(r.diags.errors() == 0);
  CHECK(r.ir.forwards.size() == 100000);
}

TEST_CASE("lints stay quiet on a spec with errors") {
  auto r =
      front(forwards("  - {name: a, ingress: eth0, protocol: tcp, port: 80, to: 192.168.9.9}\n"
                     "  - {name: b, ingress: eth0, protocol: tcp, port: 80, to: 192.168.9.10}\n"));
  CHECK(r.codes() == "E2002");
  auto clean = front(forwards("  - {name: a, ingress: eth0, protocol: tcp, port: 80, to: 192.168.9.9}\n"));
  CHECK(clean.codes() == "W3002");
}

TEST_CASE("live lints weigh the spec against the machine") {
  auto r = front(
      "version: 1\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: {pool: p}}]\n"
      "snat_pools: [{name: p, addresses: 203.0.113.1, ports: 40000-40009}]\n"
      "conntrack: {max: 4000000, buckets: 65536}\n");
  REQUIRE(r.diags.errors() == 0);
  check::LiveFacts f;
  f.mem_total = uint64_t(4) << 30;  // 4 GiB: a full table of 4M entries is ~1.5 GiB
  f.pool_busiest["p"] = {6, "198.51.100.7 tcp/443"};
  base::Diagnostics d;
  check::live_lints(*r.spec, r.ir, f, d);
  std::string codes;
  for (const auto& x : d.all()) codes += std::string(base::code_id(x.code)) + " ";
  CHECK(codes == "W3008 W3009 W3010 ");
  CHECK(d.all()[2].message ==
        "SNAT pool 'p' carries 6 flows to 198.51.100.7 tcp/443 now, of about 10 it can hold for one destination");

  check::LiveFacts roomy;
  roomy.mem_total = uint64_t(64) << 30;
  roomy.pool_busiest["p"] = {5, "198.51.100.7 tcp/443"};  // exactly half: fine
  auto ok = front(
      "version: 1\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: {pool: p}}]\n"
      "snat_pools: [{name: p, addresses: 203.0.113.1, ports: 40000-40009}]\n"
      "conntrack: {max: 262144, buckets: 65536}\n");
  base::Diagnostics quiet;
  check::live_lints(*ok.spec, ok.ir, roomy, quiet);
  CHECK(quiet.all().empty());
}

TEST_CASE("W3001 finds the address a forward names on the egress, through aliases and hairpin") {
  auto r = front(
      "version: 1\n"
      "interfaces: {wan: eth0}\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}]\n"
      "port_forwards: [{name: w, ingress: wan, protocol: tcp, port: 80, to: 10.0.0.5, destination: 203.0.113.9,"
      " hairpin: true}]\n");
  REQUIRE(r.codes() == "W3001 W3003");
  CHECK(r.diags.all()[0].message ==
        "subnet 'lan' masquerades on eth0, whose address 203.0.113.9 the spec already names");
}

namespace {

std::string live_codes(const test::Result& r, const check::LiveFacts& f, base::Diagnostics* out = nullptr) {
  base::Diagnostics d;
  check::live_lints(*r.spec, r.ir, f, d);
  std::string codes;
  for (const auto& x : d.all()) codes += std::string(base::code_id(x.code)) + " ";
  if (out) *out = d;
  return codes;
}

base::Addr ip(const char* text) { return *base::parse_addr(text); }

}  // namespace

TEST_CASE("W3015: interfaces the host does not have, wildcards that match none; nothing from a snapshot") {
  auto r = front(
      "version: 1\n"
      "interfaces: {wan: eth0, lan: eth1}\n"
      "subnets:\n"
      "  - {name: a, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}\n"
      "  - {name: b, cidr: 10.1.0.0/24, egress: 'ppp*', snat: masquerade}\n"
      "port_forwards: [{name: w, ingress: lan, protocol: tcp, port: 80, to: 10.0.0.5}]\n");
  REQUIRE(r.diags.errors() == 0);
  check::LiveFacts f;
  CHECK(live_codes(r, f) == "");  // no interfaces known: a snapshot
  f.interfaces = std::vector<check::LiveFacts::Interface>{{"eth0", {}, {ip("203.0.113.1"), ip("203.0.113.2")}}};
  base::Diagnostics d;
  CHECK(live_codes(r, f, &d) == "W3015 W3015 ");
  CHECK(d.all()[0].message == "no interface of this host matches ppp* now");
  CHECK(d.all()[1].message == "interface lan (eth1) does not exist on this host");
  f.interfaces->push_back({"eth1", {}, {}});
  f.interfaces->push_back({"ppp0", {}, {}});
  CHECK(live_codes(r, f) == "");
}

TEST_CASE("W3001 from the machine: one configured address of the family, none leased") {
  auto r = front(
      "version: 1\n"
      "interfaces: {wan: eth0}\n"
      "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}]\n");
  REQUIRE(r.diags.errors() == 0);
  check::LiveFacts f;
  f.interfaces = std::vector<check::LiveFacts::Interface>{{"eth0", {ip("203.0.113.1"), ip("2001:db8::1")}, {}}};
  base::Diagnostics d;
  CHECK(live_codes(r, f, &d) == "W3001 ");
  CHECK(d.all()[0].message ==
        "subnet 'lan' masquerades on wan (eth0), whose only address 203.0.113.1 is configured statically on this host");
  (*f.interfaces)[0].leased = {ip("203.0.113.7")};  // DHCP as well: the address can move
  CHECK(live_codes(r, f) == "");
  (*f.interfaces)[0].leased = {};
  (*f.interfaces)[0].configured.push_back(ip("203.0.113.2"));  // two: masquerade picks by route
  CHECK(live_codes(r, f) == "");
}

namespace {
std::string statics(const std::string& items, const std::string& more = "") {
  return "version: 1\n"
         "interfaces: {wan: eth0}\n"
         "subnets: [{name: lan, cidr: 10.0.0.0/16, egress: wan, snat: masquerade}]\n" +
         more + "static_nat:\n" + items;
}
}  // namespace

TEST_CASE("static NAT: prefix pairs of one length, each address in one pair, no port forward from its addresses") {
  CHECK(front(statics("  - {name: a, public: 203.0.113.64/28, private: 10.0.1.64/28, interface: wan}\n")).codes() ==
        "");
  auto unequal = front(statics("  - {name: a, public: 203.0.113.64/28, private: 10.0.1.0/24, interface: wan}\n"));
  CHECK(unequal.codes() == "E2012");
  CHECK(unequal.diags.all()[0].message ==
        "static NAT 'a': public 203.0.113.64/28 and private 10.0.1.0/24 differ in length");
  CHECK(front(statics("  - {name: a, public: 203.0.113.70, private: 10.0.0.7, interface: wan}\n"
                      "  - {name: b, public: 203.0.113.64/29, private: 10.0.2.0/29, interface: wan}\n"))
            .codes() == "E2012");  // .70 is in .64/29
  CHECK(front(statics("  - {name: a, public: 203.0.113.70, private: 10.0.0.7, interface: wan}\n",
                      "port_forwards: [{name: w, ingress: wan, protocol: tcp, port: 80, to: 10.0.0.9, "
                      "destination: 203.0.113.70}]\n"))
            .codes() == "E2012");
  CHECK(front(statics("  - {name: a, public: 203.0.113.70, private: '2001:db8::7', interface: wan}\n")).codes() ==
        "E2005");
  CHECK(front(statics("  - {name: a, public: 10.0.0.0/8, private: 172.16.0.0/8, interface: wan}\n")).codes() ==
        "E1011");  // host bits: 172.16.0.0/8 is not a network
  CHECK(front(statics("  - {name: a, public: 10.0.0.0/8, private: 11.0.0.0/8, interface: wan}\n")).codes() ==
        "E2012");  // 16M hosts: more than natc expands
  CHECK(front(statics("  - {name: a, public: 203.0.113.70, private: 10.0.0.7, interface: '*'}\n")).codes() == "E2006");
}

TEST_CASE("NPTv6: IPv6 only, prefixes of one length; helpers: known kinds and their protocols") {
  auto npt = [](const std::string& inside, const std::string& outside) {
    return front("version: 1\nnptv6: [{name: s, inside: '" + inside + "', outside: '" + outside +
                 "', interface: eth0}]\n");
  };
  CHECK(npt("fd00:10::/64", "2001:db8:1::/64").codes() == "");
  CHECK(npt("fd00:10::/48", "2001:db8:1::/64").codes() == "E2012");
  CHECK(npt("10.0.0.0/24", "192.0.2.0/24").codes() == "E2005 E2005");
  auto helper = [](const std::string& item) { return front("version: 1\nhelpers: [" + item + "]\n"); };
  CHECK(helper("{name: ftp, protocol: tcp, port: 21}").codes() == "");
  CHECK(helper("{name: h, helper: h323, protocol: [tcp, udp], port: 1719-1720}").codes() == "");
  CHECK(helper("{name: tftp, protocol: tcp, port: 69}").codes() == "E2013");
  auto typo = helper("{name: fpt, protocol: tcp, port: 21}");
  CHECK(typo.codes() == "E2013");
  CHECK(typo.diags.all()[0].help == "did you mean 'ftp'?");
}

TEST_CASE("W3018: a forward to FTP without the ftp helper on its arriving port; W3016 and W3017 from the machine") {
  std::string spec =
      "version: 1\ninterfaces: {wan: eth0}\n"
      "port_forwards: [{name: f, ingress: wan, protocol: tcp, port: 2121, to: '10.0.0.5:21'}]\n";
  CHECK(front(spec).codes() == "W3002 W3018");
  CHECK(front(spec + "helpers: [{name: ftp, protocol: tcp, port: 21}]\n").codes() == "W3002 W3018");
  CHECK(front(spec + "helpers: [{name: ftp, protocol: tcp, port: 2121}]\n").codes() == "W3002");

  auto r = front(statics("  - {name: a, public: 203.0.113.70, private: 10.0.0.7, interface: wan}\n",
                         "helpers: [{name: sip, protocol: udp, port: 5060}]\n"));
  REQUIRE(r.diags.errors() == 0);
  check::LiveFacts f;
  f.interfaces = std::vector<check::LiveFacts::Interface>{{"eth0", {ip("203.0.113.1"), ip("203.0.113.2")}, {}}};
  base::Diagnostics d;
  CHECK(live_codes(r, f, &d) == "W3016 ");
  CHECK(d.all()[0].message == "static NAT 'a': 203.0.113.70 is not on wan (eth0)");
  (*f.interfaces)[0].configured.push_back(ip("203.0.113.70"));
  f.missing_helpers = {"sip"};
  CHECK(live_codes(r, f, &d) == "W3017 ");
}
