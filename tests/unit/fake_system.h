// An in-memory machine for the engines: a kernel that applies batches to a
// table the way nf_tables would (generation checks included), a conntrack
// table, sysctls and a host. Knobs make it misbehave on purpose.
#pragma once

#include <cerrno>
#include <deque>
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
  kernel::Dump dump() override { return {genid}; }
  cotenancy::Ruleset others() override { return foreign; }
  void commit(const kernel::Batch& b) override;
  std::map<base::Addr, kernel::RouteTo> routes_to(const std::vector<base::Addr>&) override { return {}; }

  // The table as the kernel holds it; rules with their handles.
  std::optional<nft::Table> table;
  std::map<std::string, std::vector<std::pair<uint64_t, nft::Rule>>> rules;
  uint32_t genid = 1;
  cotenancy::Ruleset foreign;

  // Knobs: errnos the next commits fail with (ERESTART: someone else
  // committed first, and the generation moves); an entry whose elements
  // the kernel refuses (EEXIST, the extended ack naming it); reads after
  // which another writer bumps the generation.
  std::deque<int> fail_next;
  std::string refuse_entry;
  int moves_after_reads = 0;

  // What happened.
  int reads = 0, commits = 0;
  std::vector<kernel::Batch> batches;

  // The table with its rules in chain order, for comparing.
  std::optional<nft::Table> snapshot() const;
  // Holds `t` as if natc had committed it.
  void load(const nft::Table& t);

 private:
  void apply(const kernel::Op& op);
  uint64_t next_handle_ = 1;
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
  std::unique_ptr<system::Held> lock() override;
  std::optional<uint64_t> memory = uint64_t(8) << 30;
  int locks = 0;
  bool held = false;
};

struct FakeSystem {
  FakeKernel kernel;
  FakeConntrack conntrack;
  sysctl::MemoryStore sysctls;
  FakeHost host;
  system::System get() { return {kernel, conntrack, sysctls, host}; }
};

// A flow from `client` to `dst:port` that DNAT sent to `target:target_port`.
conntrack::Flow dnat_flow(const std::string& client, const std::string& dst, uint16_t port, const std::string& target,
                          uint16_t target_port, uint8_t proto = 6);

}  // namespace natc::test
