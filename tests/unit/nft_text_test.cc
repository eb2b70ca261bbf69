// natc's reading of nft ruleset files (natc import --from): each statement
// as the expressions nft itself sends (pinned here as `nft --debug=netlink`
// prints them), files natc cannot read as errors at file:line:col, and
// rules it cannot read kept and named by their line.
#include <doctest/doctest.h>

#include <sstream>

#include "frontend/frontend.h"
#include "import/import.h"
#include "import/nft_text.h"

namespace natc {
namespace {

namespace ct = cotenancy;

std::string hex(const ct::Bytes& b) {
  std::ostringstream o;
  for (uint8_t x : b) o << "0123456789abcdef"[x >> 4] << "0123456789abcdef"[x & 15];
  return o.str();
}

// One expression as a short line, close to nft's debug output.
std::string text(const ct::Expr& e) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        auto r = [](ct::Reg reg) { return std::to_string(reg); };
        if constexpr (std::is_same_v<T, ct::Meta>) return "meta " + std::to_string(int(x.key)) + " => " + r(x.dreg);
        if constexpr (std::is_same_v<T, ct::Payload>)
          return "payload " + std::to_string(x.len) + "b @ " + std::to_string(int(x.base)) + " + " +
                 std::to_string(x.offset) + " => " + r(x.dreg);
        if constexpr (std::is_same_v<T, ct::Cmp>)
          return "cmp " + std::to_string(int(x.op)) + " " + r(x.sreg) + " " + hex(x.data);
        if constexpr (std::is_same_v<T, ct::Bitwise>) return "bitwise " + r(x.sreg) + " & " + hex(x.mask);
        if constexpr (std::is_same_v<T, ct::Lookup>)
          return "lookup " + r(x.sreg) + " " + x.set + (x.dreg ? " dreg " + r(*x.dreg) : "") + (x.invert ? " inv" : "");
        if constexpr (std::is_same_v<T, ct::Immediate>)
          return x.dreg ? "imm " + r(*x.dreg) + " " + hex(x.data)
                        : "verdict " + std::to_string(int(x.verdict)) + x.chain;
        if constexpr (std::is_same_v<T, ct::Ct>) return "ct " + std::to_string(int(x.key)) + " => " + r(x.dreg);
        if constexpr (std::is_same_v<T, ct::FibAddrType>) return std::string("fib ") + (x.daddr ? "daddr" : "saddr");
        if constexpr (std::is_same_v<T, ct::Nat>) {
          const ct::NatAction& a = x.action;
          auto o = [&](const std::optional<ct::Reg>& reg) { return reg ? r(*reg) : std::string("-"); };
          return "nat " + std::to_string(int(a.kind)) + " fam " + std::to_string(a.family.value_or(0)) + " addr " +
                 o(a.reg_addr) + "-" + o(a.reg_addr_max) + " port " + o(a.reg_port) + "-" + o(a.reg_port_max) +
                 (a.persistent ? " persistent" : "") + (a.fully_random ? " fully-random" : "");
        }
        if constexpr (std::is_same_v<T, ct::Unknown>) return "unknown " + x.what;
        return "other";
      },
      e);
}

std::vector<std::string> exprs(const ct::Rule& r) {
  std::vector<std::string> out;
  for (const ct::Expr& e : r.exprs) out.push_back(text(e));
  return out;
}

imports::NftText read(const std::string& s) { return imports::read_nft_text("gw.nft", s); }

bool validates(const std::string& spec) {
  frontend::Frontend fe;
  frontend::load_text("imported.yaml", spec, &fe);
  return fe.ok();
}

// The error a file is refused with, "" when it is read.
std::string error_of(const std::string& s, const imports::nft_text::IncludeReader& inc = {}) {
  try {
    imports::read_nft_text("gw.nft", s, inc);
  } catch (const imports::nft_text::Error& e) {
    return e.what();
  }
  return "";
}

const ct::Chain& chain(const imports::NftText& t, const std::string& name) {
  for (const ct::Chain& c : t.rules.chains)
    if (c.name == name) return c;
  FAIL("no chain " << name);
  throw std::logic_error("unreachable");
}

constexpr std::string_view kNat = R"(table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
)";
std::string in_prerouting(const std::string& rules) { return std::string(kNat) + rules + "\n  }\n}\n"; }

}  // namespace

