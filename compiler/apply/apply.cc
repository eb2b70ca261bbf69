#include "apply/apply.h"

#include <cerrno>

#include "apply/window.h"
#include "state/image.h"
#include "sysctl/conf.h"
#include "system/facts.h"

namespace natc::apply {
namespace {

using base::Code;
using Status = Result::Status;

// Puts the ruleset back as it was before this apply; false when the old
// one held parts natc cannot write back.
bool restore(kernel::Kernel& k, const kernel::Live& before) {
  kernel::Live now = k.read();
  plan::Plan back;
  if (!before.table) {
    back.batch.ops.push_back({kernel::Op::Kind::DelTable});
  } else if (auto t = kernel::to_table(before)) {
    back = plan::diff(*t, now);
  } else {
    return false;
  }
  back.batch.genid = now.genid;
  if (!back.batch.ops.empty()) k.commit(back.batch);
  return true;
}

class Applier {
 public:
  Applier(const frontend::Frontend& fe, const std::optional<plan::Saved>& saved, system::System& sys, Observer& obs,
          const Options& o)
      : fe_(fe), saved_(saved), sys_(sys), obs_(obs), o_(o) {}

  Result run() {
    auto held = sys_.host.lock();  // one natc at a time
    if (!settle_pending()) return std::move(r_);
    if (r_.status == Status::Applied) return std::move(r_);  // at boot: the state before it is back
    if (!checks()) return std::move(r_);
    for (int attempt = 1;; ++attempt) {
      std::optional<kernel::Dump> dump;
      kernel::Live live = read_live(&dump);
      if (saved_ && !saved_moved(live)) return std::move(r_);
      std::string note;
      r_.plan = plan::against(fe_.ir, live, sys_, &note);  // diff, and the flows it would reset
      if (!note.empty()) obs_.note(note);
      r_.plan.cuts = system::cuts(fe_.ir, r_.plan, sys_, o_.caller);  // the lockout guard
      obs_.phase("plan");
      obs_.planned(r_.plan);
      if (!guard_sessions()) return std::move(r_);
      if (r_.plan.empty()) {
        if (dump) remember(live.genid);  // the next apply can skip the dump
        return done(Status::Unchanged);
      }
      if (!asked_ && !obs_.approve(r_.plan)) return done(Status::Declined);
      asked_ = true;
      if (o_.confirm && !open_window(*dump, live)) return std::move(r_);
      if (auto retry = commit(attempt)) {
        close_window();
        if (*retry) continue;
        return std::move(r_);
      }
      return finish(live);
    }
  }

 private:
  Result done(Status s) {
    r_.status = s;
    return std::move(r_);
  }

  Result fail(Code code, std::string_view entry, std::string message) {
    failed(code, entry, std::move(message));
    return std::move(r_);
  }

  void failed(Code code, std::string_view entry, std::string message, std::string help = "") {
    r_.status = Status::Failed;
    r_.errors = fe_.at_entry(code, entry, std::move(message));
    if (!help.empty()) {
      base::Diagnostics d;
      const base::Diagnostic& e = r_.errors.all()[0];
      d.report(e.code, e.loc, e.message, std::move(help));
      r_.errors = std::move(d);
    }
  }

  // natc's table as it is now: from the image of the last apply while the
  // ruleset has not changed since, else read whole (under one ruleset
  // generation), which a confirmation window keeps for a rollback.
  kernel::Live read_live(std::optional<kernel::Dump>* dump) {
    std::string why = "a confirmation window keeps the whole table";
    if (!o_.confirm) {
      if (auto live = state::live_from_image(sys_.kernel, sys_.state, &why)) {
        obs_.phase("read live (image)");
        return std::move(*live);
      }
    }
    *dump = sys_.kernel.dump();
    kernel::Live live = sys_.kernel.decode(**dump);
    obs_.phase("read live (dump: " + why + ")");
    return live;
  }

  // What natc's table is at generation `genid`, for the next apply.
  void remember(uint32_t genid) {
    try {
      state::write_image(sys_.state, sys_.kernel, genid, r_.plan.desired->sets);
    } catch (const std::exception&) {
      // No image: the next apply reads the table. An older one names an
      // older generation, which the kernel has left, so it is never used.
    }
  }

  // A saved plan applies to exactly the state it was made against.
  bool saved_moved(const kernel::Live& live) {
    auto moved = plan::moved_since(*saved_, live.hash, sys_.sysctls);
    if (moved.empty()) return true;
    std::string what;
    for (const auto& m : moved) what += (what.empty() ? "" : ", ") + m;
    failed(Code::StalePlan, "", "the state changed since the plan was made (" + what + "); nothing was applied",
           "plan again");
    return false;
  }

