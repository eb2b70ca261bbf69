#include <doctest/doctest.h>

#include "helpers.h"
#include "nft/build.h"
#include "nft/render.h"
#include "spec/reader.h"
#include "spec/yaml_tree.h"

using namespace natc;
using test::front;

TEST_CASE("every value keeps its 1-based line and column") {
  auto r = front(
      "version: 1\n"
      "port_forwards:\n"
      "  - name: web\n"
      "    ingress: eth0\n"
      "    protocol: tcp\n"
      "    port: 8080\n"
      "    to: 10.0.0.5:80\n");
  REQUIRE(r.spec);
  const auto& f = r.spec->port_forwards.at(0);
  CHECK(f.loc == base::Loc{3, 5});
  CHECK(f.name.loc == base::Loc{3, 11});
  CHECK(f.port.loc == base::Loc{6, 11});
  CHECK(f.to.addr.loc == base::Loc{7, 9});
  CHECK(f.to.port.loc == base::Loc{7, 18});  // the port inside "10.0.0.5:80"
  CHECK(f.to.port.v.first == 80);
}

TEST_CASE("defaults are filled: auto FORWARD accept, Docker masquerade, alert at 80%") {
  auto r = front(
      "version: 1\n"
      "port_forwards: [{name: a, ingress: eth0, protocol: tcp, port: 1, to: 10.0.0.5}]\n"
      "docker: {bridges: [{name: docker0, cidr: 172.17.0.0/16}]}\n"
      "conntrack: {max: 1000}\n");
  REQUIRE(r.spec);
  CHECK(r.spec->port_forwards[0].forward_accept.v == spec::ForwardAccept::Auto);
  CHECK(r.spec->bridges[0].masquerade.v);
  CHECK(r.spec->conntrack->alert_percent.v == 80);
  CHECK(r.spec->forwarding.policy.v == spec::Policy::Accept);
}

TEST_CASE("an alias to an anchor that does not exist is a YAML error at the alias") {
  auto r = front(
      "version: 1\n"
      "subnets:\n"
      "  - &base {name: a, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}\n"
      "  - {name: b, cidr: 10.0.1.0/24, egress: eth0, snat: *masq}\n");
  REQUIRE(r.codes() == "E1001");
  CHECK(r.diags.all()[0].loc == base::Loc{4, 54});
  CHECK(r.diags.all()[0].message == "invalid YAML: the referenced anchor is not defined");
}

TEST_CASE("an anchor on an unknown key is reported as that unknown key") {
  auto r = front(
      "version: 1\n"
      "x-snat: &s masquerade\n");
  REQUIRE(r.codes() == "E1005");
  CHECK(r.diags.all()[0].loc == base::Loc{2, 1});
  CHECK(r.diags.all()[0].message == "unknown key 'x-snat' in the spec");
}

TEST_CASE("an alias stands for its anchor's value") {
  auto alias = front(
      "version: 1\n"
      "subnets:\n"
      "  - {name: a, cidr: 10.0.0.0/24, egress: &e eth0, snat: masquerade}\n"
      "  - {name: b, cidr: 10.0.1.0/24, egress: *e, snat: masquerade}\n");
  CHECK(alias.codes() == "");
  REQUIRE(alias.spec);
  REQUIRE(alias.spec->subnets.size() == 2);
  CHECK(alias.spec->subnets[1].egress.v == "eth0");
}

TEST_CASE("every error of a file is reported, each once") {
  auto r = front(
      "version: 1\n"
      "subnets:\n"
      "  - {name: a, cidr: 10.0.0.1/24, egress: eth0, snat: masquerade}\n"
      "  - {name: b, cidr: 10.0.0.0/24, egress: eth0, snat: masqurade}\n"
      "conntrack: {maxx: 5}\n");
  CHECK(r.codes() == "E1011 E1014 E1005");
}

