// natc rollback [--to N]: back to an earlier state. With a change waiting
// for confirmation, what was there before it comes back at once; otherwise
// an earlier spec from the history is applied like any spec.
#include <CLI/CLI.hpp>
#include <iostream>

#include "apply/window.h"
#include "cli/common.h"

namespace natc::cli {
namespace {

struct Options {
  int64_t to = 0;
  bool keep_flows = false, force = false;
  std::string confirm;
  KernelOptions k;
};

int run(const Options& o) {
  Phases phases(o.k.verbose);
  std::optional<state::Entry> target;
  try {
    auto machine = system::open(o.k.system);
    if (!o.to && apply::recorded(machine->get()).pending) {
      apply::Result r = apply::rollback_pending(machine->get());
      std::cout << r.message << "\n";
      return 0;
    }
    std::string error;
    target =
        apply::rollback_target(machine->get(), o.to ? std::optional<uint64_t>(uint64_t(o.to)) : std::nullopt, &error);
    if (!target) return fail(error);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  std::cout << "Rolling back to #" << target->n << " (" << target->spec << ").\n";
  frontend::Frontend fe;
  frontend::load_text(target->spec, target->spec_text, &fe);
  print_diagnostics(fe.diags, fe.file);
  if (!fe.ok()) return 1;
  apply::Options ao{.keep_flows = o.keep_flows, .force = o.force, .caller = caller()};
  ao.note = "rollback to #" + std::to_string(target->n);
  if (!o.confirm.empty() && !(ao.confirm = parse_duration(o.confirm)))
    return fail("--confirm takes a duration between 1s and 24h, like 90s, 5m or 1h (not '" + o.confirm + "')");
  return apply_spec(fe, std::nullopt, o.k, ao, phases, Report{});
}

}  // namespace

void add_rollback(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "rollback", "undo the change waiting for confirmation, or apply an earlier state from the history");
  add_examples(*cmd, {{"natc rollback", "undo the change waiting for confirmation, or the last change"},
                      {"natc rollback --to 3", "go back to state 3 of natc history"}});
  cmd->add_option("--to", o->to, "the history entry to go back to (natc history lists them)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("-y,--yes", o->k.yes, "apply without asking");
  cmd->add_flag("--keep-flows", o->keep_flows, "keep the flows of moved or removed port forwards");
  cmd->add_option("--confirm", o->confirm, "roll this back too unless confirmed within DURATION");
  cmd->add_flag("--force", o->force, "apply although the lockout guard says it would cut a management session");
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
