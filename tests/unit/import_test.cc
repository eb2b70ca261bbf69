// natc import on hand-built rulesets (the expression lists iptables-nft
// writes): names, where the source comments go, the left-out list, the
// removal commands; natc explain on a spec's own table, without a kernel.
#include <doctest/doctest.h>

#include "explain/explain.h"
#include "frontend/frontend.h"
#include "import/import.h"
#include "import/lift.h"
#include "kernel/preview.h"
#include "nft/build.h"

namespace natc {
namespace {

namespace ct = cotenancy;
constexpr ct::Reg kReg1 = 16;

ct::Bytes ifname(const std::string& n) {
  ct::Bytes b(n.begin(), n.end());
  b.resize(16, 0);
  return b;
}
ct::Bytes addr(const std::string& a) {
  auto x = *base::parse_addr(a);
  return ct::Bytes(x.bytes.begin(), x.bytes.begin() + long(x.size()));
}
std::vector<ct::Expr> iif(const std::string& n) {
  return {ct::Meta{ct::MetaKey::IifName, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, ifname(n)}};
}
std::vector<ct::Expr> oif(const std::string& n) {
  return {ct::Meta{ct::MetaKey::OifName, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, ifname(n)}};
}
std::vector<ct::Expr> tcp_dport(uint8_t proto, uint16_t port) {
  return {ct::Meta{ct::MetaKey::L4Proto, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, {proto}},
          ct::Payload{ct::Base::Transport, 2, 2, kReg1},
          ct::Cmp{kReg1, ct::CmpOp::Eq, {uint8_t(port >> 8), uint8_t(port)}}};
}
std::vector<ct::Expr> saddr24(const std::string& net) {  // iptables-nft loads 3 bytes for a /24
  ct::Bytes a = addr(net);
  a.resize(3);
  return {ct::Payload{ct::Base::Network, 12, 3, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, a}};
}
std::vector<ct::Expr> daddr(const std::string& host) {
  return {ct::Payload{ct::Base::Network, 16, 4, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, addr(host)}};
}
ct::Expr dnat(const std::string& to, uint16_t port) {
  ct::NatAction n{ct::NatAction::Kind::Dnat};
  n.addr_min = n.addr_max = base::parse_addr(to);
  n.port_min = n.port_max = port;
  return ct::Nat{n};
}
ct::Expr masquerade() { return ct::Nat{ct::NatAction{ct::NatAction::Kind::Masquerade}}; }

template <class... Parts>
ct::Rule rule(uint64_t handle, Parts... parts) {
  ct::Rule r{handle, {}, {}};
  auto add = [&](auto&& p) {
    if constexpr (std::is_same_v<std::decay_t<decltype(p)>, std::vector<ct::Expr>>)
      r.exprs.insert(r.exprs.end(), p.begin(), p.end());
    else
      r.exprs.push_back(p);
  };
  (add(parts), ...);
  return r;
}

ct::Chain nat_chain(const std::string& name, ct::Hook hook, std::vector<ct::Rule> rules) {
  ct::Chain c;
  c.family = ct::Family::Ip, c.table = "nat", c.name = name, c.hook = hook, c.type = ct::ChainType::Nat;
  c.rules = std::move(rules);
  return c;
}

imports::Imported import(const ct::Ruleset& rs) {
  kernel::Interface lan{"eth1", {{*base::parse_addr("10.0.0.1"), true, 24}}};
  return imports::import_ruleset({rs, {}, std::vector<kernel::Interface>{lan}, "a test"});
}

bool validates(const std::string& spec) {
  frontend::Frontend fe;
  frontend::load_text("imported.yaml", spec, &fe);
  return fe.ok();
}

TEST_CASE("a home router imports whole: names from what entries do, each after the comment naming its rules") {
  ct::Ruleset rs;
  rs.chains.push_back(nat_chain("PREROUTING", ct::Hook::Prerouting,
                                {rule(2, iif("eth0"), tcp_dport(6, 8080), dnat("10.0.0.5", 80)),
                                 rule(3, iif("eth0"), tcp_dport(17, 8080), dnat("10.0.0.5", 80)),
                                 rule(4, iif("eth0"), tcp_dport(6, 2222), dnat("10.0.0.5", 22))}));
  rs.chains.push_back(nat_chain("POSTROUTING", ct::Hook::Postrouting, {rule(5, oif("eth0"), masquerade())}));
  imports::Imported im = import(rs);
  CHECK(im.left_out.empty());
  // tcp and udp to one target: one forward of both protocols.
  CHECK(im.spec.find("  # from ip nat PREROUTING handle 2, ip nat PREROUTING handle 3\n"
                     "  - name: dnat-8080\n    ingress: wan\n    protocol: [tcp, udp]\n") != std::string::npos);
  CHECK(im.spec.find("  - name: dnat-tcp-2222\n") != std::string::npos);
  // A masquerade of every source: the networks of the other interfaces.
  CHECK(im.spec.find("  # from ip nat POSTROUTING handle 5\n  - name: net-10.0.0.0-24\n    cidr: 10.0.0.0/24\n"
                     "    egress: wan\n    snat: masquerade\n") != std::string::npos);
  CHECK(im.spec.find("interfaces:\n  wan: eth0\n") != std::string::npos);
  CHECK(im.removal == std::vector<std::string>{
                          "nft delete rule ip nat PREROUTING handle 2", "nft delete rule ip nat PREROUTING handle 3",
                          "nft delete rule ip nat PREROUTING handle 4", "nft delete rule ip nat POSTROUTING handle 5"});
  CHECK(validates(im.spec));
}

TEST_CASE("what natc cannot express is listed at the top with the reason, and not removed") {
  ct::Ruleset rs;
  rs.chains.push_back(
      nat_chain("PREROUTING", ct::Hook::Prerouting,
                {rule(2, iif("eth0"), tcp_dport(6, 8080), dnat("10.0.0.5", 80)),
                 rule(9, iif("eth0"), tcp_dport(6, 2222), ct::Unknown{"xt match 'recent'"}, dnat("10.0.0.5", 22)),
                 rule(10, iif("eth0"), ct::Meta{ct::MetaKey::L4Proto, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, {6}},
                      dnat("10.0.0.6", 80))}));
  imports::Imported im = import(rs);
  CHECK(im.left_out == std::vector<std::string>{"ip nat PREROUTING handle 9: xt match 'recent'",
                                                "ip nat PREROUTING handle 10: a DNAT of every port (natc's static_nat "
                                                "says 1:1 NAT)"});
  CHECK(im.spec.find("# Left out (natc cannot express these; they stay in their tables):\n"
                     "#   ip nat PREROUTING handle 9: xt match 'recent'\n") == im.spec.find("# Left out"));
  CHECK(im.spec.find("# Left out") < im.spec.find("version: 1"));
  CHECK(im.removal == std::vector<std::string>{"nft delete rule ip nat PREROUTING handle 2"});
  CHECK(validates(im.spec));
}

TEST_CASE("a masquerade to a forward's target is its hairpin; a repeated name gets a number") {
  ct::Ruleset rs;
  rs.chains.push_back(nat_chain("PREROUTING", ct::Hook::Prerouting,
                                {rule(2, daddr("203.0.113.1"), tcp_dport(6, 8080), dnat("10.0.0.5", 80)),
                                 rule(3, iif("eth0"), tcp_dport(6, 8080), dnat("10.0.0.6", 80))}));
  rs.chains.push_back(nat_chain("POSTROUTING", ct::Hook::Postrouting,
                                {rule(4, saddr24("10.0.0.0"), daddr("10.0.0.5"), tcp_dport(6, 80), masquerade())}));
  imports::Imported im = import(rs);
  CHECK(im.left_out.empty());
  CHECK(im.spec.find("  # from ip nat PREROUTING handle 2, ip nat POSTROUTING handle 4\n  - name: dnat-tcp-8080\n"
                     "    ingress: \"*\"\n") != std::string::npos);
  CHECK(im.spec.find("    destination: 203.0.113.1\n    hairpin: true\n") != std::string::npos);
  CHECK(im.spec.find("  - name: dnat-tcp-8080-2\n") != std::string::npos);
}

TEST_CASE("lift: a RETURN on one interface becomes that interface excluded from the rules after it") {
  ct::Ruleset rs;
  rs.chains.push_back(nat_chain("PREROUTING", ct::Hook::Prerouting,
                                {rule(1, ct::Immediate{std::nullopt, {}, ct::Verdict::Jump, "DOCKER"})}));
  ct::Chain docker = nat_chain("DOCKER", ct::Hook::Other, {});
  docker.hook.reset();
  docker.rules = {rule(5, iif("docker0"), ct::Immediate{std::nullopt, {}, ct::Verdict::Return, ""}),
                  rule(6, tcp_dport(6, 8080), dnat("172.17.0.2", 80))};
  rs.chains.push_back(docker);
  ct::Chain post = nat_chain("POSTROUTING", ct::Hook::Postrouting, {});
  ct::Rule bridge = rule(7, saddr24("172.17.0.0"), masquerade());
  bridge.exprs.insert(bridge.exprs.begin(), ct::Cmp{kReg1, ct::CmpOp::Neq, ifname("docker0")});
  bridge.exprs.insert(bridge.exprs.begin(), ct::Meta{ct::MetaKey::OifName, kReg1});
  post.rules = {bridge};
  rs.chains.push_back(post);
  imports::Imported im = import(rs);
  CHECK(im.left_out.empty());
  CHECK(im.spec.find("docker:\n  bridges:\n    # from ip nat POSTROUTING handle 7\n    - name: docker0\n"
                     "      cidr: 172.17.0.0/24\n      publish:\n") != std::string::npos);
  CHECK(im.spec.find("        - name: tcp-8080\n          protocol: tcp\n          port: 8080\n"
                     "          to: \"172.17.0.2:80\"\n") != std::string::npos);
}

TEST_CASE("what a spec cannot hold is left out, never written: a source range that is no network; port 0 is no port") {
  ct::Ruleset rs;
  ct::Rule range = rule(2, iif("eth0"), tcp_dport(6, 8080), dnat("10.0.0.5", 80));
  range.exprs.insert(range.exprs.begin(), {ct::Payload{ct::Base::Network, 12, 4, kReg1},
                                           ct::Range{kReg1, false, addr("198.51.100.1"), addr("198.51.100.5")}});
  ct::Rule low{3, iif("eth0"), {}};
  for (const ct::Expr& e :
       std::vector<ct::Expr>{ct::Meta{ct::MetaKey::L4Proto, kReg1}, ct::Cmp{kReg1, ct::CmpOp::Eq, {6}},
                             ct::Payload{ct::Base::Transport, 2, 2, kReg1},
                             ct::Cmp{kReg1, ct::CmpOp::Lte, {0x03, 0xff}}, dnat("10.0.0.6", 0)})
    low.exprs.push_back(e);
  std::get<ct::Nat>(low.exprs.back()).action.port_min.reset();
  std::get<ct::Nat>(low.exprs.back()).action.port_max.reset();
  ct::Rule zero = rule(4, iif("eth0"), tcp_dport(6, 0), dnat("10.0.0.7", 80));
  rs.chains.push_back(nat_chain("PREROUTING", ct::Hook::Prerouting, {range, low, zero}));
  imports::Imported im = import(rs);
  CHECK(im.left_out ==
        std::vector<std::string>{"ip nat PREROUTING handle 2: a DNAT from an address range that is not one network",
                                 "ip nat PREROUTING handle 4: a match of port 0"});
  CHECK(im.spec.find("    port: \"1-1023\"\n    to: \"10.0.0.6\"\n") != std::string::npos);
  CHECK(validates(im.spec));
}

TEST_CASE("explain: a spec alone, its port forward hook by hook, named by the spec's entry") {
  frontend::Frontend fe;
  frontend::load_text("spec.yaml",
                      "version: 1\ninterfaces: {wan: eth0, lan: eth1}\n"
                      "subnets:\n  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: {to: 203.0.113.50}}\n"
                      "port_forwards:\n  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: \"10.0.0.5:80\"}\n",
                      &fe);
  REQUIRE(fe.ok());
  ct::Ruleset rs = kernel::preview(nft::build(fe.ir));
  auto ours = [](const base::Addr& a) -> std::optional<bool> {
    return a == *base::parse_addr("203.0.113.50") ? std::optional(true) : std::nullopt;
  };
  explain::World w{rs, ours, [](const base::Addr&) { return std::optional<std::string>("eth1"); },
                   [](const std::string&, base::Family) { return std::optional<base::Addr>(); }};
  explain::Packet p{{6, *base::parse_addr("198.51.100.7"), *base::parse_addr("203.0.113.50"), 40000, 8080}, "eth0"};
  explain::Explanation e = explain::run(w, p);
  CHECK(e.verdict == explain::Explanation::Verdict::Forwarded);
  CHECK(!e.maybe());
  CHECK(explain::to_string(e.out) == "tcp 198.51.100.7:40000 -> 10.0.0.5:80");
  REQUIRE(e.steps.size() >= 3);
  CHECK(e.steps[0].hook == "prerouting");
  CHECK(e.steps[0].action == "DNAT to 10.0.0.5:80");
  CHECK(e.steps[0].decision->entry == "web");
  CHECK(e.oif == "eth1");
  CHECK(e.reply == explain::Explanation::Verdict::Forwarded);

  // The same packet on the LAN side: no forward there, so it stays with the
  // gateway (the address is its own).
  p.iif = "eth1";
  p.tuple.saddr = *base::parse_addr("10.0.0.9");
  e = explain::run(w, p);
  CHECK(e.verdict == explain::Explanation::Verdict::Delivered);
}

}  // namespace
}  // namespace natc
