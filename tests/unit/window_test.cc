// Confirmation windows, history and rollback through the fake machine:
// what a window keeps, what its guard puts back, what confirm keeps, and
// that nothing else applies while a change waits.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "apply/window.h"
#include "fake_system.h"
#include "helpers.h"
#include "kernel/preview.h"
#include "nft/render.h"
#include "sysctl/conf.h"

using namespace natc;
using Status = apply::Result::Status;

namespace {

const char* kFirst = R"(version: 1
interfaces: {wan: eth0}
subnets: [{name: lan, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}]
port_forwards: [{name: web, ingress: wan, protocol: tcp, port: 8080, to: "10.0.0.5:80"}]
)";
const char* kSecond = R"(version: 1
interfaces: {wan: eth0}
forwarding: {policy: drop}
subnets: [{name: lan, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}]
port_forwards: [{name: web, ingress: wan, protocol: tcp, port: 8081, to: "10.0.0.5:80"}]
conntrack: {timeouts: {tcp_established: 600}}
)";

struct Machine : test::FakeSystem {
  Machine() {
    kernel.previewer = kernel::preview;
    kernel.routes[*base::parse_addr("203.0.113.1")] = {"", true};
    sysctls = sysctl::MemoryStore(
        {{"net.ipv4.ip_forward", "0"}, {"net.netfilter.nf_conntrack_tcp_timeout_established", "432000"}}, std::nullopt);
  }
  system::System sys() { return get(); }
};

std::string listing(const Machine& m) {
  auto t = m.kernel.snapshot();
  if (!t) return "";
  for (auto& s : t->sets)
    std::sort(s.elements.begin(), s.elements.end(),
              [](auto& a, auto& b) { return nft::element_key(a) < nft::element_key(b); });
  return nft::render_text(*t);
}

apply::Result apply_spec(Machine& m, const std::string& text, apply::Options o = {}) {
  auto fe = test::front(text, "natc.yaml");
  REQUIRE(fe.ok());
  apply::Observer quiet;
  system::System s = m.sys();
  return apply::run(fe, std::nullopt, s, quiet, o);
}

}  // namespace

TEST_CASE("a window keeps what was there, starts a guard, and confirm keeps the change") {
  Machine m;
  REQUIRE(apply_spec(m, kFirst).status == Status::Applied);
  std::string first = listing(m);
  auto r = apply_spec(m, kSecond, {.confirm = 60});
  REQUIRE(r.status == Status::Applied);
  CHECK(r.entry == 2u);
  CHECK(r.deadline_ms == m.host.clock_ms + 60000);
  CHECK(m.host.guards == std::vector<uint64_t>{2});
  CHECK(listing(m) != first);
  system::System s = m.sys();
  auto rec = apply::recorded(s);
  REQUIRE(rec.pending);
  CHECK(rec.pending->n == 2);
  REQUIRE(rec.history.entries.size() == 2);
  CHECK(rec.history.entries[1].status == state::Status::Pending);

  m.state.files[std::string(state::kGuardPidFile)] = "1234\n";
  auto c = apply::confirm(s);
  CHECK(c.status == Status::Applied);
  CHECK(m.host.stopped == std::vector<int64_t>{1234});
  rec = apply::recorded(s);
  CHECK_FALSE(rec.pending);
  CHECK(rec.history.entries[1].status == state::Status::Confirmed);
  CHECK(apply::guard(s, 2) == 0);  // confirmed: its guard leaves everything as it is
  CHECK(listing(m) != first);
  CHECK(apply::confirm(s).message == "no change is waiting for confirmation; the last one, #2, is confirmed");
}

TEST_CASE("unconfirmed, the guard puts back the ruleset, the live sysctls and the file at the deadline") {
  Machine m;
  REQUIRE(apply_spec(m, kFirst).status == Status::Applied);
  std::string first = listing(m);
  auto file = m.sysctls.file();
  auto values = m.sysctls.values();
  REQUIRE(apply_spec(m, kSecond, {.confirm = 30}).status == Status::Applied);
  CHECK(m.sysctls.value("net.netfilter.nf_conntrack_tcp_timeout_established") == "600");
  int64_t start = m.host.clock_ms;
  system::System s = m.sys();
  CHECK(apply::guard(s, 2) == 0);
  CHECK(m.host.clock_ms >= start + 30000);  // not before the window ended
  CHECK(m.host.clock_ms < start + 30300);   // and soon after
  CHECK(listing(m) == first);
  CHECK(m.sysctls.values() == values);
  CHECK(m.sysctls.file() == file);
  auto rec = apply::recorded(s);
  CHECK_FALSE(rec.pending);
  CHECK(rec.history.entries.back().status == state::Status::RolledBack);
  CHECK(rec.history.entries.back().note == "not confirmed in time");
  REQUIRE(m.host.logged.size() == 1);
  CHECK(m.host.logged[0].starts_with("rolled back change #2 (not confirmed in time)"));
}

