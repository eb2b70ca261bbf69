// apply::run and apply::destroy through the fake machine: retries, refusals
// mapped to spec lines, rollback, saved plans, targeted flow resets.
#include <doctest/doctest.h>

#include <algorithm>

#include "apply/apply.h"
#include "fake_system.h"
#include "helpers.h"
#include "kernel/preview.h"
#include "nft/build.h"
#include "nft/render.h"
#include "sysctl/conf.h"

using namespace natc;
using Status = apply::Result::Status;

namespace {

const char* kSpec = R"(version: 1
interfaces: {wan: eth0}
subnets:
  - {name: lan, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 443, to: "10.0.0.10:443", destination: 203.0.113.50}
  - {name: voip, ingress: wan, protocol: udp, port: 5060-5061, to: 10.0.0.30}
  - {name: ssh, ingress: wan, protocol: tcp, port: 2222, to: "10.0.0.5:22"}
conntrack: {max: 262144, timeouts: {tcp_established: 600}}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

class Recorder : public apply::Observer {
 public:
  explicit Recorder(test::FakeSystem* m = nullptr) : m_(m) {}
  void planned(const plan::Plan& p) override { plans.push_back(p); }
  bool approve(const plan::Plan&) override {
    ++asked;
    if (m_) held_while_asked = m_->host.held;
    return answer;
  }
  void replanning() override { ++replans; }
  void note(std::string_view what) override { notes.emplace_back(what); }
  void phase(std::string_view name) override {
    if (name.starts_with("read live")) read = name;
  }
  std::vector<plan::Plan> plans;
  std::vector<std::string> notes;
  std::string read;  // how the live table was read
  int asked = 0, replans = 0;
  bool answer = true, held_while_asked = false;

 private:
  test::FakeSystem* m_;
};

// The kernel's table as nft would list it, elements in key order (sets do
// not keep the order elements came in).
std::string listing(const std::optional<nft::Table>& table) {
  if (!table) return "";
  nft::Table t = *table;
  for (nft::Set& s : t.sets)
    std::sort(s.elements.begin(), s.elements.end(),
              [](auto& a, auto& b) { return nft::element_key(a) < nft::element_key(b); });
  return nft::render_text(t);
}
std::string listing(const test::FakeSystem& m) { return listing(m.kernel.snapshot()); }

// A fake machine whose kernel reads a next ruleset as the real one would,
// and knows the gateway's own addresses.
struct Machine : test::FakeSystem {
  Machine() {
    kernel.previewer = kernel::preview;
    for (const char* mine : {"203.0.113.1", "203.0.113.50"}) kernel.routes[*base::parse_addr(mine)] = {"", true};
  }
};

apply::Result apply_text(test::FakeSystem& m, const std::string& text, Recorder& obs, const apply::Options& o = {}) {
  auto fe = test::front(text, "spec.yaml");
  REQUIRE(fe.ok());
  system::System sys = m.get();
  return apply::run(fe, std::nullopt, sys, obs, o);
}

apply::Result apply_text(test::FakeSystem& m, const std::string& text) {
  Recorder obs;
  return apply_text(m, text, obs);
}

}  // namespace

TEST_CASE("a first apply writes the table and the sysctls, a second plans nothing") {
  Machine m;
  Recorder obs(&m);
  auto r = apply_text(m, kSpec, obs);
  REQUIRE(r.status == Status::Applied);
  auto fe = test::front(kSpec);
  CHECK(listing(m) == listing(nft::build(fe.ir)));
  CHECK(m.sysctls.value("net.ipv4.ip_forward") == "1");
  CHECK(m.sysctls.value("net.netfilter.nf_conntrack_tcp_timeout_established") == "600");
  CHECK(m.sysctls.file() == sysctl::render_conf(fe.ir));
  CHECK(obs.asked == 1);
  CHECK(obs.held_while_asked);  // the lock is held from the read to the commit
  CHECK_FALSE(m.host.held);     // and let go after

  Recorder again;
  auto r2 = apply_text(m, kSpec, again);
  CHECK(r2.status == Status::Unchanged);
  CHECK(again.asked == 0);
  CHECK(m.kernel.commits == 1);
}