TEST_CASE("a port forward reads as the expressions nft sends for it") {
  auto t = read(in_prerouting(R"(    iifname "eth0" tcp dport 8080 dnat to 10.0.0.5:80)"));
  const ct::Chain& c = chain(t, "prerouting");
  CHECK(c.hook == ct::Hook::Prerouting);
  CHECK(c.type == ct::ChainType::Nat);
  CHECK(c.priority == -100);
  REQUIRE(c.rules.size() == 1);
  CHECK(exprs(c.rules[0]) == std::vector<std::string>{"meta 0 => 16", "cmp 0 16 65746830000000000000000000000000",
                                                      "meta 2 => 16", "cmp 0 16 06", "payload 2b @ 2 + 2 => 16",
                                                      "cmp 0 16 1f90", "imm 16 0a000005", "imm 32 0050",
                                                      "nat 0 fam 2 addr 16-- port 32--"});
  CHECK(t.places.at(c.rules[0].handle) == "gw.nft:4");
}

TEST_CASE("an address prefix loads its whole bytes, or masks, and an inet table checks the family first") {
  auto t = read(R"(table inet f {
  chain forward { type filter hook forward priority filter; policy drop;
    ip saddr 10.0.0.0/24 accept
    ip saddr 10.0.0.0/23 iifname "eth*" accept
    ip daddr 10.0.0.5-10.0.0.9 tcp dport != 22 accept
  }
})");
  const ct::Chain& c = chain(t, "forward");
  CHECK(c.policy_drop);
  REQUIRE(c.rules.size() == 3);
  CHECK(exprs(c.rules[0]) == std::vector<std::string>{"meta 3 => 16", "cmp 0 16 02", "payload 3b @ 1 + 12 => 16",
                                                      "cmp 0 16 0a0000", "verdict 0"});
  CHECK(exprs(c.rules[1])[3] == "bitwise 16 & fffffe00");
  CHECK(exprs(c.rules[1])[6] == "cmp 0 16 657468");    // a wildcard compares its prefix
  CHECK(exprs(c.rules[2])[3] == "cmp 5 16 0a000005");  // a range: >= and <=
  CHECK(exprs(c.rules[2])[4] == "cmp 3 16 0a000009");
  CHECK(exprs(c.rules[2])[8] == "cmp 1 16 0016");
}

TEST_CASE("connection states are a mask, and a set of them a lookup") {
  auto t = read(R"(table ip filter {
  chain forward { type filter hook forward priority 0;
    ct state established,related accept
    ct state { established, related } accept
    ct status dnat accept
  }
})");
  const ct::Chain& c = chain(t, "forward");
  CHECK(exprs(c.rules[0]) ==
        std::vector<std::string>{"ct 0 => 16", "bitwise 16 & 06000000", "cmp 1 16 00000000", "verdict 0"});
  CHECK(exprs(c.rules[1])[1] == "lookup 16 __set0");
  CHECK(exprs(c.rules[2])[1] == "bitwise 16 & 20000000");
  // All three are what natc's forward accepts first: nothing is left out.
  CHECK(imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places}).left_out.empty());
}

TEST_CASE("an anonymous set of ranges is an interval set as the kernel holds it") {
  auto t = read(in_prerouting("    tcp dport { 80, 8000-8010 } dnat to 10.0.0.5"));
  REQUIRE(t.rules.sets.size() == 1);
  const ct::Set& s = t.rules.sets[0];
  CHECK(s.interval);
  std::vector<std::string> els;
  for (const ct::Element& e : s.elements) els.push_back(hex(e.key) + (e.interval_end ? " end" : ""));
  CHECK(els == std::vector<std::string>{"0000 end", "0050", "0051 end", "1f40", "1f4b end"});
}

TEST_CASE("a set inside a set is its elements, as nft flattens it") {
  auto t = read("define LAN = { 10.0.0.0/24, 10.1.0.0/24 }\n" +
                in_prerouting("    ip saddr { $LAN, 10.9.0.0/24 } tcp dport 80 dnat to 10.0.0.5"));
  REQUIRE(t.rules.sets.size() == 1);
  CHECK(t.rules.sets[0].elements.size() == 7);  // the end at zero, then a start and an end for each
  auto im = imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places});
  CHECK(im.left_out.empty());
  CHECK(im.spec.find("allow_from: [10.0.0.0/24, 10.1.0.0/24, 10.9.0.0/24]") != std::string::npos);
}

