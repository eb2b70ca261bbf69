// The Kernel interface: natc's table (read, commit), the other owners'
// tables (read only) and routes. The netlink implementation lives in
// netlink_kernel.cc; unit tests use an in-memory fake (tests/unit/fake_system.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/net.h"
#include "cotenancy/ruleset.h"
#include "nft/model.h"

namespace natc::kernel {

// The kernel's messages for one dump of natc's table, as received: what a
// snapshot stores, and what live state is decoded from.
struct Dump {
  uint32_t genid = 0;
  std::vector<std::vector<uint8_t>> tables, chains, sets, elements, rules, objects;
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
  std::vector<nft::CtHelper> helpers;
  // Objects natc did not write (another type, or unreadable): name and type.
  std::vector<std::pair<std::string, uint32_t>> other_objects;
  uint64_t hash = 0;  // of what natc owns: not sequence numbers, not counters
  // The part of `hash` from everything but the sets natc can read (table,
  // chains, rules, objects, unreadable sets); finish_hash() adds those.
  uint64_t rest_hash = 0;
};

// live.hash from live.rest_hash and what the readable sets are (definition,
// elements' keys, values and entries), in any order: the same whether the
// sets came from a dump or from natc's image of what it wrote.
void finish_hash(Live& live);

// One change of a batch.
struct Op {
  enum class Kind {
    AddTable,
    DelTable,
    AddChain,
    DelChain,
    AddSet,
    DelSet,
    AddElems,
    DelElems,
    AddRule,
    DelRule,
    AddObj,
    DelObj
  };
  Kind kind;
  std::string chain;     // AddChain/DelChain/AddRule/DelRule
  nft::Chain chain_def;  // AddChain (also updates a policy)
  nft::Set set;          // AddSet/DelSet; AddElems/DelElems: definition + `elements`
  // AddElems/DelElems: the elements, owned, or borrowed (a whole new set's)
  // from the plan's table, which every batch made from it lives within.
  std::vector<nft::Element> elements;
  std::span<const nft::Element> borrowed;
  std::span<const nft::Element> items() const { return elements.empty() ? borrowed : std::span(elements); }
  nft::Rule rule;         // AddRule
  uint64_t handle = 0;    // DelRule
  nft::CtHelper helper;   // AddObj/DelObj (DelObj: its name)
  uint32_t obj_type = 3;  // DelObj: NFT_OBJECT_CT_HELPER, or the type of an object natc did not write
  std::string entry;      // the spec entry it comes from, for error messages
};

struct Batch {
  std::vector<Op> ops;
  std::optional<uint32_t> genid;  // the kernel refuses the batch if moved
};

class Error : public std::runtime_error {
 public:
  Error(int errnum, const std::string& what, std::string spec_entry = {})
      : std::runtime_error(what), err(errnum), entry(std::move(spec_entry)) {}
  int err;            // errno; ERESTART: the ruleset moved (stale plan)
  std::string entry;  // the spec entry of the refused element or rule, if known
};

// A socket of this host waiting for connections (TCP) or datagrams (UDP).
struct Listener {
  uint8_t proto = 0;
  base::Addr addr;     // the address it is bound to
  bool any = false;    // bound to every address (0.0.0.0 or ::)
  bool v6only = true;  // an IPv6 socket that takes no IPv4 connections
  uint16_t port = 0;
  std::string process;  // the program holding it ("sshd"), "" when unknown
};

struct RouteTo {
  std::string oif;     // output interface, "" when the route has none
  bool local = false;  // the address is one of this host's
};

// A network interface of this host (this network namespace) and its
// global addresses.
struct Interface {
  std::string name;
  struct Address {
    base::Addr addr;
    bool permanent = false;  // configured (IFA_F_PERMANENT), not leased by DHCP or SLAAC
    uint8_t prefix_len = 0;  // the connected network's: 24 for 10.0.0.1/24
  };
  std::vector<Address> addresses;  // scope global only
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // natc's table, decoded, read under one ruleset generation.
  virtual Live read() = 0;  // throws Error
  // The same as the kernel's messages, for a snapshot.
  virtual Dump dump() = 0;  // throws Error
  // Where a generation number counts: this boot and this network namespace
  // (its cookie, never reused while the machine is up). "" when the kernel
  // cannot tell, or there is no kernel (a snapshot).
  virtual std::string instance() = 0;
  // natc's table without its sets (table, chains, rules, objects), read
  // while the ruleset generation is still `genid`; nullopt once it moved or
  // when there is no table. Throws Error.
  virtual std::optional<Dump> dump_unchanged(uint32_t genid) = 0;
  // Messages of a dump (this kernel's, or one kept in a file) as Live.
  // Throws Error on a malformed message.
  virtual Live decode(const Dump& d) = 0;
  // Every other table (Docker's, iptables-nft's, firewalld's): read only.
  virtual cotenancy::Ruleset others() = 0;  // throws Error
  virtual void commit(const Batch& b) = 0;  // throws Error; all or nothing
  // Each address's route; unreachable ones are left out.
  virtual std::map<base::Addr, RouteTo> routes_to(const std::vector<base::Addr>& addrs) = 0;
  // The TCP and UDP sockets listening in this network namespace.
  virtual std::vector<Listener> listeners() = 0;
  // The interfaces of this network namespace; nullopt when there is no
  // machine to ask (a snapshot).
  virtual std::optional<std::vector<Interface>> interfaces() = 0;
  // `t` as the kernel would hold it, in the form the packet evaluator
  // reads (what natc's next ruleset would do, beside the other tables).
  virtual cotenancy::Ruleset preview(const nft::Table& t) = 0;
};

// The live table as a model; nullopt when part of it is not natc's writing.
std::optional<nft::Table> to_table(const Live& live);

}  // namespace natc::kernel