TEST_CASE("an apply plans from the image of the last one while nobody else changed the ruleset") {
  Machine m;
  Recorder first;
  REQUIRE(apply_text(m, kSpec, first).status == Status::Applied);
  CHECK(first.read == "read live (dump: no image of the last apply)");
  REQUIRE(m.state.files.count("image.bin"));

  // Nothing changed: no dump, no commit.
  Recorder again;
  CHECK(apply_text(m, kSpec, again).status == Status::Unchanged);
  CHECK(again.read == "read live (image)");
  CHECK(m.kernel.reads == 1);
  CHECK(m.kernel.commits == 1);

  // A change planned from the image is exact, and leaves a new image.
  std::string moved = with(kSpec, "10.0.0.10:443", "10.0.0.11:443");
  Recorder change;
  REQUIRE(apply_text(m, moved, change).status == Status::Applied);
  CHECK(change.read == "read live (image)");
  CHECK(change.plans.back().changes.size() == 1);
  CHECK(listing(m) == listing(nft::build(test::front(moved).ir)));
  CHECK(m.kernel.reads == 1);

  // Someone else's commit: the image no longer describes the kernel, so
  // the table is read whole, and the plan puts back what they removed.
  m.kernel.table->sets[0].elements.pop_back();
  ++m.kernel.genid;
  Recorder after_foreign;
  REQUIRE(apply_text(m, moved, after_foreign).status == Status::Applied);
  CHECK(after_foreign.read == "read live (dump: the ruleset changed since natc's last apply)");
  CHECK(after_foreign.plans.back().changes.size() == 1);
  CHECK(listing(m) == listing(nft::build(test::front(moved).ir)));
  CHECK(m.kernel.reads == 2);
}

TEST_CASE("an image that is damaged, from another boot, or missing its generation is not trusted") {
  Machine m;
  Recorder obs;
  REQUIRE(apply_text(m, kSpec, obs).status == Status::Applied);
  std::string good = m.state.files.at("image.bin");

  m.state.files["image.bin"][good.size() / 2] ^= 1;
  Recorder damaged;
  CHECK(apply_text(m, kSpec, damaged).status == Status::Unchanged);
  CHECK(damaged.read == "read live (dump: the image of the last apply is damaged (checksum mismatch))");
  // An unchanged apply that read the table leaves an image again.
  CHECK(m.state.files.at("image.bin") == good);

  m.kernel.instance_id = "boot/2";  // a reboot, or another namespace
  Recorder rebooted;
  CHECK(apply_text(m, kSpec, rebooted).status == Status::Unchanged);
  CHECK(rebooted.read == "read live (dump: the image is from another boot or network namespace)");

  m.kernel.instance_id = "";  // a kernel that cannot say
  Recorder unknown;
  CHECK(apply_text(m, kSpec, unknown).status == Status::Unchanged);
  CHECK(unknown.read == "read live (dump: no ruleset generation to trust here)");
  CHECK_FALSE(m.state.files.count("image.bin"));

  m.kernel.instance_id = "boot/2";
  m.state.read_only = true;  // an image cannot be written: nothing else fails
  Recorder read_only;
  CHECK(apply_text(m, with(kSpec, "2222", "2223"), read_only).status == Status::Applied);
}

TEST_CASE("a ruleset that moves under the plan is planned again, and a third move gives up with E4002") {
  Machine m;
  m.kernel.moves_after_reads = 1;  // another writer commits right after natc's first read
  Recorder obs;
  auto r = apply_text(m, kSpec, obs);
  CHECK(r.status == Status::Applied);
  CHECK(obs.replans == 1);
  CHECK(obs.asked == 1);  // asked once, not again for the second plan
  CHECK(m.kernel.commits == 2);

  Machine busy;
  busy.kernel.fail_next = {ERESTART, ERESTART, ERESTART};
  Recorder give_up;
  auto failed = apply_text(busy, kSpec, give_up);
  CHECK(failed.status == Status::Failed);
  CHECK(give_up.replans == 2);
  REQUIRE(failed.errors.all().size() == 1);
  CHECK(failed.errors.all()[0].code == base::Code::StalePlan);
  CHECK_FALSE(busy.kernel.table);
}