TEST_CASE("a NAT map takes its address and port from the map's value") {
  auto t = read(R"(table ip nat {
  map fwd { type inet_service : ipv4_addr . inet_service; elements = { 8080 : 10.0.0.5 . 80 } }
  chain prerouting { type nat hook prerouting priority -100;
    iifname "eth0" dnat ip to tcp dport map @fwd
    dnat to tcp dport map { 2222 : 10.0.0.5 . 22, 2223 : 10.0.0.6 . 22 }
  }
})");
  const ct::Chain& c = chain(t, "prerouting");
  std::vector<std::string> e = exprs(c.rules[0]);
  CHECK(e[e.size() - 2] == "lookup 16 fwd dreg 16");
  CHECK(e.back() == "nat 0 fam 2 addr 16-- port 20--");
  const ct::Set* fwd = t.rules.set(ct::Family::Ip, "nat", "fwd");
  REQUIRE(fwd);
  CHECK(fwd->map);
  CHECK(hex(fwd->elements.at(0).data) == "0a00000500500000");
  CHECK(exprs(c.rules[1]).back() == "nat 0 fam 2 addr 16-- port 20--");
}

TEST_CASE("NAT flags come as words with commas between") {
  auto t = read(R"(table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat;
    oifname "eth0" masquerade random,persistent
    oifname "eth1" snat to 203.0.113.5-203.0.113.9 fully-random comment "pool"
  }
})");
  const ct::Chain& c = chain(t, "postrouting");
  const ct::NatAction& masq = std::get<ct::Nat>(c.rules[0].exprs.back()).action;
  CHECK((masq.random && masq.persistent && !masq.fully_random));
  CHECK(exprs(c.rules[1]).back() == "nat 1 fam 2 addr 16-32 port --- fully-random");
  CHECK(c.rules[1].comment == "pool");
}

TEST_CASE("variables, includes and the command form read as the same rules") {
  std::map<std::string, std::string> files = {{"inc/forwards.nft", "define WEB = 10.0.0.5\n"}};
  auto inc = [&](const std::string& p) -> std::optional<std::vector<imports::nft_text::Included>> {
    auto it = files.find(p);
    if (it == files.end()) return std::nullopt;
    return std::vector<imports::nft_text::Included>{{it->first, it->second}};
  };
  auto t = imports::read_nft_text("inc/gw.nft", R"(include "forwards.nft"
define WAN = "eth0"
add table ip nat
add chain ip nat prerouting { type nat hook prerouting priority dstnat + 5; }
add rule ip nat prerouting iifname $WAN tcp dport 8080 dnat to $WEB:80
insert rule ip nat prerouting iifname $WAN tcp dport 2222 dnat to $WEB:22
)",
                                  inc);
  const ct::Chain& c = chain(t, "prerouting");
  CHECK(c.priority == -95);
  REQUIRE(c.rules.size() == 2);
  CHECK(t.places.at(c.rules[0].handle) == "inc/gw.nft:6");  // inserted: first
  CHECK(exprs(c.rules[1])[6] == "imm 16 0a000005");
}

TEST_CASE("an include of a pattern reads its files in order, each rule named by its own file") {
  auto inc = [](const std::string& p) -> std::optional<std::vector<imports::nft_text::Included>> {
    if (p != "etc/nftables.d/*.nft") return std::nullopt;
    return std::vector<imports::nft_text::Included>{
        {"etc/nftables.d/10-web.nft", "add rule ip nat prerouting tcp dport 80 dnat to 10.0.0.5\n"},
        {"etc/nftables.d/20-ssh.nft", "\nadd rule ip nat prerouting tcp dport 22 dnat to 10.0.0.6\n"}};
  };
  auto t =
      imports::read_nft_text("etc/nftables.conf", std::string(kNat) + "  }\n}\ninclude \"nftables.d/*.nft\"\n", inc);
  const ct::Chain& c = chain(t, "prerouting");
  REQUIRE(c.rules.size() == 2);
  CHECK(t.places.at(c.rules[0].handle) == "etc/nftables.d/10-web.nft:1");
  CHECK(t.places.at(c.rules[1].handle) == "etc/nftables.d/20-ssh.nft:2");
}

TEST_CASE("an include right after a block's brace is followed too") {
  auto inc = [](const std::string& p) -> std::optional<std::vector<imports::nft_text::Included>> {
    return std::vector<imports::nft_text::Included>{{p, "chain c { type nat hook prerouting priority 0; }\n"}};
  };
  auto t = imports::read_nft_text("gw.nft", "table ip nat { include \"chains.nft\" }\n", inc);
  REQUIRE(t.rules.chains.size() == 1);
  CHECK(t.rules.chains[0].hook == ct::Hook::Prerouting);
}

