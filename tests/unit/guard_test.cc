// The lockout guard: ports of the gateway's own services that a forward
// would take, and what a next ruleset would do to management sessions.
#include <doctest/doctest.h>

#include "fake_system.h"
#include "guard/guard.h"
#include "helpers.h"
#include "kernel/preview.h"
#include "nft/build.h"
#include "plan/plan.h"
#include "system/facts.h"

using namespace natc;

namespace {

base::Addr ip(const char* s) { return *base::parse_addr(s); }

kernel::Listener sshd(const char* addr = "0.0.0.0") {
  kernel::Listener l;
  l.proto = 6, l.addr = ip(addr), l.any = l.addr == base::Addr{l.addr.family}, l.port = 22, l.process = "sshd";
  return l;
}

std::string gw_spec(const std::string& forwards, const std::string& policy = "accept") {
  return "version: 1\n"
         "interfaces: {wan: eth0, lan: eth1}\n"
         "forwarding: {policy: " +
         policy +
         "}\n"
         "subnets: [{name: lan, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}]\n"
         "port_forwards:\n" +
         forwards;
}

struct Machine : test::FakeSystem {
  Machine() {
    kernel.previewer = kernel::preview;
    kernel.routes[ip("203.0.113.1")] = {"", true};
    kernel.routes[ip("203.0.113.2")] = {"eth0", false};
    kernel.routes[ip("10.0.0.5")] = {"eth1", false};
    kernel.routes[ip("10.9.0.5")] = {"eth2", false};
  }
};

std::vector<std::string> cuts_for(Machine& m, const std::string& yaml, const std::optional<guard::Session>& me) {
  auto fe = test::front(yaml);
  REQUIRE(fe.ok());
  system::System sys = m.get();
  plan::Plan p = plan::make(fe.ir, m.kernel.read(), sys.sysctls);
  return system::cuts(fe.ir, p, sys, me);
}

}  // namespace

TEST_CASE("$SSH_CONNECTION is the caller's session, or nothing") {
  auto s = guard::from_ssh_connection("198.51.100.7 40022 203.0.113.1 22");
  REQUIRE(s);
  CHECK(s->client == ip("198.51.100.7"));
  CHECK(s->client_port == 40022);
  CHECK(s->server_port == 22);
  CHECK(s->yours);
  CHECK(s->describe() == "your session tcp 198.51.100.7:40022 -> 203.0.113.1:22");
  CHECK(guard::from_ssh_connection("2001:db8::7 5000 2001:db8::1 22")->describe() ==
        "your session tcp [2001:db8::7]:5000 -> [2001:db8::1]:22");
  for (const char* bad : {"", "198.51.100.7 40022 203.0.113.1", "x 1 203.0.113.1 22", "198.51.100.7 0 203.0.113.1 22",
                          "198.51.100.7 70000 203.0.113.1 22", "198.51.100.7 1 2001:db8::1 22"})
    CHECK_FALSE(guard::from_ssh_connection(bad));
  CHECK_FALSE(guard::from_ssh_connection(nullptr));
}

TEST_CASE("a forward that takes the port a local service listens on is an error naming it") {
  auto fe =
      test::front(gw_spec("  - {name: x, ingress: wan, protocol: tcp, port: 22, to: 10.0.0.5, destination: "
                          "203.0.113.50}\n"));
  REQUIRE(fe.ok());
  base::Diagnostics d;
  guard::captures(fe.ir, {sshd()}, d);
  REQUIRE(d.all().size() == 1);
  CHECK(d.all()[0].code == base::Code::CapturedListener);
  CHECK(d.all()[0].message ==
        "port forward 'x' takes tcp/22 on 203.0.113.50, where sshd listens: new SSH connections to this gateway "
        "would go to 10.0.0.5");
  base::Diagnostics other;  // sshd on another address, or another port: fine
  guard::captures(fe.ir, {sshd("203.0.113.9")}, other);
  CHECK(other.all().empty());
  auto allowed =
      test::front(gw_spec("  - {name: x, ingress: wan, protocol: tcp, port: 22, to: 10.0.0.5, destination: "
                          "203.0.113.50, allow_capture: true}\n"));
  base::Diagnostics quiet;
  guard::captures(allowed.ir, {sshd()}, quiet);
  CHECK(quiet.all().empty());
  kernel::Listener dual = sshd("::");
  dual.v6only = false;  // [::]:22 without IPV6_V6ONLY takes IPv4 too
  base::Diagnostics v4;
  guard::captures(fe.ir, {dual}, v4);
  CHECK(v4.all().size() == 1);
  auto local = test::front(gw_spec("  - {name: y, ingress: wan, protocol: tcp, port: 22, to: 10.0.0.5}\n"));
  base::Diagnostics loopback;  // a forward without destination never takes loopback's port
  guard::captures(local.ir, {sshd("127.0.0.1")}, loopback);
  CHECK(loopback.all().empty());
}

TEST_CASE("the guard finds a session that new connections could not reach again under policy drop") {
  Machine m;
  // A routed session from an undeclared network to a LAN host's SSH.
  m.conntrack.list = {test::dnat_flow("10.9.0.5", "10.0.0.5", 22, "10.0.0.5", 22)};
  auto fine = cuts_for(m, gw_spec("  - {name: w, ingress: wan, protocol: tcp, port: 8080, to: 10.0.0.5}\n"), {});
  CHECK(fine.empty());
  auto cut = cuts_for(m, gw_spec("  - {name: w, ingress: wan, protocol: tcp, port: 8080, to: 10.0.0.5}\n", "drop"), {});
  REQUIRE(cut.size() == 1);
  CHECK(cut[0] ==
        "this change would cut the session tcp 10.9.0.5:40000 -> 10.0.0.5:22: new connections like it would be "
        "dropped by table inet natc, chain forward (policy drop)");
}

TEST_CASE("the guard finds the caller's session to the gateway that a new forward would send elsewhere") {
  Machine m;
  auto me = guard::from_ssh_connection("203.0.113.2 40100 203.0.113.1 22");
  auto cut = cuts_for(m,
                      gw_spec("  - {name: take, ingress: wan, protocol: tcp, port: 22, to: 10.0.0.5, destination: "
                              "203.0.113.1, allow_capture: true}\n"),
                      me);
  REQUIRE(cut.size() == 1);
  CHECK(cut[0] ==
        "this change would cut your session tcp 203.0.113.2:40100 -> 203.0.113.1:22: new connections like it would "
        "go to 10.0.0.5:22 instead of this gateway");
  CHECK(cuts_for(m, gw_spec("  - {name: w, ingress: wan, protocol: tcp, port: 8080, to: 10.0.0.5}\n"), me).empty());
}

TEST_CASE("a session through a forward whose target moves would be reset") {
  Machine m;
  auto before = test::front(gw_spec("  - {name: s, ingress: wan, protocol: tcp, port: 2222, to: \"10.0.0.5:22\"}\n"));
  m.kernel.load(nft::build(before.ir));
  m.conntrack.list = {test::dnat_flow("203.0.113.2", "203.0.113.1", 2222, "10.0.0.5", 22)};
  auto cut = cuts_for(m, gw_spec("  - {name: s, ingress: wan, protocol: tcp, port: 2222, to: \"10.0.0.6:22\"}\n"), {});
  REQUIRE(cut.size() >= 1);
  CHECK(cut[0] ==
        "this change would cut the session tcp 203.0.113.2:40000 -> 203.0.113.1:2222: port forward 's' moves, and its "
        "flows are reset (--keep-flows keeps them)");
}