TEST_CASE("a kernel refusal of one element is reported at that entry's line, and nothing changes") {
  Machine m;
  m.kernel.refuse_entry = "voip";
  auto r = apply_text(m, kSpec);
  CHECK(r.status == Status::Failed);
  REQUIRE(r.errors.all().size() == 1);
  const base::Diagnostic& d = r.errors.all()[0];
  CHECK(d.code == base::Code::KernelRefused);
  CHECK(d.loc == base::Loc{7, 5});  // the voip entry
  CHECK(d.message == "the kernel refused 'voip': File exists; nothing was applied");
  CHECK_FALSE(m.kernel.table);
  CHECK_FALSE(m.sysctls.file());
  CHECK(m.sysctls.values().empty());
}

TEST_CASE("a refused sysctl puts the previous ruleset back") {
  Machine m;
  REQUIRE(apply_text(m, kSpec).status == Status::Applied);
  std::string before = listing(m);
  std::string file = *m.sysctls.file();
  m.sysctls.refuse = {"net.netfilter.nf_conntrack_max"};
  auto r = apply_text(m, with(with(kSpec, "10.0.0.10:443", "10.0.0.11:443"), "262144", "524288"));
  CHECK(r.status == Status::Failed);
  REQUIRE(r.errors.all().size() == 1);
  CHECK(r.errors.all()[0].code == base::Code::SysctlRefused);
  CHECK(r.errors.all()[0].message.ends_with("; the ruleset was put back"));
  CHECK(listing(m) == before);
  CHECK(m.sysctls.file() == file);
  CHECK(m.sysctls.value("net.netfilter.nf_conntrack_max") == "262144");

  Machine fresh;  // nothing before: the table goes again
  fresh.sysctls.refuse = {"net.ipv4.ip_forward"};
  CHECK(apply_text(fresh, kSpec).status == Status::Failed);
  CHECK_FALSE(fresh.kernel.table);
}

TEST_CASE("a saved plan applies only against the live state it was made against") {
  Machine m;
  REQUIRE(apply_text(m, kSpec).status == Status::Applied);
  std::string next = with(kSpec, "port: 2222", "port: 2223");
  auto fe = test::front(next, "spec.yaml");
  plan::Saved saved{"spec.yaml",     next, m.kernel.genid, m.kernel.read().hash, sysctl::managed_values(m.sysctls),
                    m.sysctls.file()};

  test::FakeSystem moved = m;
  REQUIRE(apply_text(moved, with(kSpec, "5060-5061", "5060-5062")).status == Status::Applied);
  Recorder stale;
  system::System moved_sys = moved.get();
  auto r = apply::run(fe, saved, moved_sys, stale);
  CHECK(r.status == Status::Failed);
  CHECK(r.errors.all()[0].code == base::Code::StalePlan);
  CHECK(r.errors.all()[0].message == "the state changed since the plan was made (natc's table); nothing was applied");

  test::FakeSystem drifted = m;  // the sysctls a plan covers count as much as the table
  drifted.sysctls.write("net.ipv4.ip_forward", "0");
  Recorder sysctl_moved;
  system::System drifted_sys = drifted.get();
  auto r2 = apply::run(fe, saved, drifted_sys, sysctl_moved);
  CHECK(r2.status == Status::Failed);
  CHECK(r2.errors.all()[0].message ==
        "the state changed since the plan was made (sysctl net.ipv4.ip_forward (1, now 0)); nothing was applied");
  CHECK(drifted.sysctls.value("net.ipv4.ip_forward") == "0");

  test::FakeSystem racing = m;  // moved between natc's read and its commit: never re-planned
  racing.kernel.moves_after_reads = 1;
  Recorder race;
  system::System racing_sys = racing.get();
  auto raced = apply::run(fe, saved, racing_sys, race);
  CHECK(raced.status == Status::Failed);
  CHECK(race.replans == 0);
  CHECK(raced.errors.all()[0].message == "the ruleset changed since natc read it; nothing was applied");

  Recorder fine;
  system::System sys = m.get();
  auto ok = apply::run(fe, saved, sys, fine);
  CHECK(ok.status == Status::Applied);
}

