// natc flows: the conntrack entries natc's rules translated, each named by
// the spec entry that made it (a port forward by its map element, a subnet
// by its set element, both read from natc's live table), filtered, and
// printed as text or JSON. Pure: the CLI brings the table and the flows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/net.h"
#include "conntrack/flows.h"
#include "kernel/kernel.h"

namespace natc::status {

struct Translated {
  std::string entry;
  std::string kind;  // "dnat", "snat", "dnat+snat" (a hairpinned flow) or "redirect"
  conntrack::Flow flow;
};

// Which entry of natc's live table translated a flow.
class Attribution {
 public:
  explicit Attribution(const kernel::Live& live);
  // nullopt: a flow natc did not translate.
  std::optional<Translated> of(const conntrack::Flow& f) const;
  // The entries that can translate (forwards, subnets, static NAT,
  // redirects), each once.
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  conntrack::TranslationIndex forwards_{{}};
  std::vector<std::pair<std::string, base::AddrRange>> subnets_;
  std::vector<std::pair<std::string, base::AddrRange>> statics_;  // static NAT hosts, by private address
  // A redirect rule: its protocol and ports, the source it takes (none:
  // any) and the local port it sends them to (0: the same).
  struct Redirect {
    std::string entry;
    uint8_t proto = 0;
    base::PortRange ports;
    std::optional<base::AddrRange> from;
    uint16_t to_port = 0;
  };
  std::vector<Redirect> redirects_;
  std::vector<std::string> entries_;
};

struct FlowFilter {
  std::string entry;                // "" : any
  std::optional<base::Prefix> src;  // the original source
  std::optional<base::Prefix> dst;  // the original destination, or where it was translated to
  bool passes(const Translated& t) const;
};

// The translated flows of `flows` that pass `filter`, by entry then tuple.
std::vector<Translated> translated(const Attribution& a, const std::vector<conntrack::Flow>& flows,
                                   const FlowFilter& filter);

// One line: entry, protocol, original tuple, what it became, state,
// seconds left (and age, with timestamps on). `now_ns`: the wall clock.
std::string flow_line(const Translated& t, uint64_t now_ns);
// The same as a header and aligned rows, or "No flows ..." when none.
std::string render_flows(const std::vector<Translated>& list, uint64_t now_ns);
nlohmann::json flow_json(const Translated& t, uint64_t now_ns);

}  // namespace natc::status
