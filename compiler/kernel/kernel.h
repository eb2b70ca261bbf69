// The Kernel interface: read natc's table, commit one batch. The netlink
// implementation lives in netlink_kernel.cc; tests use a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nft/model.h"

struct nlmsghdr;

namespace natc::kernel {

// The kernel's messages for one dump of natc's table, as received: what a
// snapshot stores, and what live state is decoded from.
struct Dump {
  uint32_t genid = 0;
  std::vector<std::vector<uint8_t>> tables, chains, sets, elements, rules;
};

struct LiveRule {
  uint64_t handle = 0;
  std::optional<nft::Rule> rule;  // nullopt: not an expression list natc writes
};
struct LiveChain {
  nft::Chain chain;  // rules empty; see `rules`
  bool known = true;
  std::vector<LiveRule> rules;
};
struct LiveSet {
  nft::Set set;
  bool known = true;  // false: a set natc cannot read (name only)
};
struct Live {
  uint32_t genid = 0;
  bool table = false;
  std::vector<LiveChain> chains;
  std::vector<LiveSet> sets;
  uint64_t hash = 0;  // of what natc owns: not sequence numbers, not counters
};

Live decode_live(const Dump& dump);

// One change of a batch.
struct Op {
  enum class Kind { AddTable, DelTable, AddChain, DelChain, AddSet, DelSet, AddElems, DelElems, AddRule, DelRule };
  Kind kind;
  std::string chain;        // AddChain/DelChain/AddRule/DelRule
  nft::Chain chain_def;     // AddChain (also updates a policy)
  nft::Set set;             // AddSet/DelSet; AddElems/DelElems: definition + `elements`
  std::vector<nft::Element> elements;
  nft::Rule rule;           // AddRule
  uint64_t handle = 0;      // DelRule
  std::string origin;       // spec entry it comes from, for error messages
};

struct Batch {
  std::vector<Op> ops;
  std::optional<uint32_t> genid;  // the kernel refuses the batch if moved
};

class Error : public std::runtime_error {
 public:
  Error(int err, const std::string& what, std::string origin = {})
      : std::runtime_error(what), err(err), origin(std::move(origin)) {}
  int err;              // errno; ERESTART: the ruleset moved (stale plan)
  std::string origin;   // the spec entry of the refused message, if known
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Dump dump() = 0;                  // throws Error
  // Every other table (Docker's, iptables-nft's, firewalld's): read only.
  virtual Dump dump_others() = 0;           // throws Error
  virtual void commit(const Batch& b) = 0;  // throws Error; all or nothing
};

// Which element nest of a NEWSETELEM/DELSETELEM message holds byte
// `offset`: how an extended ack's NLMSGERR_ATTR_OFFS names the refused
// element, and through its comment the spec entry.
std::optional<size_t> element_at(const ::nlmsghdr* nlh, uint32_t offset);

// Netlink to the current network namespace (enter another one first).
std::unique_ptr<Kernel> netlink_kernel();
// Enters /run/netns/NAME for the rest of the process.
void enter_netns(const std::string& name);

}  // namespace natc::kernel