TEST_CASE("apply resets the flows of moved forwards only, and a rename resets nothing") {
  Machine m;
  REQUIRE(apply_text(m, kSpec).status == Status::Applied);
  m.conntrack.list = {test::dnat_flow("198.51.100.7", "203.0.113.50", 443, "10.0.0.10", 443),
                      test::dnat_flow("198.51.100.8", "203.0.113.50", 443, "10.0.0.10", 443),
                      test::dnat_flow("198.51.100.7", "203.0.113.1", 2222, "10.0.0.5", 22)};
  Recorder rename;
  auto renamed = apply_text(m, with(kSpec, "name: web,", "name: www,"), rename);
  CHECK(renamed.status == Status::Applied);
  CHECK(renamed.flows_reset == 0);
  CHECK(m.conntrack.list.size() == 3);

  Recorder obs;
  auto r = apply_text(m, with(with(kSpec, "name: web,", "name: www,"), "10.0.0.10:443", "10.0.0.11:443"), obs);
  CHECK(r.status == Status::Applied);
  CHECK(r.flows_reset == 2);
  REQUIRE(m.conntrack.list.size() == 1);
  CHECK(m.conntrack.list[0].orig.dport == 2222);
  bool counted = false;  // the plan said so before it was applied
  for (const auto& c : obs.plans.back().changes)
    if (c.entry == "www" && c.flows_reset) counted = *c.flows_reset == 2;
  CHECK(counted);
}

TEST_CASE("--keep-flows keeps them, and an unreadable conntrack table only loses the counts") {
  Machine m;
  REQUIRE(apply_text(m, kSpec).status == Status::Applied);
  m.conntrack.list = {test::dnat_flow("198.51.100.7", "203.0.113.50", 443, "10.0.0.10", 443)};
  Recorder obs;
  auto r = apply_text(m, with(kSpec, "10.0.0.10:443", "10.0.0.11:443"), obs, {.keep_flows = true});
  CHECK(r.status == Status::Applied);
  CHECK(m.conntrack.list.size() == 1);

  m.conntrack.broken = true;
  Recorder blind;
  CHECK(apply_text(m, with(kSpec, "10.0.0.10:443", "10.0.0.12:443"), blind, {.keep_flows = true}).status ==
        Status::Applied);
  REQUIRE(blind.notes.size() == 1);
  CHECK(blind.notes[0] == "cannot read the conntrack table: Operation not permitted; flow counts unknown");
}

TEST_CASE("a declined apply changes nothing") {
  Machine m;
  Recorder no;
  no.answer = false;
  CHECK(apply_text(m, kSpec, no).status == Status::Declined);
  CHECK(m.kernel.commits == 0);
  CHECK(m.sysctls.values().empty());
}

TEST_CASE("destroy removes the table and the file, and leaves live sysctls") {
  Machine m;
  REQUIRE(apply_text(m, kSpec).status == Status::Applied);
  Recorder obs;
  system::System sys = m.get();
  auto r = apply::destroy(sys, obs);
  CHECK(r.status == Status::Applied);
  CHECK_FALSE(m.kernel.table);
  CHECK_FALSE(m.sysctls.file());
  CHECK(m.sysctls.value("net.ipv4.ip_forward") == "1");
  Recorder again;
  CHECK(apply::destroy(sys, again).status == Status::Unchanged);
}
