// The co-tenancy evaluator and lints on hand-built rulesets: the same
// expression lists iptables-nft and nft write (see `nft --debug=netlink`).
#include <doctest/doctest.h>

#include "check/check.h"
#include "cotenancy/eval.h"
#include "helpers.h"

namespace natc::cotenancy {
namespace {

constexpr Reg kReg1 = 16;      // NFT_REG_1
constexpr Reg kReg9 = 16 + 4;  // NFT_REG32_01: the second word of reg 1

Bytes name(const std::string& n, size_t len) {  // an interface name as iptables-nft compares it
  Bytes b(n.begin(), n.end());
  b.resize(len, 0);
  return b;
}
Bytes addr(const std::string& a) {
  auto x = *base::parse_addr(a);
  return Bytes(x.bytes.begin(), x.bytes.begin() + long(x.size()));
}
Bytes be16(uint16_t v) { return {uint8_t(v >> 8), uint8_t(v)}; }

Expr iif() { return Meta{MetaKey::IifName, kReg1}; }
Expr oif() { return Meta{MetaKey::OifName, kReg1}; }
Expr is(const Bytes& b) { return Cmp{kReg1, CmpOp::Eq, b}; }
Expr is_not(const Bytes& b) { return Cmp{kReg1, CmpOp::Neq, b}; }
Expr verdict(Verdict v, std::string chain = {}) { return Immediate{std::nullopt, {}, v, std::move(chain)}; }

Rule rule(uint64_t handle, std::vector<Expr> exprs) { return Rule{handle, std::move(exprs)}; }

Chain chain(std::string table, std::string name, std::vector<Rule> rules, std::optional<Hook> hook = std::nullopt,
            bool drop = false, ChainType type = ChainType::Filter, int32_t prio = 0) {
  Chain c;
  c.family = Family::Ip, c.table = std::move(table), c.name = std::move(name), c.hook = hook;
  c.policy_drop = drop, c.type = type, c.priority = prio, c.rules = std::move(rules);
  return c;
}

// What dockerd writes into `ip filter` for one container publishing port 80.
Ruleset docker_filter(std::vector<Rule> user = {}) {
  Bytes docker0 = name("docker0", 8);
  user.push_back(rule(17, {Unknown{"expression 'counter'", Unknown::Role::NoEffect}, verdict(Verdict::Return)}));
  Ruleset rs;
  rs.chains.push_back(
      chain("filter", "FORWARD",
            {rule(6, {verdict(Verdict::Jump, "DOCKER-USER")}),
             rule(8, {oif(), is(docker0), XtCtState{kCtRelated | kCtEstablished, false}, verdict(Verdict::Accept)}),
             rule(9, {oif(), is(docker0), verdict(Verdict::Jump, "DOCKER")}),
             rule(10, {iif(), is(docker0), oif(), is_not(docker0), verdict(Verdict::Accept)})},
            Hook::Forward, true));
  rs.chains.push_back(chain("filter", "DOCKER-USER", std::move(user)));
  rs.chains.push_back(
      chain("filter", "DOCKER",
            {rule(12, {iif(), is_not(docker0), oif(), is(docker0), Meta{MetaKey::L4Proto, kReg1}, is({6}),
                       Payload{Base::Network, 16, 4, kReg1}, is(addr("172.17.0.2")),
                       Payload{Base::Transport, 2, 2, kReg1}, is(be16(80)), verdict(Verdict::Accept)})}));
  return rs;
}

Probe forwarded(std::string in, std::string out) {
  Probe p;
  p.iif = IfName::exact(std::move(in)), p.oif = IfName::exact(std::move(out));
  p.saddr = base::parse_addr("192.0.2.1"), p.daddr = base::parse_addr("10.0.0.5");
  p.l4proto = 6, p.sport = 40000, p.dport = 80, p.ct_state = kCtNew, p.ct_status = kStatusDnat;
  return p;
}

TEST_CASE("docker's FORWARD policy drops a forward between two other interfaces") {
  Ruleset rs = docker_filter();
  Outcome o = evaluate(rs, rs.chains[0], forwarded("eth0", "eth1"));
  CHECK(o.decision.kind == Decision::Kind::Drop);
  CHECK(o.decision.rule == nullptr);
  CHECK(o.maybes.empty());
  CHECK(describe(o.decision) == "table ip filter, chain FORWARD (policy drop)");
}

TEST_CASE("docker's own rules accept its containers, through the jump to DOCKER") {
  Ruleset rs = docker_filter();
  Probe p = forwarded("eth0", "docker0");
  p.daddr = base::parse_addr("172.17.0.2");
  Outcome o = evaluate(rs, rs.chains[0], p);
  CHECK(o.decision.kind == Decision::Kind::Pass);
  REQUIRE(o.decision.rule);
  CHECK(o.decision.rule->handle == 12);
  p.dport = 81;
  CHECK(evaluate(rs, rs.chains[0], p).decision.kind == Decision::Kind::Drop);
}

TEST_CASE("an accept in DOCKER-USER lets natc's forward through") {
  Ruleset rs =
      docker_filter({rule(20, {iif(), is(name("eth0", 5)), oif(), is(name("eth1", 5)), verdict(Verdict::Accept)})});
  CHECK(evaluate(rs, rs.chains[0], forwarded("eth0", "eth1")).decision.kind == Decision::Kind::Pass);
  CHECK(evaluate(rs, rs.chains[0], forwarded("eth2", "eth1")).decision.kind == Decision::Kind::Drop);
}

TEST_CASE("a rule natc cannot read is a maybe, never a guess") {
  Ruleset rs = docker_filter({rule(21, {Unknown{"xt match 'statistic'"}, verdict(Verdict::Accept)})});
  Outcome o = evaluate(rs, rs.chains[0], forwarded("eth0", "eth1"));
  CHECK(o.decision.kind == Decision::Kind::Drop);
  REQUIRE(o.maybes.size() == 1);
  CHECK(o.maybes[0].decision.kind == Decision::Kind::Pass);
  CHECK(o.maybes[0].unknown == "xt match 'statistic'");
  // Unknown packet fields are undecidable too, and named as such.
  Probe p = forwarded("eth0", "eth1");
  p.oif = {};
  p.daddr = base::parse_addr("172.17.0.2");  // DOCKER accepts it if it leaves through docker0
  rs = docker_filter();
  Outcome unsure = evaluate(rs, rs.chains[0], p);
  CHECK(unsure.decision.kind == Decision::Kind::Drop);
  REQUIRE(!unsure.maybes.empty());
  CHECK(unsure.maybes[0].unknown == "the output interface");
}

TEST_CASE("a wildcard interface compares only its prefix") {
  Ruleset rs;
  rs.chains.push_back(
      chain("filter", "FORWARD", {rule(1, {iif(), is(name("eth0", 5)), verdict(Verdict::Drop)})}, Hook::Forward));
  Probe p = forwarded("x", "eth1");
  p.iif = {IfName::Kind::Prefix, "ppp"};
  CHECK(evaluate(rs, rs.chains[0], p).decision.kind == Decision::Kind::Pass);  // 'p' != 'e': never eth0
  p.iif = {IfName::Kind::Prefix, "et"};
  Outcome o = evaluate(rs, rs.chains[0], p);
  CHECK(o.decision.kind == Decision::Kind::Pass);
  REQUIRE(o.maybes.size() == 1);
  CHECK(o.maybes[0].decision.kind == Decision::Kind::Drop);
}

TEST_CASE("a masked prefix and an interval set decide by address") {
  Ruleset rs;
  Set nets;
  nets.family = Family::Ip, nets.table = "fw", nets.name = "nets", nets.interval = true;
  auto boundary = [](const std::string& a, bool end) {
    Element e;
    e.key = addr(a), e.interval_end = end;
    return e;
  };
  nets.elements = {boundary("0.0.0.0", true), boundary("10.0.0.0", false), boundary("10.0.1.0", true),
                   boundary("192.168.0.0", false), boundary("192.169.0.0", true)};
  rs.sets.push_back(nets);
  Chain c =
      chain("fw", "f",
            {rule(1, {Payload{Base::Network, 12, 4, kReg1}, Lookup{kReg1, "nets"}, verdict(Verdict::Accept)}),
             rule(2, {Payload{Base::Network, 12, 4, kReg1}, Bitwise{kReg1, kReg1, addr("255.255.240.0"), Bytes(4, 0)},
                      is(addr("172.16.16.0")), verdict(Verdict::Accept)})},
            Hook::Forward, true);
  c.table = "fw";
  rs.chains.push_back(c);
  auto from = [&](const std::string& a) {
    Probe p = forwarded("eth1", "eth0");
    p.saddr = base::parse_addr(a);
    return evaluate(rs, rs.chains[0], p).decision.kind;
  };
  CHECK(from("10.0.0.77") == Decision::Kind::Pass);
  CHECK(from("10.0.1.0") == Decision::Kind::Drop);
  CHECK(from("192.168.200.1") == Decision::Kind::Pass);
  CHECK(from("172.16.31.255") == Decision::Kind::Pass);  // 172.16.16.0/20
  CHECK(from("172.16.32.1") == Decision::Kind::Drop);
}

TEST_CASE("a verdict map jumps by interface name, and a concatenated set matches address and port") {
  Ruleset rs;
  Set map;
  map.family = Family::Inet, map.table = "fw", map.name = "__map0", map.map = map.vmap = true;
  Element wan;
  wan.key = name("eth0", 16), wan.verdict = Verdict::Jump, wan.chain = "from_wan";
  map.elements = {wan};
  Set allowed;
  allowed.family = Family::Inet, allowed.table = "fw", allowed.name = "allowed";
  Element e;
  e.key = addr("10.0.0.5");
  Bytes port = be16(80);
  port.resize(4, 0);
  e.key.insert(e.key.end(), port.begin(), port.end());
  allowed.elements = {e};
  rs.sets = {map, allowed};
  Chain base = chain("fw", "forwarding", {rule(9, {iif(), Lookup{kReg1, "__map0", Reg(0)}})}, Hook::Forward, true);
  Chain from_wan = chain("fw", "from_wan",
                         {rule(10, {Payload{Base::Network, 16, 4, kReg1}, Payload{Base::Transport, 2, 2, kReg9},
                                    Lookup{kReg1, "allowed"}, verdict(Verdict::Accept)})});
  base.family = from_wan.family = Family::Inet;
  rs.chains = {base, from_wan};
  CHECK(evaluate(rs, rs.chains[0], forwarded("eth0", "eth1")).decision.kind == Decision::Kind::Pass);
  Probe other_port = forwarded("eth0", "eth1");
  other_port.dport = 443;
  CHECK(evaluate(rs, rs.chains[0], other_port).decision.kind == Decision::Kind::Drop);
  CHECK(evaluate(rs, rs.chains[0], forwarded("eth3", "eth1")).decision.kind == Decision::Kind::Drop);
}

TEST_CASE("a return in a goto'd chain leaves the chain that went there") {
  Ruleset rs;
  rs.chains.push_back(chain("filter", "FORWARD",
                            {rule(1, {verdict(Verdict::Goto, "sub")}), rule(2, {verdict(Verdict::Drop)})},
                            Hook::Forward));
  rs.chains.push_back(chain("filter", "sub", {rule(3, {verdict(Verdict::Return)})}));
  CHECK(evaluate(rs, rs.chains[0], forwarded("a", "b")).decision.kind == Decision::Kind::Pass);
  rs.chains[0].rules[0].exprs = {verdict(Verdict::Jump, "sub")};
  CHECK(evaluate(rs, rs.chains[0], forwarded("a", "b")).decision.kind == Decision::Kind::Drop);
}

TEST_CASE("nft's nat reads its address and port from registers; xt's from the rule") {
  Ruleset rs;
  NatAction dnat{NatAction::Kind::Dnat};
  dnat.reg_addr = kReg1, dnat.reg_port = kReg9;
  rs.chains.push_back(chain("nat", "pre",
                            {rule(5, {Immediate{kReg1, addr("10.0.0.9")}, Immediate{kReg9, be16(80)}, Nat{dnat}})},
                            Hook::Prerouting, false, ChainType::Nat, -150));
  Outcome o = evaluate(rs, rs.chains[0], forwarded("eth0", ""));
  REQUIRE(o.decision.kind == Decision::Kind::Nat);
  CHECK(describe(o.decision.nat) == "DNAT to 10.0.0.9:80");
  NatAction masq{NatAction::Kind::Masquerade};
  CHECK(describe(masq) == "masquerade");
}

TEST_CASE("xt addrtype and conntrack state are read, not guessed") {
  Ruleset rs;
  rs.chains.push_back(chain("nat", "PREROUTING",
                            {rule(3, {XtAddrType{0, 1 << kRtnLocal, false, false}, verdict(Verdict::Drop)})},
                            Hook::Prerouting, false, ChainType::Nat));
  Probe p = forwarded("eth0", "");
  p.daddr_local = true;
  CHECK(evaluate(rs, rs.chains[0], p).decision.kind == Decision::Kind::Drop);
  p.daddr_local = false;
  CHECK(evaluate(rs, rs.chains[0], p).decision.kind == Decision::Kind::Pass);
  p.daddr_local.reset();
  CHECK(evaluate(rs, rs.chains[0], p).maybes.size() == 1);
}

TEST_CASE("a range element of a concatenation holds a key field by field, as the kernel's pipapo set does") {
  // saddr . dport in { 10.0.0.0-10.0.0.255 . 1000-2000 }: 10.0.0.7 . 80 is
  // above the element's start and below its end as one number, but its port
  // is outside the port range.
  Ruleset rs;
  Set s;
  s.family = Family::Ip, s.table = "fw", s.name = "pairs", s.interval = true, s.fields = {4, 2};
  Element e;
  e.key = addr("10.0.0.0"), e.key_end = addr("10.0.0.255");
  Bytes lo = be16(1000), hi = be16(2000);
  lo.resize(4, 0), hi.resize(4, 0);
  e.key.insert(e.key.end(), lo.begin(), lo.end()), e.key_end.insert(e.key_end.end(), hi.begin(), hi.end());
  s.elements = {e};
  rs.sets.push_back(s);
  Chain c = chain("fw", "f",
                  {rule(1, {Payload{Base::Network, 12, 4, kReg1}, Payload{Base::Transport, 2, 2, kReg9},
                            Lookup{kReg1, "pairs"}, verdict(Verdict::Accept)})},
                  Hook::Forward, true);
  rs.chains.push_back(c);
  auto verdict_for = [&](const std::string& a, uint16_t port) {
    Probe p = forwarded("eth1", "eth0");
    p.saddr = base::parse_addr(a), p.dport = port;
    return evaluate(rs, rs.chains[0], p).decision.kind;
  };
  CHECK(verdict_for("10.0.0.7", 1500) == Decision::Kind::Pass);
  CHECK(verdict_for("10.0.0.7", 80) == Decision::Kind::Drop);
  CHECK(verdict_for("10.0.1.7", 1500) == Decision::Kind::Drop);
}

}  // namespace
}  // namespace natc::cotenancy

