// Spec directories (issue 12): files read in name order as one spec, every
// diagnostic at its own file's line, the bundle history and saved plans
// keep, and the parse cache: used when a file is unchanged, never trusted
// when damaged, not written for a spec with errors.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "base/binary.h"
#include "helpers.h"
#include "nft/build.h"
#include "nft/render.h"
#include "spec/cache.h"

using namespace natc;
using Part = base::SourceFile::Part;

namespace {

const char* kWhole = R"(version: 1
interfaces: {wan: eth0, lan: eth1}
forwarding: {policy: drop}
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: "10.0.0.5:80"}
  - {name: mail, ingress: wan, protocol: tcp, port: 25, to: "10.0.0.6:25"}
)";

const std::vector<Part> kSplit = {
    {"d/00-base.yaml",
     "version: 1\ninterfaces: {wan: eth0, lan: eth1}\nforwarding: {policy: drop}\nsubnets:\n"
     "  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}\n",
     std::nullopt},
    {"d/10-web.yaml",
     "# the web server\nversion: 1\ninterfaces: {wan: eth0}\nport_forwards:\n"
     "  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: \"10.0.0.5:80\"}\n",
     std::nullopt},
    {"d/20-empty.yml", "# nothing here yet\n", std::nullopt},
    {"d/30-mail.json",
     R"({"port_forwards": [{"name": "mail", "ingress": "wan", "protocol": "tcp", "port": 25, "to": "10.0.0.6:25"}]})",
     std::nullopt},
};

std::string ruleset(const frontend::Frontend& fe) { return nft::render_text(nft::build(fe.ir)); }

frontend::Frontend parts(std::vector<Part> p, spec::ParseCache* cache = nullptr) {
  frontend::Frontend fe;
  frontend::load_parts("d", p, &fe, cache);
  return fe;
}

std::vector<Part> with(std::vector<Part> p, size_t i, const std::string& text) {
  p[i].text = text;
  return p;
}

std::string rendered(const frontend::Frontend& fe) { return base::render_text(fe.diags, fe.file); }

}  // namespace

TEST_CASE("a spec directory compiles as the one file it was split from") {
  auto whole = test::front(kWhole);
  REQUIRE(whole.ok());
  auto fe = parts(kSplit);
  REQUIRE_MESSAGE(fe.ok(), rendered(fe));
  CHECK(ruleset(fe) == ruleset(whole));
  CHECK(fe.file.place(7).file == "d/10-web.yaml");
  CHECK(fe.file.place(7).line == 2);
}

TEST_CASE("each diagnostic names its own file and line") {
  // A value two files set differently.
  auto fe = parts(with(kSplit, 1, "version: 1\ninterfaces: {wan: eth9}\n"));
  CHECK(rendered(fe).starts_with("d/10-web.yaml:2:19: error[E1018]: 'eth9' here, but 'eth0' at d/00-base.yaml:2\n"));
  // A name used in two files: the second is the error, the help names the first.
  fe = parts(with(kSplit, 3, R"({"port_forwards": [{"name": "web", "ingress": "wan", "protocol": "tcp", "port": 26,
 "to": "10.0.0.6:25"}]})"));
  CHECK(rendered(fe).starts_with("d/30-mail.json:1:29: error[E1009]: duplicate port forward name 'web'"));
  CHECK(rendered(fe).find("help: first defined at line 5 of d/10-web.yaml") != std::string::npos);
  // A syntax error in one file: reported there, the others still read.
  fe = parts(with(kSplit, 1, "version: 1\nport_forwards: [\n"));
  CHECK(rendered(fe).starts_with("d/10-web.yaml:2:17: error[E1001]"));
  // A file that is not a mapping of sections.
  fe = parts(with(kSplit, 1, "- web\n"));
  CHECK(rendered(fe).starts_with("d/10-web.yaml:1:1: error[E1006]"));
  // The same port forwarded by files apart: the help says which file has the first.
  fe = parts(with(kSplit, 3, R"({"port_forwards": [{"name": "web2", "ingress": "wan", "protocol": "tcp",
 "port": 8080, "to": "10.0.0.6:25"}]})"));
  CHECK(rendered(fe).find("'web' (line 5 of d/10-web.yaml) already forwards it") != std::string::npos);
}