TEST_CASE("while a change waits, other applies are refused; at boot what was there before it comes back") {
  Machine m;
  REQUIRE(apply_spec(m, kFirst).status == Status::Applied);
  std::string first = listing(m);
  REQUIRE(apply_spec(m, kSecond, {.confirm = 60}).status == Status::Applied);
  apply::Observer quiet;
  system::System ms = m.sys();
  auto kept = apply::destroy(ms, quiet);
  CHECK(kept.status == Status::Failed);
  CHECK(kept.message ==
        "change #2 is waiting for confirmation; natc confirm or natc rollback first (nothing was removed)");
  CHECK(m.kernel.table);
  auto refused = apply_spec(m, kFirst);
  CHECK(refused.status == Status::Failed);
  REQUIRE(refused.errors.all().size() == 1);
  CHECK(refused.errors.all()[0].code == base::Code::PendingConfirmation);
  CHECK(refused.errors.all()[0].message == "change #2 is waiting for confirmation (60s left); nothing was applied");

  // A reboot: an empty kernel, sysctls at their defaults, the state dir kept.
  Machine booted;
  booted.state = m.state;
  booted.kernel.dumps_for(m.kernel);
  auto r = apply_spec(booted, kSecond, {.boot = true});
  CHECK(r.status == Status::Applied);
  CHECK(r.message == "change #2 was never confirmed: the state before it is back, and the spec was not applied");
  CHECK(listing(booted) == first);
  system::System s = booted.sys();
  CHECK_FALSE(apply::recorded(s).pending);
}

TEST_CASE("rollback undoes a waiting change now, and otherwise goes back to an earlier entry") {
  Machine m;
  REQUIRE(apply_spec(m, kFirst).status == Status::Applied);
  std::string first = listing(m);
  REQUIRE(apply_spec(m, kSecond, {.confirm = 60}).status == Status::Applied);
  system::System s = m.sys();
  CHECK(apply::rollback_pending(s).status == Status::Applied);
  CHECK(listing(m) == first);
  std::string error;
  REQUIRE(apply_spec(m, kSecond).status == Status::Applied);
  auto back = apply::rollback_target(s, std::nullopt, &error);
  REQUIRE(back);
  CHECK(back->n == 1);  // #2 was rolled back: the settled state before #3 is #1
  CHECK(back->spec_text == kFirst);
  CHECK(apply::rollback_target(s, 2, &error)->n == 2);
  CHECK_FALSE(apply::rollback_target(s, 9, &error));
  CHECK(error == "history has no entry #9 (natc history lists them)");
}

TEST_CASE("a history written by an older natc, spec texts inline, still rolls back and moves them out") {
  Machine m;
  m.state.files[std::string(state::kHistoryFile)] =
      std::string(R"({"natc_history": 1, "entries": [{"n": 1, "time": 5, "spec": "old.yaml", "spec_text": )") +
      nlohmann::json(std::string(kFirst)).dump() + R"(, "genid": 0, "status": "applied", "note": ""}]})";
  system::System s = m.sys();
  std::string error;
  auto old = apply::rollback_target(s, 1, &error);
  REQUIRE(old);
  CHECK(old->spec_text == kFirst);
  REQUIRE(apply_spec(m, kSecond).status == Status::Applied);
  CHECK(m.state.files.at("spec-1.txt") == kFirst);
  CHECK(apply::rollback_target(s, 1, &error)->spec_text == kFirst);
}

TEST_CASE("a table with rules natc did not write cannot get a window: nothing is applied") {
  Machine m;
  REQUIRE(apply_spec(m, kFirst).status == Status::Applied);
  m.kernel.unreadable_rule = true;
  auto r = apply_spec(m, kSecond, {.confirm = 60});
  CHECK(r.status == Status::Failed);
  CHECK(r.errors.all()[0].message.starts_with("natc's table holds rules natc did not write"));
  CHECK(m.host.guards.empty());
}

TEST_CASE("history keeps the last ten states and a damaged file is started again") {
  Machine m;
  for (int i = 0; i < 12; ++i) {
    std::string spec = kFirst;
    spec.replace(spec.find("8080"), 4, std::to_string(9000 + i));
    REQUIRE(apply_spec(m, spec).status == Status::Applied);
  }
  system::System s = m.sys();
  auto rec = apply::recorded(s);
  REQUIRE(rec.history.entries.size() == state::kHistoryKept);
  CHECK(rec.history.entries.front().n == 3);
  CHECK(rec.history.entries.back().n == 12);
  // Each spec's text is a file of its own, gone with its entry.
  CHECK_FALSE(m.state.files.count("spec-2.txt"));
  CHECK(m.state.files.count("spec-3.txt"));
  CHECK(rec.history.entries.front().spec_text.empty());  // read only when needed
  std::string error;
  CHECK(apply::rollback_target(s, 3, &error)->spec_text.find("9002") != std::string::npos);
  m.state.files["spec-3.txt"] += "#";
  CHECK_FALSE(apply::rollback_target(s, 3, &error));
  CHECK(error == "(memory)/spec-3.txt is not the spec #3 applied");
  m.state.files.erase("spec-3.txt");
  CHECK_FALSE(apply::rollback_target(s, 3, &error));
  CHECK(error == "(memory)/spec-3.txt is missing: the spec of #3 cannot be read");
  m.state.files[std::string(state::kHistoryFile)] = "{\"natc_history\": 1, \"entries\": [{\"n\": \"x\"}]}";
  rec = apply::recorded(s);
  CHECK(rec.history.entries.empty());
  CHECK(rec.problem.find("history.json is damaged") != std::string::npos);
}