TEST_CASE("a rule natc cannot read is kept, and import leaves it out by its line") {
  auto t = read(in_prerouting(R"(    iifname "eth0" tcp dport 8080 dnat to 10.0.0.5:80
    meta mark 0x1 tcp dport 80 dnat to 10.0.0.6
    iifname "eth0" tcp dport 443 numgen inc mod 2 0 dnat to 10.0.0.7)"));
  REQUIRE(chain(t, "prerouting").rules.size() == 3);
  auto im = imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places});
  CHECK(im.left_out == std::vector<std::string>{"gw.nft:5: packet metadata natc does not model (a mark?)",
                                                "gw.nft:6: an expression natc does not read ('numgen')"});
  CHECK(im.spec.find("# from gw.nft:4\n") != std::string::npos);
  CHECK(im.removal == std::vector<std::string>{"gw.nft:4"});
}

TEST_CASE("what a file says that no spec or terminal can hold is left out, escaped") {
  auto t =
      read(in_prerouting("    iifname \"e\x01th0\" tcp dport 80 dnat to 10.0.0.5\n"
                         "    tcp dport 9\x07\x1b[2J dnat to 10.0.0.6"));
  auto im = imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places});
  CHECK(im.left_out ==
        std::vector<std::string>{"gw.nft:4: interface name 'e\\x01th0' contains whitespace or a control character",
                                 "gw.nft:5: '9\\x07\\x1b[2J', which natc does not read as a value here"});
  CHECK(validates(im.spec));
}

TEST_CASE("a file without rules is still named as a file") {
  auto t = read("flush ruleset\n");
  auto im = imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places});
  CHECK(im.spec.find("# Each entry names the line it came from.") != std::string::npos);
}

TEST_CASE("a file that is no ruleset is refused at its line and column") {
  CHECK(error_of("table ip nat {\n  chain c {\n") == "gw.nft:3:1: the '{' of chain 'c' (gw.nft:2) is never closed");
  CHECK(error_of("list ruleset\n") == "gw.nft:1:1: 'list' is not a command natc reads in a ruleset file");
  CHECK(error_of("table ip nat {\n chain c { iifname $WAN accept }\n}") == "gw.nft:2:20: undefined variable '$WAN'");
  CHECK(error_of("define X = \"eth0\n") == "gw.nft:1:12: unclosed string");
  CHECK(error_of("include \"missing.nft\"\n") == "gw.nft:1:9: cannot read included file 'missing.nft'");
  CHECK(error_of("table ip nat { chain c { type nat hook prerouting priority first; } }") ==
        "gw.nft:1:60: priority 'first' is neither a number nor a named priority");
  CHECK(error_of("table ip nat { set s { type ipv4_addr; elements = { 10.0.0.300 } } }") ==
        "gw.nft:1:53: '10.0.0.300', which natc does not read as a value here");
}

TEST_CASE("variables that double at each step are refused, not expanded without bound") {
  std::string s = "define A0 = x\n";
  for (int i = 1; i < 40; ++i)
    s += "define A" + std::to_string(i) + " = { $A" + std::to_string(i - 1) + ", $A" + std::to_string(i - 1) + " }\n";
  CHECK(error_of(s).find("variables expand to more than") != std::string::npos);
}

TEST_CASE("what nft lists of iptables-nft's xt matches is left out in the words of the live import") {
  auto t = read(in_prerouting(R"(    iifname "eth0" xt match "recent" counter dnat to 10.0.0.5
    ct mark 0x2 dnat to 10.0.0.6)"));
  auto im = imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places});
  CHECK(im.left_out == std::vector<std::string>{"gw.nft:4: xt match 'recent'",
                                                "gw.nft:5: a connection tracking field natc does not model"});
}

TEST_CASE("a rule reached by two jumps is left out once") {
  auto t = read(R"(table inet f {
  chain forward { type filter hook forward priority 0; policy drop;
    iifname vmap { "eth1" : jump out, "eth2" : jump out }
  }
  chain out {
    meta mark 0x1 accept
  }
})");
  auto im = imports::import_ruleset({t.rules, {}, std::nullopt, "gw.nft", t.places});
  CHECK(im.left_out == std::vector<std::string>{"gw.nft:6: packet metadata natc does not model (a mark?)"});
}

TEST_CASE("tables of other families and objects that are not NAT are passed over") {
  auto t = read(R"(table netdev edge { chain ingress { type filter hook ingress device "eth0" priority 0; drop } }
table inet f {
  counter http { packets 0 bytes 0 }
  flowtable ft { hook ingress priority 0; devices = { eth0, eth1 }; }
  chain input { type filter hook input priority 0; tcp dport 22 limit rate 5/minute burst 2 packets log prefix "x " accept }
})");
  REQUIRE(t.rules.chains.size() == 1);
  CHECK(exprs(t.rules.chains[0].rules[0])[4] == "unknown expression 'limit'");
}

}  // namespace natc
