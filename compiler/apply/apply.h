// natc's apply: plan -> one batch -> sysctls -> flow resets, and the
// ruleset put back when a sysctl is refused. The command line shows the
// plan and asks through an Observer; the engine decides everything else.
// With a confirmation window (--confirm) it keeps what was there before in
// the state directory and starts a guard that puts it back unless the
// change is confirmed in time (window.h).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/diag.h"
#include "frontend/frontend.h"
#include "guard/guard.h"
#include "plan/plan.h"
#include "plan/saved.h"
#include "system/system.h"

namespace natc::apply {

// What the command line does while an apply runs.
class Observer {
 public:
  virtual ~Observer() = default;
  // Warnings from the live lints, before anything is planned.
  virtual void warnings(const base::Diagnostics&, std::string_view /*skipped*/) {}
  virtual void phase(std::string_view /*name*/) {}  // a phase ended (for -v)
  virtual void planned(const plan::Plan&) {}        // the plan about to be applied
  // Whether to go on; asked once, for the first plan with changes.
  virtual bool approve(const plan::Plan&) { return true; }
  virtual void replanning() {}  // the ruleset moved under the plan
  // Something worth saying that changes nothing ("flow counts unknown").
  virtual void note(std::string_view) {}
};

struct Options {
  bool keep_flows = false;  // keep the flows of moved or removed forwards
  int attempts = 3;         // plans, when someone else changes the ruleset meanwhile
  // Seconds to confirm the change in; unconfirmed, it is put back.
  std::optional<int64_t> confirm;
  bool force = false;  // apply although the lockout guard says it would cut a session
  // At boot: a change that was still waiting for confirmation when the
  // machine went down is not applied; what was there before it is.
  bool boot = false;
  std::optional<guard::Session> caller;  // the session natc runs in ($SSH_CONNECTION)
  std::string note;                      // for the history entry ("rollback to #3")
};

struct Result {
  enum class Status { Applied, Unchanged, Declined, Failed };
  Status status = Status::Failed;
  plan::Plan plan;  // the last plan made
  size_t flows_reset = 0;
  base::Diagnostics errors;            // Failed: why, at the spec entry's line
  std::optional<uint64_t> entry;       // the history entry this apply made
  std::optional<int64_t> deadline_ms;  // --confirm: the window ends then (ms since the epoch)
  std::string message;                 // what happened, when it is not a plan ("rolled back change #4")
};

// Applies `fe`'s spec; with `saved`, exactly the plan saved against the
// live state it names (refused, E4002, when that state moved).
Result run(const frontend::Frontend& fe, const std::optional<plan::Saved>& saved, system::System& sys, Observer& obs,
           const Options& o = {});

// Removes natc's table and sysctl.d file (live sysctls stay).
Result destroy(system::System& sys, Observer& obs);

}  // namespace natc::apply
