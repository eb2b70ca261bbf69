// One foreign rule read back as what it matches and what it does: the
// expression list (registers, comparisons, set and map lookups) of
// cotenancy::Rule turned into fields an operator writes (`-i eth0 -p tcp
// --dport 80 -j DNAT --to 10.0.0.5`), the form `natc import` translates
// into a spec. A rule over a set or a map lifts to one alternative per
// element. What has no such field (a mark, `-m recent`, a numgen) makes the
// rule unliftable, with the reason.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/net.h"
#include "cotenancy/ruleset.h"

namespace natc::imports {

struct Iface {
  std::string name;
  bool prefix = false;  // iptables' `eth+`, nft's `"eth*"`
  bool negate = false;
  friend bool operator==(const Iface&, const Iface&) = default;
};
struct Span {
  base::AddrRange range;
  bool negate = false;
};

// The conditions of one alternative; unset fields match anything.
struct Match {
  std::optional<base::Family> family;
  std::optional<Iface> iif, oif;
  std::optional<uint8_t> l4proto;
  std::optional<Span> saddr, daddr;
  std::optional<base::PortRange> sport, dport;
  std::optional<uint32_t> ct_state;   // any of these states (cotenancy::kCt*)
  std::optional<uint32_t> ct_status;  // any of these status bits
  std::optional<bool> daddr_local;    // `fib daddr type local`, `-m addrtype --dst-type LOCAL`
  bool empty() const;
};

struct Action {
  enum class Kind : uint8_t { None, Accept, Drop, Return, Jump, Goto, Nat } kind = Kind::None;
  cotenancy::NatAction nat;  // addresses and ports filled in from registers
  std::string chain;         // Jump, Goto
};

struct Lifted {
  Match match;
  Action action;
};

struct LiftResult {
  std::vector<Lifted> alternatives;  // none with no reason: the rule can never match
  std::string reason;                // set: natc cannot read the rule as fields
};

LiftResult lift(const cotenancy::Ruleset& rs, const cotenancy::Chain& chain, const cotenancy::Rule& rule);

// The conjunction of two matches, into `into`.
enum class Merged : uint8_t { Ok, Never, Cannot };
Merged merge(Match& into, const Match& with);

}  // namespace natc::imports
