// natc status: the ops guide's Count / Max / Timeouts at a glance, the
// kernel's drop counters, flows and traffic per spec entry, and drift from
// a spec. Gathered here, printed by render.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "conntrack/flows.h"
#include "frontend/frontend.h"
#include "kernel/kernel.h"
#include "nft/model.h"
#include "system/system.h"

namespace natc::status {

struct Count {
  std::string name, detail;
  uint64_t flows = 0;
  std::optional<nft::Counter> traffic;  // packets and bytes, both directions
};

struct Timeout {
  std::string key, live;
  std::optional<std::string> spec;  // what the spec sets, if it sets this one
};

struct Report {
  std::optional<uint64_t> count, max;
  double alert_ratio = 0;
  std::vector<Timeout> timeouts;
  std::map<std::string, uint64_t> drops;
  std::vector<Count> forwards, subnets, statics, npts, redirects, pool_addresses, ports;
  std::optional<bool> drift;
  std::string drift_summary;
  // A change applied with --confirm: its number and the seconds left.
  struct Pending {
    uint64_t change = 0;
    int64_t seconds_left = 0;
  };
  std::optional<Pending> pending;
  // A gateway pair (the spec has `ha:`): this node's side of it.
  struct Pair {
    std::string state;  // what keepalived last told natc ha notify; "" if nothing yet
    int64_t state_age_s = -1;
    struct Instance {
      uint8_t vrid = 0;
      std::string address, interface;
      bool held = false;  // the address is on this node now
    };
    std::vector<Instance> instances;
    bool keepalived_running = false;
    bool state_sync = false;            // the spec asks for conntrackd
    std::optional<ha::SyncStats> sync;  // conntrackd -s; none: not running
    bool peer_seen() const { return sync && sync->received > 0; }
  };
  std::optional<Pair> pair;
  double usage() const { return count && max && *max ? double(*count) / double(*max) : 0; }
  bool alert() const { return usage() > alert_ratio; }
};

// Reads everything a report says; `fe` (a spec, optional) adds the
// timeouts it sets, its alert threshold and drift. `phase` (optional) is
// told as each phase ends (-v).
Report collect(system::System& sys, const frontend::Frontend* fe,
               const std::function<void(std::string_view)>& phase = {});

// The per-entry part, from natc's live table and the flows: pure.
void count_entries(const kernel::Live& live, const std::vector<conntrack::Flow>& flows, Report& r);

}  // namespace natc::status