TEST_CASE("bad entries do not reach the checks") {
  // 'b' has a bad port: without it there is no duplicate to report.
  auto r = front(
      "version: 1\n"
      "port_forwards:\n"
      "  - {name: a, ingress: eth0, protocol: tcp, port: 80, to: 10.0.0.5}\n"
      "  - {name: b, ingress: eth0, protocol: tcp, port: 80x, to: 10.0.0.6}\n");
  CHECK(r.codes() == "E1012");
}

TEST_CASE("an empty file, a comment-only file and a null document are empty specs") {
  CHECK(front("").codes() == "E1003");
  CHECK(front("# nothing\n").codes() == "E1003");
  CHECK(front("~\n").codes() == "E1003");
  CHECK(front("---\n").codes() == "E1003");
}

TEST_CASE("invalid UTF-8 is found at its byte") {
  CHECK(spec::find_invalid_utf8("ok: caf\xc3\xa9\n") == base::Loc{});
  CHECK(spec::find_invalid_utf8("a: 1\nb: caf\xe9\n") == base::Loc{2, 7});
  CHECK(spec::find_invalid_utf8("\xed\xa0\x80") == base::Loc{1, 1});  // a UTF-16 surrogate
  CHECK(spec::find_invalid_utf8("\xc0\xaf") == base::Loc{1, 1});      // overlong '/'
}

TEST_CASE("identifiers") {
  CHECK(spec::is_identifier("web-1.prod_a"));
  CHECK_FALSE(spec::is_identifier("-web"));
  CHECK_FALSE(spec::is_identifier("my web"));
  CHECK_FALSE(spec::is_identifier(std::string(65, 'a')));
  CHECK(spec::is_identifier(std::string(64, 'a')));
}

namespace {
std::string ruleset(const test::Result& r) { return nft::render_text(nft::build(r.ir)); }
}  // namespace

TEST_CASE("a JSON spec and the YAML spec of the same content compile to the same ruleset") {
  for (const char* name : test::kExamples) {
    CAPTURE(std::string(name));
    std::string yaml = test::source_file(std::string("examples/") + name + ".yaml");
    auto from_yaml = front(yaml);
    REQUIRE(from_yaml.ok());
    base::Diagnostics d;
    std::string json = spec::to_json(spec::Tree::parse(base::SourceFile("x.yaml", yaml), d));
    auto from_json = front(json, "x.json");
    REQUIRE(from_json.ok());
    CHECK(ruleset(from_json) == ruleset(from_yaml));
    CHECK(from_json.codes() == from_yaml.codes());  // the same warnings
  }
}

TEST_CASE("a JSON spec's diagnostics are at the value's line and column") {
  auto r = front(
      "{\n  \"version\": 1,\n  \"port_forwards\": [\n    {\"name\": \"w\", \"ingress\": \"eth0\", "
      "\"protocol\": \"tcp\", \"port\": 70000, \"to\": \"10.0.0.5\", \"x\": true}]\n}\n",
      "s.json");
  REQUIRE(r.diags.all().size() == 2);
  CHECK(r.codes() == "E1012 E1005");
  CHECK(r.diags.all()[0].loc == base::Loc{4, 65});  // 70000
  CHECK(r.diags.all()[1].loc == base::Loc{4, 90});  // "x"
  // An escaped quote before a value does not move it.
  auto esc = front("{\"version\": 1, \"interfaces\": {\"a\\\"b\": \"eth0\"}, \"subnets\": 5}", "s.json");
  CHECK(esc.diags.all().back().loc == base::Loc{1, 59});  // 5
  CHECK(front("", "s.json").codes() == "E1003");
  CHECK(front("null", "s.json").codes() == "E1003");
  auto syntax = front("{\"version\": 1,\n \"subnets\": [tru]}", "s.json");
  CHECK(syntax.codes() == "E1001");
  CHECK(syntax.diags.all()[0].loc == base::Loc{2, 17});
  CHECK(front("{\"version\": 1} {}", "s.json").codes() == "E1001");                 // one document
  CHECK(front("[" + std::string(100000, '[') + "]", "s.json").codes() == "E1001");  // deep, unclosed: no crash
}
