#include "apply/window.h"

#include <cerrno>

namespace natc::apply {
namespace {

using Status = Result::Status;

constexpr int kPollMs = 200;
constexpr int kCommitAttempts = 3;

// The ruleset as it was: one batch from what is there now.
void restore_ruleset(system::System& sys, const kernel::Live& before) {
  std::optional<nft::Table> table = before.table ? kernel::to_table(before) : std::nullopt;
  for (int attempt = 1;; ++attempt) {
    kernel::Live now = sys.kernel.read();
    plan::Plan back = table ? plan::diff(*table, now) : plan::destroy(now, sys.sysctls);
    back.batch.genid = now.genid;
    if (back.batch.ops.empty()) return;
    try {
      sys.kernel.commit(back.batch);
      return;
    } catch (const kernel::Error& e) {
      if (e.err != ERESTART || attempt == kCommitAttempts) throw;
    }
  }
}

// Live values and the file as they were; a value the kernel will not take
// back is logged, and the rest still goes back.
void restore_sysctls(system::System& sys, const kernel::Snapshot& before) {
  for (const auto& [key, value] : before.sysctls) {
    if (sys.sysctls.value(key) == value) continue;
    try {
      sys.sysctls.write(key, value);
    } catch (const sysctl::Error& e) {
      sys.host.log(std::string("rollback: ") + e.what());
    }
  }
  if (sys.sysctls.file() == before.sysctl_file) return;
  if (before.sysctl_file)
    sys.sysctls.write_file(*before.sysctl_file);
  else
    sys.sysctls.remove_file();
}

void mark(system::System& sys, uint64_t n, state::Status status, const std::string& note) {
  std::string problem;
  state::History h = state::read_history(sys.state, &problem);
  if (state::Entry* e = h.find(n)) {
    e->status = status;
    if (!note.empty()) e->note = note;
    state::write_history(sys.state, h);
  }
}

void stop_guard(system::System& sys) {
  auto pid = sys.state.read(std::string(state::kGuardPidFile));
  if (pid) sys.host.stop_guard(std::strtoll(pid->c_str(), nullptr, 10));
  sys.state.remove(std::string(state::kGuardPidFile));
}

}  // namespace

void restore_previous(system::System& sys, const state::Pending& p, const std::string& why) {
  restore_ruleset(sys, sys.kernel.decode(p.previous.dump));
  restore_sysctls(sys, p.previous);
  mark(sys, p.n, state::Status::RolledBack, why);
  sys.state.remove(std::string(state::kPendingFile));
  sys.host.log("rolled back change #" + std::to_string(p.n) + " (" + why +
               "): the ruleset, the live sysctls and the sysctl.d file are as they were before it");
}

Result confirm(system::System& sys) {
  auto held = sys.host.lock();
  Result r;
  std::string problem;
  auto p = state::read_pending(sys.state, &problem);
  if (!p) {
    state::History h = state::read_history(sys.state, &problem);
    r.message = "no change is waiting for confirmation";
    if (!h.entries.empty())
      r.message += "; the last one, #" + std::to_string(h.entries.back().n) + ", is " +
                   std::string(state::status_name(h.entries.back().status)) +
                   (h.entries.back().note.empty() ? "" : " (" + h.entries.back().note + ")");
    if (!problem.empty()) r.message += "; " + problem;
    return r;  // Failed
  }
  mark(sys, p->n, state::Status::Confirmed, "");
  sys.state.remove(std::string(state::kPendingFile));
  stop_guard(sys);
  r.status = Status::Applied;
  r.entry = p->n;
  r.message = "confirmed change #" + std::to_string(p->n);
  return r;
}

Result rollback_pending(system::System& sys) {
  auto held = sys.host.lock();
  Result r;
  std::string problem;
  auto p = state::read_pending(sys.state, &problem);
  if (!p) {
    r.status = Status::Unchanged;
    return r;
  }
  restore_previous(sys, *p, "rolled back by natc rollback");
  stop_guard(sys);
  r.status = Status::Applied;
  r.entry = p->n;
  r.message = "rolled back change #" + std::to_string(p->n) + ": what was there before it is back";
  return r;
}

int guard(system::System& sys, uint64_t n) {
  sys.state.write(std::string(state::kGuardPidFile), std::to_string(sys.host.pid()) + "\n");
  std::string problem;
  for (;;) {
    auto p = state::read_pending(sys.state, &problem);
    if (!p || p->n != n) return 0;  // confirmed, or rolled back by hand
    if (sys.host.now_ms() >= p->deadline_ms) break;
    sys.host.sleep_ms(kPollMs);
  }
  auto held = sys.host.lock();
  auto p = state::read_pending(sys.state, &problem);  // confirmed while natc waited for the lock?
  if (!p || p->n != n) return 0;
  try {
    restore_previous(sys, *p, "not confirmed in time");
  } catch (const std::exception& e) {
    sys.host.log("could not roll back change #" + std::to_string(n) + ": " + e.what());
    return 1;
  }
  sys.state.remove(std::string(state::kGuardPidFile));
  return 0;
}

std::optional<state::Entry> rollback_target(system::System& sys, std::optional<uint64_t> to, std::string* error) {
  std::string problem;
  state::History h = state::read_history(sys.state, &problem);
  if (!problem.empty()) {
    *error = problem;
    return std::nullopt;
  }
  state::Entry* target = nullptr;
  if (to) {
    target = h.find(*to);
    if (!target) *error = "history has no entry #" + std::to_string(*to) + " (natc history lists them)";
  } else {
    // The settled state before the last one.
    for (size_t i = h.entries.size(); i-- > 1 && !target;)
      if (h.entries[i - 1].settled()) target = &h.entries[i - 1];
    if (!target) *error = "history holds no earlier state to go back to (natc history lists what it has)";
  }
  if (!target || !state::load_spec_text(sys.state, *target, error)) return std::nullopt;
  return *target;
}

Recorded recorded(system::System& sys) {
  Recorded r;
  r.history = state::read_history(sys.state, &r.problem);
  std::string problem;
  r.pending = state::read_pending(sys.state, &problem);
  if (!problem.empty()) r.problem += (r.problem.empty() ? "" : "; ") + problem;
  return r;
}

}  // namespace natc::apply
