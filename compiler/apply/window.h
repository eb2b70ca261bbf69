// Confirmation windows and history: `natc apply --confirm`, `natc confirm`,
// `natc rollback`, `natc history` and the guard process behind a window.
#pragma once

#include <optional>
#include <string>

#include "apply/apply.h"
#include "state/records.h"
#include "system/system.h"

namespace natc::apply {

// natc confirm: the pending change stays; its guard stops.
Result confirm(system::System& sys);

// Puts back what was there before pending change `p`: the ruleset (one
// batch), the live sysctls and the sysctl.d file; marks it rolled back,
// with `why`, and logs it. The caller holds the lock.
void restore_previous(system::System& sys, const state::Pending& p, const std::string& why);

// natc __guard N: waits until change N's window ends; unless it was
// confirmed (or rolled back) by then, restores what was there before.
// Returns the process exit code.
int guard(system::System& sys, uint64_t n);

// natc rollback [--to N]: with a change pending and no N, puts back what
// was there before it, now. Otherwise the spec of entry N (default: the
// settled entry before the last), to be applied like any spec: nullopt,
// with `error` set, when there is no such entry.
std::optional<state::Entry> rollback_target(system::System& sys, std::optional<uint64_t> to, std::string* error);
Result rollback_pending(system::System& sys);

// For natc history and natc status: the entries, and the pending window.
struct Recorded {
  state::History history;
  std::optional<state::Pending> pending;
  std::string problem;  // a damaged file, if any
};
Recorded recorded(system::System& sys);

}  // namespace natc::apply
