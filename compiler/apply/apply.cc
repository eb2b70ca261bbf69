#include "apply/apply.h"

#include <cerrno>

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
    auto lints = system::live_lints(*fe_.spec, fe_.ir, sys_);
    obs_.warnings(lints.diags, lints.skipped);  // other tables, memory, pools
    obs_.phase("live checks");
    for (int attempt = 1;; ++attempt) {
      kernel::Live live = sys_.kernel.read();  // under one ruleset generation
      obs_.phase("read live");
      if (saved_ && live.hash != saved_->live_hash)
        return fail(Code::StalePlan, "",
                    "natc's live state changed since the plan was made; nothing was applied, plan again");
      std::string note;
      r_.plan = plan::against(fe_.ir, live, sys_, &note);  // diff, and the flows it would reset
      if (!note.empty()) obs_.note(note);
      obs_.phase("plan");
      obs_.planned(r_.plan);
      if (r_.plan.empty()) return done(Status::Unchanged);
      if (!asked_ && !obs_.approve(r_.plan)) return done(Status::Declined);
      asked_ = true;
      if (auto retry = commit(attempt)) {
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

  void failed(Code code, std::string_view entry, std::string message) {
    r_.status = Status::Failed;
    r_.errors = fe_.at_entry(code, entry, std::move(message));
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
      return fail(Code::SysctlRefused, "",
                  std::string(e.what()) + (back ? "; the ruleset was put back"
                                                : "; the previous ruleset held rules natc cannot write, "
                                                  "so the new one stays: run natc apply again"));
    }
    obs_.phase("sysctl");
    // After the commit, so new connections already take the new rule;
    // only the moved forwards' old flows go, never a flush.
    if (!o_.keep_flows && !r_.plan.resets.empty()) r_.flows_reset = sys_.conntrack.remove(r_.plan.resets);
    obs_.phase("conntrack");
    return done(Status::Applied);
  }

  const frontend::Frontend& fe_;
  const std::optional<plan::Saved>& saved_;
  system::System& sys_;
  Observer& obs_;
  const Options& o_;
  Result r_;
  bool asked_ = false;
};

}  // namespace

Result run(const frontend::Frontend& fe, const std::optional<plan::Saved>& saved, system::System& sys, Observer& obs,
           const Options& o) {
  return Applier(fe, saved, sys, obs, o).run();
}

Result destroy(system::System& sys, Observer& obs) {
  auto held = sys.host.lock();
  Result r;
  kernel::Live live = sys.kernel.read();
  r.plan = plan::destroy(live, sys.sysctls);
  obs.planned(r.plan);
  if (r.plan.empty()) {
    r.status = Result::Status::Unchanged;
    return r;
  }
  if (!obs.approve(r.plan)) {
    r.status = Result::Status::Declined;
    return r;
  }
  if (!r.plan.batch.ops.empty()) sys.kernel.commit(r.plan.batch);
  if (r.plan.sysctl.remove_file) sys.sysctls.remove_file();
  r.status = Result::Status::Applied;
  return r;
}

}  // namespace natc::apply