  // A change still waiting for confirmation blocks every other apply; at
  // boot it was never confirmed, so what was there before it comes back.
  bool settle_pending() {
    std::string problem;
    auto p = state::read_pending(sys_.state, &problem);
    if (!problem.empty()) obs_.note(problem);
    if (!p) return true;
    if (o_.boot) {
      restore_previous(sys_, *p, "not confirmed before the machine restarted");
      r_.status = Status::Applied;
      r_.message = "change #" + std::to_string(p->n) +
                   " was never confirmed: the state before it is back, and the spec was not applied";
      return true;
    }
    int64_t left = (p->deadline_ms - sys_.host.now_ms() + 999) / 1000;
    failed(Code::PendingConfirmation, "",
           "change #" + std::to_string(p->n) + " is waiting for confirmation (" +
               (left > 0 ? std::to_string(left) + "s left" : "its window has ended") + "); nothing was applied",
           "natc confirm keeps it, natc rollback puts back what was there before it");
    return false;
  }

  // Live lints (warnings) and the ports of the gateway's own services that
  // forwards would take (errors).
  bool checks() {
    auto lints = system::live_lints(*fe_.spec, fe_.ir, sys_);
    obs_.warnings(lints.diags, lints.skipped);  // other tables, memory, pools
    base::Diagnostics captured = system::captures(fe_.ir, sys_);
    captured.merge(lints.errors);  // a virtual address in no subnet of its interface
    obs_.phase("live checks");
    if (!captured.errors()) return true;
    r_.status = Status::Failed;
    r_.errors = std::move(captured);
    return false;
  }

  // The lockout guard's findings stop the apply, unless forced.
  bool guard_sessions() {
    const auto& cuts = r_.plan.cuts;
    if (cuts.empty() || o_.force) return true;
    failed(Code::Lockout, "",
           "this change would cut " + std::to_string(cuts.size()) +
               (cuts.size() == 1 ? " management session" : " management sessions") + "; nothing was applied",
           "if that is intended, apply with --force, and with --confirm 2m to get the old state back unless "
           "you confirm from a new session");
    return false;
  }

  // Before the commit: what is there now goes to the state directory, and
  // a guard that puts it back at the deadline starts. Killing natc after
  // the commit (or the terminal going away) then still ends in a rollback.
  bool open_window(const kernel::Dump& dump, const kernel::Live& live) {
    if (live.table && !kernel::to_table(live)) {
      failed(Code::PendingConfirmation, "",
             "natc's table holds rules natc did not write, so a rollback could not put it back; nothing was "
             "applied",
             "apply once without --confirm, then with it");
      return false;
    }
    std::string problem;
    state::History h = state::read_history(sys_.state, &problem);
    window_ = state::Pending{h.next_number(),
                             sys_.host.now_ms() + *o_.confirm * 1000,
                             {dump, sysctl::managed_values(sys_.sysctls), sys_.sysctls.file(), ""}};
    try {
      state::write_pending(sys_.state, *window_);
      guard_pid_ = sys_.host.start_guard(window_->n);
    } catch (const std::exception& e) {
      window_.reset();
      sys_.state.remove(std::string(state::kPendingFile));
      failed(Code::PendingConfirmation, "",
             std::string("cannot keep what is there now for a rollback (") + e.what() + "); nothing was applied");
      return false;
    }
    return true;
  }

  // The change did not happen after all: no window.
  void close_window() {
    if (!window_) return;
    sys_.state.remove(std::string(state::kPendingFile));
    sys_.host.stop_guard(guard_pid_);
    window_.reset();
  }

  // nullopt: committed; true: the ruleset moved, plan again; false: failed.
  std::optional<bool> commit(int attempt) {
    try {
      sys_.kernel.commit(r_.plan.batch);  // one atomic batch
      obs_.phase("commit");
      return std::nullopt;
    } catch (const kernel::Error& e) {
      if (e.err == ERESTART && !saved_ && attempt < o_.attempts) {
        obs_.replanning();
        return true;
      }
      if (e.err == ERESTART)
        failed(Code::StalePlan, "", "the ruleset changed since natc read it; nothing was applied");
      else
        failed(Code::KernelRefused, e.entry,
               "the kernel refused " + (e.entry.empty() ? std::string("the batch") : "'" + e.entry + "'") + ": " +
                   e.what() + "; nothing was applied");
      return false;
    }
  }