TEST_CASE("a directory of empty files is an empty spec; an empty file among others is nothing") {
  auto fe = parts({{"d/a.yaml", "# soon\n", std::nullopt}, {"d/b.json", "", std::nullopt}});
  CHECK(fe.diags.all().size() == 1);
  CHECK(fe.diags.all()[0].code == base::Code::EmptySpec);
  CHECK(parts(kSplit).ok());  // 20-empty.yml
}

TEST_CASE("files are read in name order; hidden files and other names are left out") {
  char tmpl[] = "/tmp/natc-dir-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string d = tmpl;
  auto put = [&](const std::string& name, const std::string& text) { std::ofstream(d + "/" + name) << text; };
  put("b.yaml", "port_forwards:\n  - {name: x, ingress: wan, protocol: tcp, port: 81, to: 10.0.0.5}\n");
  put("a.yaml",
      "version: 1\ninterfaces: {wan: eth0}\nsubnets:\n"
      "  - {name: x, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}\nport_forwards:\n"
      "  - {name: x, ingress: wan, protocol: tcp, port: 80, to: 10.0.0.5}\n");
  put(".c.yaml", "garbage: [");
  put("notes.txt", "garbage: [");
  mkdir((d + "/sub.yaml").c_str(), 0700);
  frontend::Frontend fe;
  REQUIRE(frontend::load_file(d + "/", &fe));
  CHECK(fe.file.name() == d);
  REQUIRE(fe.diags.all().size() == 1);
  CHECK(rendered(fe).starts_with(d + "/b.yaml:2:12: error[E1009]"));
  CHECK(rendered(fe).find("first defined at line 6 of " + d + "/a.yaml") != std::string::npos);
  CHECK(std::system(("rm -rf " + d).c_str()) == 0);
}

TEST_CASE("history and saved plans keep a directory as one bundle that reads back the same") {
  auto fe = parts(kSplit);
  std::string bundle = fe.spec_text();
  frontend::Frontend back;
  frontend::load_text("d", bundle, &back);
  REQUIRE(back.ok());
  CHECK(ruleset(back) == ruleset(fe));
  CHECK(back.file.place(7).file == "d/10-web.yaml");
  // Diagnostics of a bundle name the files too.
  auto bad = parts(with(kSplit, 1, "version: 1\ninterfaces: {wan: eth9}\n"));
  frontend::Frontend bad_back;
  frontend::load_text("d", bad.spec_text(), &bad_back);
  CHECK(rendered(bad_back) == rendered(bad));
  // A damaged bundle is an error, never a crash.
  CHECK(bundle.starts_with(std::string_view("\0natc-spec-directory 1\n14 ", 26)));
  for (size_t cut : {size_t(23), size_t(30), bundle.size() - 3}) {
    frontend::Frontend broken;
    frontend::load_text("d", bundle.substr(0, cut) + "9999999999 1\n", &broken);
    CHECK_FALSE(broken.ok());
  }
}

