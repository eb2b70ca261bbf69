// An in-memory machine for the engines: a kernel that applies batches to a
// table the way nf_tables would (generation checks included), a conntrack
// table, sysctls and a host. Knobs make it misbehave on purpose.
#pragma once

#include <cerrno>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conntrack/flows.h"
#include "kernel/kernel.h"
#include "sysctl/memory_store.h"
#include "system/system.h"

namespace natc::test {

class FakeKernel : public kernel::Kernel {
 public:
  kernel::Live read() override;
  // A dump names a copy of the table kept here, so decode() gives it back
  // (through a pending confirmation's JSON too).
  kernel::Dump dump() override;
  kernel::Live decode(const kernel::Dump& d) override;
  std::string instance() override { return instance_id; }
  std::optional<kernel::Dump> dump_unchanged(uint32_t gen) override;
  cotenancy::Ruleset others() override { return foreign; }
  void commit(const kernel::Batch& b) override;
  std::map<base::Addr, kernel::RouteTo> routes_to(const std::vector<base::Addr>& addrs) override;
  std::vector<kernel::Listener> listeners() override { return listening; }
  std::optional<std::vector<kernel::Interface>> interfaces() override { return host_interfaces; }
  // Tests that link the netlink library set this to kernel::preview.
  cotenancy::Ruleset preview(const nft::Table& t) override { return previewer ? previewer(t) : cotenancy::Ruleset{}; }

  // The table as the kernel holds it; rules with their handles.
  std::optional<nft::Table> table;
  std::map<std::string, std::vector<std::pair<uint64_t, nft::Rule>>> rules;
  uint32_t genid = 1;
  std::string instance_id = "boot/1";
  cotenancy::Ruleset foreign;
  std::vector<kernel::Listener> listening;
  std::optional<std::vector<kernel::Interface>> host_interfaces;  // nullopt: unknown, as in a snapshot
  std::map<base::Addr, kernel::RouteTo> routes;                   // addresses not here have no route
  std::function<cotenancy::Ruleset(const nft::Table&)> previewer;

  // Knobs: errnos the next commits fail with (ERESTART: someone else
  // committed first, and the generation moves); an entry whose elements
  // the kernel refuses (EEXIST, the extended ack naming it); reads after
  // which another writer bumps the generation.
  std::deque<int> fail_next;
  std::string refuse_entry;
  int moves_after_reads = 0;

  // What happened.
  int reads = 0, commits = 0, partial_reads = 0;
  std::vector<kernel::Batch> batches;

  // The table with its rules in chain order, for comparing.
  std::optional<nft::Table> snapshot() const;
  // Holds `t` as if natc had committed it.
  void load(const nft::Table& t);
  // Reads dumps another fake took (a state dir kept across a "reboot").
  void dumps_for(const FakeKernel& other) { dumps_ = other.dumps_; }
  // A rule in the table that natc did not write (decodes as unknown).
  bool unreadable_rule = false;

 private:
  void apply(const kernel::Op& op);
  using Rules = std::map<std::string, std::vector<std::pair<uint64_t, nft::Rule>>>;
  kernel::Live live(const std::optional<nft::Table>& t, const Rules& r, uint32_t gen) const;
  kernel::Dump named(std::optional<nft::Table> t, uint32_t gen);
  uint64_t next_handle_ = 1;
  std::vector<std::pair<std::optional<nft::Table>, Rules>> dumps_;
};

class FakeConntrack : public conntrack::Table {
 public:
  std::vector<conntrack::Flow> flows() override {
    if (broken) throw conntrack::Error("cannot read the conntrack table: Operation not permitted");
    return list;
  }
  size_t remove(const std::vector<conntrack::Translation>& translations) override;
  std::map<std::string, uint64_t> stats() override { return counters; }

  std::vector<conntrack::Flow> list;
  std::map<std::string, uint64_t> counters;
  bool broken = false;
};

class FakeHost : public system::Host {
 public:
  std::optional<uint64_t> mem_total() override { return memory; }
  std::optional<bool> has_module(const std::string& name) override {
    return modules ? std::optional<bool>(modules->count(name) > 0) : std::nullopt;
  }
  std::optional<std::set<std::string>> modules;  // nullopt: cannot tell
  std::unique_ptr<system::Held> lock() override;
  int64_t now_ms() override { return clock_ms; }
  void sleep_ms(int ms) override { clock_ms += ms; }
  int64_t start_guard(uint64_t n) override {
    guards.push_back(n);
    return int64_t(1000 + guards.size());
  }
  void stop_guard(int64_t pid) override { stopped.push_back(pid); }
  void log(const std::string& message) override { logged.push_back(message); }
  int64_t pid() override { return 4242; }

  std::optional<uint64_t> memory = uint64_t(8) << 30;
  int locks = 0;
  bool held = false;
  int64_t clock_ms = 1'800'000'000'000;  // a virtual clock sleep_ms moves
  std::vector<uint64_t> guards;          // the windows a guard was started for
  std::vector<int64_t> stopped;
  std::vector<std::string> logged;
};

struct FakeSystem {
  FakeKernel kernel;
  FakeConntrack conntrack;
  sysctl::MemoryStore sysctls;
  FakeHost host;
  state::MemoryDir state;
  system::System get() { return {kernel, conntrack, sysctls, host, state}; }
};

// A flow from `client` to `dst:port` that DNAT sent to `target:target_port`.
conntrack::Flow dnat_flow(const std::string& client, const std::string& dst, uint16_t port, const std::string& target,
                          uint16_t target_port, uint8_t proto = 6);

}  // namespace natc::test
