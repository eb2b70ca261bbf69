// Sysctls: what a plan writes, in which order, what goes back on a
// refusal; and the real store on a stand-in /proc/sys and sysctl.d.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "helpers.h"
#include "sysctl/conf.h"
#include "sysctl/memory_store.h"
#include "sysctl/plan.h"
#include "sysctl/proc_store.h"

using namespace natc;
namespace fs = std::filesystem;

namespace {

const char* kSpec = R"(version: 1
subnets: [{name: lan, cidr: 10.0.0.0/24, egress: eth0, snat: masquerade}]
conntrack: {max: 262144, timeouts: {tcp_established: 600, udp: 30}}
)";

ir::Ir ir_of(const char* yaml) {
  auto fe = test::front(yaml);
  REQUIRE(fe.ok());
  return fe.ir;
}

// A temporary directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "natc-test-XXXXXX").string();
    REQUIRE(mkdtemp(t.data()));
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("a sysctl plan writes what differs, ip_forward first, and the file when it differs") {
  ir::Ir ir = ir_of(kSpec);
  sysctl::MemoryStore now({{"net.ipv4.ip_forward", "0"}, {"net.netfilter.nf_conntrack_udp_timeout", "30"}},
                          std::nullopt);
  sysctl::Plan p = sysctl::plan(ir, now);
  REQUIRE(p.changes.size() == 3);
  CHECK(p.changes[0].key == "net.ipv4.ip_forward");
  CHECK(p.changes[0].from == "0");
  CHECK(p.changes[1].key == "net.netfilter.nf_conntrack_max");
  CHECK(p.changes[1].from == "");  // unreadable: shown as unset
  CHECK(p.changes[2].key == "net.netfilter.nf_conntrack_tcp_timeout_established");
  CHECK(p.write_file);
  CHECK(p.content == sysctl::render_conf(ir));

  sysctl::apply(p, now);
  CHECK(now.file() == p.content);
  CHECK(sysctl::plan(ir, now).empty());  // and then nothing is left to do
}

TEST_CASE("a refused sysctl puts back what was already written and leaves the file alone") {
  ir::Ir ir = ir_of(kSpec);
  sysctl::MemoryStore now({{"net.ipv4.ip_forward", "0"}, {"net.netfilter.nf_conntrack_max", "65536"}}, "# old\n");
  now.refuse = {"net.netfilter.nf_conntrack_tcp_timeout_established"};
  sysctl::Plan p = sysctl::plan(ir, now);
  CHECK_THROWS_WITH_AS(sysctl::apply(p, now),
                       "the kernel will not take net.netfilter.nf_conntrack_tcp_timeout_established = 600: "
                       "Permission denied",
                       sysctl::Error);
  CHECK(now.value("net.ipv4.ip_forward") == "0");
  CHECK(now.value("net.netfilter.nf_conntrack_max") == "65536");
  CHECK(now.file() == "# old\n");
}

TEST_CASE("numbers are whole numbers or nothing") {
  sysctl::MemoryStore s({{"a", "42"}, {"b", "4x"}, {"c", ""}, {"d", "99999999999999999999999"}}, std::nullopt);
  CHECK(s.number("a") == 42u);
  CHECK_FALSE(s.number("b"));
  CHECK_FALSE(s.number("c"));
  CHECK_FALSE(s.number("d"));  // past 2^64: not a number, not an abort
  CHECK_FALSE(s.number("missing"));
}

TEST_CASE("the machine's store reads and writes /proc/sys and writes the file whole") {
  TempDir tmp;
  sysctl::Paths paths{(tmp.path / "proc").string(), (tmp.path / "sysctl.d").string()};
  write(tmp.path / "proc/net/ipv4/ip_forward", "0\n");
  fs::create_directories(paths.sysctl_dir);
  sysctl::ProcStore store(paths);
  CHECK(store.value("net.ipv4.ip_forward") == "0");
  store.write("net.ipv4.ip_forward", "1");
  CHECK(store.value("net.ipv4.ip_forward") == "1");
  CHECK_THROWS_AS(store.write("net.netfilter.nf_conntrack_max", "5"), sysctl::Error);  // no such file here

  CHECK_FALSE(store.file());
  store.write_file("a = 1\n");
  CHECK(store.file() == "a = 1\n");
  struct stat st;
  REQUIRE(stat(paths.file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(paths.sysctl_dir)) ++entries;
  CHECK(entries == 1);  // no temp file left behind
  CHECK(store.remove_file());
  CHECK_FALSE(store.remove_file());
  CHECK(fs::path(paths.file()).filename() == std::string(sysctl::kFileName));
}