TEST_CASE("the parse cache: used for unchanged files, rewritten when damaged, untouched by a spec with errors") {
  std::vector<Part> p = kSplit;
  for (size_t i = 0; i < p.size(); ++i) p[i].stamp = base::SourceFile::Stamp{p[i].text.size(), 1000 + i, 7 + i, 1};
  state::MemoryDir dir;
  spec::ParseCache first(dir);
  auto fe = parts(p, &first);
  REQUIRE(fe.ok());
  CHECK(first.hits == 0);
  CHECK(dir.files.size() == 3);  // not the file of comments

  spec::ParseCache second(dir);
  auto again = parts(p, &second);
  REQUIRE(again.ok());
  CHECK(second.hits == 3);
  CHECK(ruleset(again) == ruleset(fe));

  // Damaged on purpose: ignored, parsed, and written again.
  std::string name = spec::cache_name("d/10-web.yaml");
  std::string good = dir.files.at(name);
  dir.files[name][good.size() / 2] ^= 0x40;
  spec::ParseCache third(dir);
  REQUIRE(parts(p, &third).ok());
  CHECK(third.hits == 2);
  CHECK(dir.files.at(name) == good);

  // A file whose stamp moved is parsed again.
  p[1].stamp->mtime_ns += 1;
  p[1].text = "version: 1\nport_forwards:\n  - {name: web, ingress: wan, protocol: tcp, port: 8081, to: 10.0.0.5}\n";
  p[1].stamp->size = p[1].text.size();
  spec::ParseCache fourth(dir);
  auto moved = parts(p, &fourth);
  REQUIRE(moved.ok());
  CHECK(fourth.hits == 2);
  CHECK(ruleset(moved).find("8081") != std::string::npos);

  // A spec with errors writes nothing, not even the files that parsed.
  state::MemoryDir clean;
  spec::ParseCache none(clean);
  CHECK_FALSE(parts(with(p, 1, "version: 1\ninterfaces: {wan: eth9}\n"), &none).ok());
  CHECK(clean.files.empty());
}

TEST_CASE("a cache entry with an intact checksum over a tree that is no tree is refused") {
  base::SourceFile::Stamp st{10, 1, 2, 3};
  auto entry = [&](uint32_t root, std::vector<std::array<uint32_t, 5>> nodes) {  // kind, len, first, next, text
    base::BinaryWriter w;
    w.str("f.yaml");
    for (uint64_t v : {st.size, st.mtime_ns, st.inode, st.device}) w.u64(v);
    w.str("abc");
    w.u32(root);
    w.u32(uint32_t(nodes.size()));
    for (const auto& n : nodes) {
      w.u8(uint8_t(n[0]));
      w.u8(1);
      w.u32(1), w.u32(1);
      w.u32(n[4]), w.u32(n[1]), w.u32(n[2]), w.u32(n[3]);
    }
    return w.file("natc-parse-cache\n", 1);
  };
  constexpr uint32_t kNone = spec::Tree::kNone;
  constexpr uint32_t kScalar = 1, kSeq = 2, kMap = 3;
  std::string why;
  // A good one: a map of one key and value.
  CHECK(
      spec::decode_cached(entry(0, {{kMap, 2, 1, kNone, 0}, {kScalar, 1, kNone, 2, 0}, {kScalar, 2, kNone, kNone, 1}}),
                          "f.yaml", st, &why));
  // A cycle, a shared child, a count that lies, text past the arena, a root past the nodes.
  CHECK_FALSE(spec::decode_cached(entry(0, {{kSeq, 1, 1, kNone, 0}, {kSeq, 1, 0, kNone, 0}}), "f.yaml", st, &why));
  CHECK_FALSE(spec::decode_cached(entry(0, {{kSeq, 2, 2, 1, 0}, {kSeq, 1, 2, kNone, 0}, {kScalar, 1, kNone, kNone, 0}}),
                                  "f.yaml", st, &why));
  CHECK_FALSE(
      spec::decode_cached(entry(0, {{kSeq, 5, 1, kNone, 0}, {kScalar, 1, kNone, kNone, 0}}), "f.yaml", st, &why));
  CHECK_FALSE(spec::decode_cached(entry(0, {{kScalar, 9, kNone, kNone, 0}}), "f.yaml", st, &why));
  CHECK_FALSE(spec::decode_cached(entry(4, {{kScalar, 1, kNone, kNone, 0}}), "f.yaml", st, &why));
  CHECK(why == "malformed");
  // Made for another file, or another version of it.
  CHECK_FALSE(spec::decode_cached(entry(0, {{kScalar, 1, kNone, kNone, 0}}), "g.yaml", st, &why));
  st.mtime_ns = 9;
  CHECK_FALSE(spec::decode_cached(entry(0, {{kScalar, 1, kNone, kNone, 0}}), "f.yaml", {10, 1, 2, 4}, &why));
}
