// `natc explain`: one packet's way through the hooks, as the kernel would
// take it: every base chain of every table (natc's and the others') in
// priority order at prerouting, the route, forward (or input), postrouting,
// and the reply's way back through forward. At each hook: what decided
// (a rule or a policy, and natc's spec entry), the tuple after it. What
// natc cannot evaluate is a "maybe" with its reason, never a guess.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/net.h"
#include "cotenancy/eval.h"

namespace natc::explain {

struct Tuple {
  uint8_t proto = 6;
  base::Addr saddr, daddr;
  std::optional<uint16_t> sport, dport;  // none: ICMP
  friend bool operator==(const Tuple&, const Tuple&) = default;
};
std::string to_string(const Tuple& t);  // "tcp 198.51.100.7:40000 -> 203.0.113.50:8080"

struct Packet {
  Tuple tuple;
  std::string iif;
};

// What explain knows of the machine beyond the ruleset; a function that
// returns nullopt does not know.
struct World {
  const cotenancy::Ruleset& rules;
  std::function<std::optional<bool>(const base::Addr&)> local;         // one of this host's addresses
  std::function<std::optional<std::string>(const base::Addr&)> route;  // output interface
  std::function<std::optional<base::Addr>(const std::string&, base::Family)> address_of;  // for masquerade
  bool routes_known = false;  // the machine's own table: an address route() does not know is unreachable
};

struct Step {
  std::string hook;  // "prerouting", "route", "forward", "input", "postrouting", "reply forward"
  std::optional<cotenancy::Decision> decision;  // none: no chain at this hook
  std::string action;                           // "accept", "drop", "DNAT to 10.0.0.5:80", ...
  std::vector<cotenancy::Maybe> maybes;         // rules passed over for want of knowledge
  std::string note;                             // the route's, or why a translation is unknown
  std::optional<Tuple> tuple;                   // after this step, when it changed the packet
};

struct Explanation {
  Packet packet;
  std::vector<Step> steps;
  enum class Verdict : uint8_t { Forwarded, Delivered, Dropped, Maybe } verdict = Verdict::Maybe;
  std::string oif;  // Forwarded: where it leaves ("" unknown)
  Tuple out;        // as it leaves (or is delivered)
  bool translated_known = true;
  std::optional<Verdict> reply;  // the reply's fate in forward (Forwarded or Dropped or Maybe)
  bool maybe() const;            // some step could not be decided
};
std::string_view verdict_name(Explanation::Verdict v);
// What a decision does: "accept", "drop", "DNAT to 10.0.0.5:80", "maybe: WHY".
std::string action_text(const cotenancy::Decision& d);

Explanation run(const World& w, const Packet& p);

}  // namespace natc::explain
