// natc apply SPEC|PLAN: read live -> diff -> one batch -> sysctls.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apply/lock.h"
#include "conntrack/conntrack.h"
#include "cli/session.h"
#include "nft/build.h"

namespace natc::cli {
namespace {

constexpr int kAttempts = 3;  // re-plans when someone else changed the ruleset

struct Options {
  std::string file;
  bool keep_flows = false;
  KernelOptions k;
};

struct Saved {
  std::string spec, text;
  uint64_t live_hash = 0;
};

// A plan file is JSON with "natc_plan"; anything else is a spec.
std::optional<Saved> as_plan(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') return std::nullopt;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("natc_plan")) return std::nullopt;
  return Saved{j.value("spec", "spec"), j.value("spec_text", ""), std::stoull(j.value("live_hash", "0"))};
}

// Puts the ruleset back as it was before this apply; false when the old
// one held parts natc cannot write back.
bool restore(kernel::Kernel& k, const kernel::Live& before) {
  kernel::Live now = kernel::decode_live(k.dump());
  plan::Plan back;
  if (!before.table) {
    back = plan::destroy(now);
  } else if (auto t = kernel::to_table(before)) {
    back = plan::diff(*t, now);
  } else {
    return false;
  }
  back.batch.genid = now.genid;
  k.commit(back.batch);
  return true;
}

int run(const Options& o) {
  std::string text;
  if (!base::read_file(o.file, &text)) {
    std::cerr << "natc: cannot read '" << o.file << "'\n";
    return 1;
  }
  Phases phases(o.k.verbose);
  std::optional<Saved> saved = as_plan(text);
  Frontend fe;
  if (saved) run_frontend_text(saved->spec, saved->text, &fe);
  else run_frontend_text(o.file, std::move(text), &fe);       // parse -> lower -> check
  print_diagnostics_text(fe);
  if (!fe.ok()) return 1;                                     // bad input changes nothing
  phases.done("spec");
  try {
    apply::Lock lock(o.k.lock, o.k.lock_wait);                // one natc at a time
    auto k = open_kernel(o.k);
    warn_live(fe, *k, o.k);                                   // other tables, memory, pools
    phases.done("live checks");
    bool asked = false;
    for (int attempt = 1;; ++attempt) {
      State state = live_state(*k, o.k);                      // read live under its genid
      phases.done("read live");
      if (saved && state.live.hash != saved->live_hash) {
        report_at_entry(fe, base::Code::StalePlan, "", "natc's live state changed since the plan was made; nothing was applied, plan again");
        return 1;
      }
      plan::Plan p = make_plan(fe, state);                    // diff
      count_resets(p);
      phases.done("plan");
      std::cout << plan::render_text(p);
      if (p.empty()) return 0;
      if (!asked && !confirm(o.k, "Apply these changes?")) return 1;
      asked = true;
      try {
        k->commit(p.batch);                                   // one atomic batch
        phases.done("commit");
      } catch (const kernel::Error& e) {
        if (e.err == ERESTART && !saved && attempt < kAttempts) {
          std::cout << "The ruleset changed while natc planned; planning again.\n";
          continue;
        }
        if (e.err == ERESTART)
          report_at_entry(fe, base::Code::StalePlan, "", "the ruleset changed since natc read it; nothing was applied");
        else
          report_at_entry(fe, base::Code::KernelRefused, e.origin,
                          "the kernel refused " + (e.origin.empty() ? std::string("the batch") : "'" + e.origin + "'") +
                              ": " + e.what() + "; nothing was applied");
        return 1;
      }
      try {
        sysctl::apply(p, o.k.paths);                          // then sysctls, ip_forward first
      } catch (const sysctl::Error& e) {
        bool back = restore(*k, state.live);                  // the ruleset goes back
        report_at_entry(fe, base::Code::SysctlRefused, "",
                        std::string(e.what()) + (back ? "; the ruleset was put back"
                                                      : "; the previous ruleset held rules natc cannot write, "
                                                        "so the new one stays: run natc apply again"));
        return 1;
      }
      phases.done("sysctl");
      // After the commit, so new connections already take the new rule;
      // only the moved forwards' old flows go, never a flush.
      if (!o.keep_flows && !p.resets.empty()) {
        size_t n = conntrack::delete_flows(p.resets);
        std::cout << "Reset " << n << (n == 1 ? " flow" : " flows") << " of moved or removed port forwards.\n";
      }
      phases.done("conntrack");
      std::cout << "Apply complete. " << p.batch.ops.size() << " kernel operations in one transaction.\n";
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_apply(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("apply", "make the kernel match a spec (or a saved plan)");
  cmd->add_option("SPEC_OR_PLAN", o->file, "a spec, or a plan saved with 'natc plan -o'")->required();
  cmd->add_flag("-y,--yes", o->k.yes, "apply without asking");
  cmd->add_flag("--keep-flows", o->keep_flows, "keep the flows of moved or removed port forwards");
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
