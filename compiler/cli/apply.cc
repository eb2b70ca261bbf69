// natc apply SPEC|PLAN: read live -> diff -> one batch -> sysctls -> flows.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/common.h"
#include "plan/saved.h"

namespace natc::cli {
namespace {

struct Options {
  std::string file;
  bool keep_flows = false, force = false, boot = false;
  std::string confirm;
  KernelOptions k;
  Report report;
};

int run(const Options& o) {
  Phases phases(o.k.verbose);
  frontend::Frontend fe;
  bool json = o.report.format == Format::Json;
  std::string text;
  plan::Loaded loaded;
  SpecCache cache(o.k);
  if (base::read_file(o.file, &text)) {
    loaded = plan::read_saved(base::SourceFile(o.file, text));
  } else if (errno != EISDIR) {
    return fail("cannot read '" + o.file + "'");
  } else if (!frontend::load_file(o.file, &fe, &cache.cache)) {  // a spec directory
    return fail("cannot read '" + o.file + "': " + std::strerror(errno));
  }
  if (loaded.is_plan() && !loaded.saved) {
    print_diagnostics(loaded.diags, base::SourceFile(o.file, text));
    if (json) std::cout << failed_json("the saved plan cannot be used (E4004)") << "\n";
    return 1;  // a broken plan changes nothing
  }
  if (loaded.saved)
    frontend::load_text(loaded.saved->spec, loaded.saved->spec_text, &fe);
  else if (!fe.file.is_directory())
    frontend::load_text(o.file, std::move(text), &fe);
  bool stop = stops(fe.diags, o.report.w);
  print_diagnostics(fe.diags, fe.file);
  if (stop) {  // bad input changes nothing
    if (json) std::cout << failed_json(fe.diags.errors() ? "the spec has errors" : "warnings count as errors") << "\n";
    return fe.diags.errors() ? 1 : warnings_stop();
  }
  phases.done(cache.phase());
  apply::Options ao{.keep_flows = o.keep_flows, .force = o.force, .boot = o.boot, .caller = caller()};
  if (!o.confirm.empty() && !(ao.confirm = parse_duration(o.confirm)))
    return fail("--confirm takes a duration between 1s and 24h, like 90s, 5m or 1h (not '" + o.confirm + "')");
  KernelOptions k = o.k;
  k.yes = k.yes || loaded.saved.has_value();  // a saved plan was the review: no second question
  return apply_spec(fe, loaded.saved, k, ao, phases, o.report);
}

}  // namespace

int apply_spec(const frontend::Frontend& fe, const std::optional<plan::Saved>& saved, const KernelOptions& k,
               const apply::Options& ao, Phases& phases, const Report& report) {
  using Status = apply::Result::Status;
  std::ostream& out = report.words();
  try {
    auto machine = system::open(k.system);
    TerminalObserver show(k, fe.file, "Apply these changes?", phases, report);
    apply::Result r = apply::run(fe, saved, machine->get(), show, ao);
    print_diagnostics(r.errors, fe.file);
    if (!r.message.empty()) out << r.message << "\n";
    if (r.status == Status::Applied && r.message.empty()) {
      if (!ao.keep_flows && !r.plan.resets.empty())
        out << "Reset " << r.flows_reset << (r.flows_reset == 1 ? " flow" : " flows")
            << " of moved or removed port forwards.\n";
      out << "Apply complete. " << r.plan.batch.ops.size() << " kernel operations in one transaction.\n";
    }
    if (report.format == Format::Json) {
      base::Diagnostics all = fe.diags;
      all.merge(show.seen());
      all.merge(r.errors);
      all.sort();
      std::cout << base::json_text(result_json(r, all, fe.file, phases)) << "\n" << std::flush;
    }
    if (r.status == Status::Unchanged && show.stopped()) return warnings_stop();
    if (r.status != Status::Applied) return r.status == Status::Unchanged ? 0 : 1;
    return r.deadline_ms ? await_confirmation(machine->get(), r, out) : 0;
  } catch (const std::exception& e) {
    if (report.format == Format::Json) std::cout << failed_json(e.what()) << "\n";
    return fail(e.what());
  }
}

void add_apply(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("apply", "make the kernel match a spec (or a saved plan)");
  add_examples(*cmd, {{"natc apply /etc/natc/natc.yaml", "show the plan, ask, then commit it as one transaction"},
                      {"natc apply plan.json", "apply a plan saved by natc plan -o, exactly, without asking"},
                      {"natc apply natc.yaml --confirm 2m", "roll back in two minutes unless natc confirm runs"}});
  cmd->add_option("SPEC_OR_PLAN", o->file, "a spec, a spec directory, or a plan saved with 'natc plan -o'")->required();
  cmd->add_flag("-y,--yes", o->k.yes, "apply without asking (a saved plan never asks)");
  cmd->add_flag("--keep-flows", o->keep_flows, "keep the flows of moved or removed port forwards");
  cmd->add_option("--confirm", o->confirm,
                  "roll the change back unless 'natc confirm' (or Enter) comes within DURATION (90s, 5m)");
  cmd->add_flag("--force", o->force, "apply although the lockout guard says it would cut a management session");
  cmd->add_flag("--boot", o->boot,
                "at boot: if a change was still unconfirmed when the machine went down, restore what was there "
                "before it instead of applying SPEC");
  add_kernel_options(*cmd, &o->k);
  add_format_option(*cmd, &o->report.format);
  add_warning_options(*cmd, &o->report.w);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