  // After the commit: sysctls, then the flows of moved forwards.
  Result finish(const kernel::Live& before) {
    try {
      sysctl::apply(r_.plan.sysctl, sys_.sysctls);  // ip_forward first
    } catch (const sysctl::Error& e) {
      bool back = restore(sys_.kernel, before);  // the ruleset goes back
      close_window();
      return fail(Code::SysctlRefused, "",
                  std::string(e.what()) + (back ? "; the ruleset was put back"
                                                : "; the previous ruleset held rules natc cannot write, "
                                                  "so the new one stays: run natc apply again"));
    }
    obs_.phase("sysctl");
    if (!pair_files()) return std::move(r_);
    // After the commit, so new connections already take the new rule;
    // only the moved forwards' old flows go, never a flush.
    if (!o_.keep_flows && !r_.plan.resets.empty()) r_.flows_reset = sys_.conntrack.remove(r_.plan.resets);
    obs_.phase("conntrack");
    record();
    obs_.phase("history");
    // A batch moves the generation by one; the kernel skips an empty one.
    const kernel::Batch& b = r_.plan.batch;
    if (b.genid) remember(*b.genid + (b.ops.empty() ? 0 : 1));
    obs_.phase("image");
    return done(Status::Applied);
  }

  // The pair's daemons' files, after the ruleset they go with; a daemon
  // whose file changed is reloaded. A file that cannot be written fails
  // the apply; the ruleset and sysctls stay (the next apply writes it).
  bool pair_files() {
    if (r_.plan.ha.empty()) return true;
    if (!sys_.ha) {
      failed(Code::HaFiles, "", "this machine cannot write the gateway pair's files");
      return false;
    }
    try {
      for (const std::string& n : ha::apply(r_.plan.ha, *sys_.ha)) obs_.note(n);
    } catch (const ha::Error& e) {
      close_window();
      failed(Code::HaFiles, "",
             std::string(e.what()) + "; the ruleset and sysctls are applied: fix it and run natc apply again");
      return false;
    }
    obs_.phase("ha files");
    return true;
  }

  // The history entry: the spec, when, the generation natc left (a
  // committed batch moves it by one) and whether it waits for confirmation.
  void record() {
    std::string problem;
    state::History h = state::read_history(sys_.state, &problem);
    if (!problem.empty()) obs_.note(problem);
    state::Entry e;
    e.n = window_ ? window_->n : h.next_number();
    e.time = sys_.host.now_ms() / 1000;
    e.spec = fe_.file.name();
    e.spec_text = fe_.spec_text();
    e.genid = r_.plan.batch.genid ? *r_.plan.batch.genid + 1 : 0;
    e.status = window_ ? state::Status::Pending : state::Status::Applied;
    e.note = o_.note;
    r_.entry = e.n;
    h.add(std::move(e));  // the spec's text once, not twice
    try {
      state::write_history(sys_.state, h);
    } catch (const std::exception& ex) {
      obs_.note(std::string("history not recorded: ") + ex.what());
    }
    if (window_) r_.deadline_ms = window_->deadline_ms;
  }

  const frontend::Frontend& fe_;
  const std::optional<plan::Saved>& saved_;
  system::System& sys_;
  Observer& obs_;
  const Options& o_;
  Result r_;
  bool asked_ = false;
  std::optional<state::Pending> window_;
  int64_t guard_pid_ = 0;
};

}  // namespace

Result run(const frontend::Frontend& fe, const std::optional<plan::Saved>& saved, system::System& sys, Observer& obs,
           const Options& o) {
  return Applier(fe, saved, sys, obs, o).run();
}

Result destroy(system::System& sys, Observer& obs) {
  auto held = sys.host.lock();
  Result r;
  std::string problem;
  if (auto p = state::read_pending(sys.state, &problem)) {
    r.message = "change #" + std::to_string(p->n) +
                " is waiting for confirmation; natc confirm or natc rollback first (nothing was removed)";
    return r;  // Failed
  }
  kernel::Live live = sys.kernel.read();
  r.plan = plan::destroy(live, sys.sysctls, sys.ha);
  obs.planned(r.plan);
  if (r.plan.empty()) {
    r.status = Result::Status::Unchanged;
    return r;
  }
  if (!obs.approve(r.plan)) {
    r.status = Result::Status::Declined;
    return r;
  }
  // The file first: a read-only or missing directory then fails before
  // anything changed. A refused batch after it puts the file back: either
  // way natc's table and its file go together or not at all.
  std::optional<std::string> file = sys.sysctls.file();
  if (r.plan.sysctl.remove_file) sys.sysctls.remove_file();
  try {
    if (!r.plan.batch.ops.empty()) sys.kernel.commit(r.plan.batch);
  } catch (...) {
    if (file) sys.sysctls.write_file(*file);
    throw;
  }
  if (sys.ha && !r.plan.ha.empty())
    for (const std::string& n : ha::apply(r.plan.ha, *sys.ha)) obs.note(n);
  r.status = Result::Status::Applied;
  return r;
}

}  // namespace natc::apply
