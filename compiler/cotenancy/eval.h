// Runs one packet natc will carry through another owner's base chain, the
// way the kernel would: registers, comparisons, set lookups, jumps. What
// natc does not know about the packet, or cannot read in a rule, stays
// unknown (three-valued): a rule that might match is reported as "maybe",
// never guessed either way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cotenancy/ruleset.h"

namespace natc::cotenancy {

// An interface name: exact, a prefix (natc's `ppp*`), or unknown.
struct IfName {
  enum class Kind : uint8_t { Unknown, Exact, Prefix } kind = Kind::Unknown;
  std::string name;
  static IfName exact(std::string n) { return {Kind::Exact, std::move(n)}; }
  static IfName none() { return {Kind::Exact, ""}; }  // no device (oif at prerouting)
};

// What natc knows about a packet of one of its spec entries.
struct Probe {
  base::Family family = base::Family::V4;
  IfName iif, oif;
  std::optional<base::Addr> saddr, daddr;
  std::optional<bool> saddr_local, daddr_local;  // an address of this host
  std::optional<uint8_t> l4proto;
  std::optional<uint16_t> sport, dport;
  std::optional<uint8_t> tcp_flags;  // the TCP header's flags byte (SYN 0x02)
  std::optional<uint32_t> ct_state, ct_status;
  std::optional<uint8_t> ct_direction;  // 0 original, 1 reply
};

struct Decision {
  enum class Kind : uint8_t { Pass, Drop, Nat, Unknown } kind = Kind::Pass;
  const Chain* chain = nullptr;  // the base chain or the chain it jumped to
  const Rule* rule = nullptr;    // null: the base chain's policy (or its end)
  NatAction nat;                 // Kind::Nat
  std::string what;              // Kind::Unknown: the statement natc cannot read
  std::string entry;             // the comment of the element that decided, else of the rule
};

// A decision some rule would take if a condition natc cannot decide held.
struct Maybe {
  Decision decision;
  std::string unknown;  // "xt match 'set'", "the packet's output interface"
};

struct Outcome {
  Decision decision;          // with every undecidable condition false
  std::vector<Maybe> maybes;  // rules passed over for want of knowledge
};

// Rules one walk may run, shared by the calls given it: a ruleset whose
// jumps fan out (many jumps each, maybes followed down every one) ends in an
// unknown decision, not in time beyond bound.
struct Budget {
  size_t runs = 50000;
};

Outcome evaluate(const Ruleset& rs, const Chain& base, const Probe& p);
Outcome evaluate(const Ruleset& rs, const Chain& base, const Probe& p, Budget& budget);

// "table ip filter, chain FORWARD, rule handle 8" / "... chain FORWARD (policy drop)"
std::string describe(const Decision& d);
// "DNAT to 172.17.0.2:80", "masquerade", "SNAT to 203.0.113.9"
std::string describe(const NatAction& n);

}  // namespace natc::cotenancy
