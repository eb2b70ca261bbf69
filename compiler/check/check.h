// Validation: errors that make a spec unusable, and lints (warnings) that an
// experienced operator would want pointed out. Each check is one function in
// its own file; all collect and keep going.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/diag.h"
#include "cotenancy/ruleset.h"
#include "ir/ir.h"
#include "spec/spec.h"

namespace natc::check {

void run(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags);

// Errors.
void forward_accept(const ir::Ir& ir, base::Diagnostics& diags);
void duplicate_forwards(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags);
void families(const spec::Spec& spec, base::Diagnostics& diags);  // also range lengths
void interface_names(const spec::Spec& spec, base::Diagnostics& diags);
// Why a spec cannot hold `name` as an interface ("eth*" a wildcard): the
// kernel's rules and what prints safely; "" when it can.
std::string interface_name_problem(std::string_view name);
void conntrack_values(const spec::Spec& spec, base::Diagnostics& diags);
void subnet_overlap(const ir::Ir& ir, base::Diagnostics& diags);  // also the W3006 lint
void pool_ranges(const ir::Ir& ir, base::Diagnostics& diags);
// static_nat, nptv6 and helpers: prefix pairs, overlaps among them and
// with port forwards and SNAT addresses, helper kinds.
void translations(const ir::Ir& ir, base::Diagnostics& diags);

// A gateway pair's offline checks: virtual addresses, router ids, the sync
// link, forwards to a node's own address; masquerade, slow adverts.
void ha(const ir::Ir& ir, base::Diagnostics& diags);
void ha_lints(const ir::Ir& ir, base::Diagnostics& diags);

// Warnings.
void lints(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags);

// What `natc validate --live` reads from the running machine.
struct LiveFacts {
  std::optional<uint64_t> mem_total;     // bytes (MemTotal)
  std::optional<uint64_t> max, buckets;  // nf_conntrack_max, nf_conntrack_buckets now
  // Per pool name: the most flows it carries now to one destination
  // address, port and protocol, and which destination that is.
  std::map<std::string, std::pair<uint64_t, std::string>> pool_busiest;
  // Every other table's chains, rules and sets (Docker's, firewalld's, ...).
  cotenancy::Ruleset others;
  // Where the kernel routes the addresses of cotenancy_addresses().
  struct Route {
    std::string oif;     // output interface ("" if none)
    bool local = false;  // an address of this host
  };
  std::map<base::Addr, Route> routes;
  // The host's interfaces and their global addresses; nullopt when there
  // is no machine (a snapshot).
  struct Interface {
    std::string name;
    std::vector<base::Addr> configured;  // static (permanent) addresses
    std::vector<base::Addr> leased;      // from DHCP or SLAAC
  };
  std::optional<std::vector<Interface>> interfaces;
  // The spec's helper kinds whose kernel module this machine lacks.
  std::vector<std::string> missing_helpers;
  // A gateway pair (the spec has `ha:`): its daemons and its peer.
  struct Pair {
    bool keepalived_installed = false, keepalived_running = false;
    bool conntrackd_installed = false, conntrackd_running = false;
    std::optional<Route> peer_route;  // none: unreachable
    std::string hash;                 // this spec's pair hash
    // What the peer's keepalived file says (--peer-config), if given.
    std::optional<std::string> peer_file;
    std::string peer_file_name;
  };
  std::optional<Pair> pair;
};
// Warnings that need the machine: conntrack memory against MemTotal,
// max against buckets, pool capacity against the flows of now, and the
// co-tenancy lints below.
void live_lints(const spec::Spec& spec, const ir::Ir& ir, const LiveFacts& facts, base::Diagnostics& diags);
// The pair on this machine: daemons, the peer, the virtual addresses'
// subnets on their interfaces, the peer's spec (W3022, W3023, E2015).
void ha_live(const ir::Ir& ir, const LiveFacts& facts, base::Diagnostics& diags);
// Other tables that drop natc's traffic (W3011), claim its forwarded ports
// (W3012) or translate its subnets differently (W3013).
void cotenancy_lints(const ir::Ir& ir, const LiveFacts& facts, base::Diagnostics& diags);
// The addresses whose routes the co-tenancy lints need, and whether they
// have anything to look at (a base chain on a hook natc's traffic passes).
std::vector<base::Addr> cotenancy_addresses(const ir::Ir& ir);
bool cotenancy_relevant(const cotenancy::Ruleset& others);

// Whether two interface matches can select the same packet.
bool interfaces_overlap(const ir::IfMatch& a, const ir::IfMatch& b);

}  // namespace natc::check