namespace natc::check {
namespace {

const char* kGateway =
    "version: 1\n"
    "interfaces: {wan: eth0, lan: eth1}\n"
    "subnets: [{name: office, cidr: 10.0.0.0/24, egress: wan, snat: {to: 203.0.113.9}}]\n"
    "port_forwards: [{name: web, ingress: wan, protocol: tcp, port: 8080, to: \"10.0.0.5:80\"}]\n";

LiveFacts facts(cotenancy::Ruleset rs) {
  LiveFacts f;
  f.others = std::move(rs);
  f.routes[*base::parse_addr("10.0.0.5")] = {"eth1", false};
  f.routes[*base::parse_addr("10.0.0.1")] = {"lo", true};
  f.routes[*base::parse_addr("10.0.0.254")] = {"eth1", false};
  f.routes[*base::parse_addr("192.0.2.1")] = {"eth0", false};
  return f;
}

std::vector<base::Diagnostic> lint(const LiveFacts& f) {
  auto r = test::front(kGateway);
  REQUIRE(r.diags.errors() == 0);
  base::Diagnostics d;
  cotenancy_lints(r.ir, f, d);
  d.sort();
  return d.all();
}

TEST_CASE("docker's FORWARD drop is named, with the DOCKER-USER accept that fixes it") {
  auto d = lint(facts(cotenancy::docker_filter()));
  REQUIRE(d.size() == 2);
  CHECK(d[0].code == base::Code::ForeignDrop);
  CHECK(d[0].message ==
        "table ip filter, chain FORWARD (policy drop) drops traffic leaving through wan of subnet 'office' "
        "(10.0.0.0/24)");
  CHECK(d[0].help.find("iptables -I DOCKER-USER -i eth1 -o eth0 -s 10.0.0.0/24 -j ACCEPT") != std::string::npos);
  CHECK(d[1].message ==
        "table ip filter, chain FORWARD (policy drop) drops new connections of port forward 'web' (tcp 8080 to "
        "10.0.0.5:80)");
  CHECK(d[1].help.find("iptables -I DOCKER-USER -i eth0 -o eth1 -d 10.0.0.5 -p tcp --dport 80 -j ACCEPT") !=
        std::string::npos);
}

TEST_CASE("with the accepts in DOCKER-USER, docker's chain warns about replies until they pass too") {
  using namespace cotenancy;
  auto accept = [](uint64_t h, const char* in, const char* out) {
    return rule(h, {iif(), is(name(in, 5)), oif(), is(name(out, 5)), verdict(Verdict::Accept)});
  };
  auto d = lint(facts(docker_filter({accept(30, "eth0", "eth1")})));
  REQUIRE(d.size() == 2);
  CHECK(d[1].message ==
        "table ip filter, chain FORWARD (policy drop) drops replies of port forward 'web' (tcp 8080 to 10.0.0.5:80)");
  CHECK(lint(facts(docker_filter({accept(30, "eth0", "eth1"), accept(31, "eth1", "eth0")}))).empty());
}

TEST_CASE("a foreign DNAT of the same port and a different SNAT of a subnet are named with their priorities") {
  using namespace cotenancy;
  Ruleset rs;
  NatAction dnat{NatAction::Kind::Dnat, base::parse_addr("172.17.0.2"), base::parse_addr("172.17.0.2"), 80, 80};
  rs.chains.push_back(chain("nat", "PREROUTING",
                            {rule(3, {XtAddrType{0, 1 << kRtnLocal, false, false}, verdict(Verdict::Jump, "DOCKER")})},
                            Hook::Prerouting, false, ChainType::Nat, -100));
  rs.chains.push_back(chain("nat", "DOCKER",
                            {rule(10, {Meta{MetaKey::L4Proto, kReg1}, is({6}), Payload{Base::Transport, 2, 2, kReg1},
                                       is(be16(8080)), Nat{dnat}})}));
  rs.chains.push_back(chain("nat", "POSTROUTING",
                            {rule(7, {Payload{Base::Network, 12, 3, kReg1}, is({10, 0, 0}),  // -s 10.0.0.0/24
                                      Nat{NatAction{NatAction::Kind::Masquerade}}})},
                            Hook::Postrouting, false, ChainType::Nat, 50));
  auto d = lint(facts(rs));
  REQUIRE(d.size() == 2);
  CHECK(d[0].code == base::Code::ForeignSnat);
  CHECK(d[0].message ==
        "table ip nat, chain POSTROUTING, rule handle 7 translates subnet 'office' (10.0.0.0/24) differently: "
        "masquerade, natc: SNAT to 203.0.113.9; table ip nat chain POSTROUTING runs at priority 50, before "
        "natc's 100: it decides, natc's rule never applies");
  CHECK(d[1].code == base::Code::ForeignDnat);
  CHECK(d[1].message ==
        "table ip nat, chain DOCKER, rule handle 10 also translates tcp port 8080 of port forward 'web': "
        "DNAT to 172.17.0.2:80; table ip nat chain PREROUTING runs at priority -100 like natc's: the chain "
        "created first decides, so a reboot or a reload can change which");
}

}  // namespace
}  // namespace natc::check

namespace natc::check {
namespace {

TEST_CASE("one chain dropping many forwards is five warnings and a count, not a flood") {
  std::string spec = "version: 1\nport_forwards:\n";
  for (int i = 0; i < 8; ++i)
    spec += "  - {name: f" + std::to_string(i) + ", ingress: eth0, protocol: tcp, port: " + std::to_string(8000 + i) +
            ", to: \"10.0.0.5:80\"}\n";
  auto r = test::front(spec);
  REQUIRE(r.diags.errors() == 0);
  base::Diagnostics d;
  cotenancy_lints(r.ir, facts(cotenancy::docker_filter()), d);
  REQUIRE(d.all().size() == 6);
  CHECK(d.all()[4].message.find("port forward 'f4'") != std::string::npos);
  CHECK(d.all()[5].message ==
        "... and 3 more spec entries, from here on, the same way by table ip filter, chain FORWARD (policy drop)");
  CHECK(d.all()[5].loc.line == 8);  // f5's line
}

}  // namespace
}  // namespace natc::check
