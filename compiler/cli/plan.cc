// natc plan SPEC: what apply would change, against the live kernel or a
// snapshot file (no root, no kernel: CI dry-runs).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/text.h"
#include "cli/common.h"
#include "plan/render.h"
#include "plan/saved.h"

namespace natc::cli {
namespace {

struct Options {
  std::string spec;
  std::string state = "live";
  std::string out;
  bool detailed = false;
  Format format = Format::Text;
  KernelOptions k;
  WarningOptions w;
};

int run(const Options& o) {
  frontend::Frontend fe;
  SpecCache cache(o.k);
  if (!load_spec(o.spec, &fe, o.w, &cache.cache)) return 1;
  plan::Planned p;
  try {
    bool live = o.state == "live";
    std::unique_ptr<system::Machine> machine;
    if (live) {
      machine = system::open_for_reading(o.k.system);
    } else if (machine = open_snapshot_file(o.state); !machine) {
      return 1;
    }
    auto me = caller();
    p = plan::for_spec(fe.ir, *fe.spec, machine->get(), live ? plan::Against::Machine : plan::Against::Snapshot,
                       me ? &*me : nullptr);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  bool stop = stops(p.warnings, o.w) || p.errors.errors();
  print_warnings(p.warnings, "", fe.file);
  if (!p.notes.empty()) fail(p.notes);
  print_diagnostics(p.errors, fe.file);
  base::Diagnostics all = fe.diags;  // what a CI comment shows beside the plan
  all.merge(p.warnings);
  all.merge(p.errors);
  all.sort();
  if (o.format == Format::Json) {
    nlohmann::json j = plan::render_json(p.plan);
    j["diagnostics"] = base::render_json(all, fe.file)["diagnostics"];
    std::cout << base::json_text(j) << "\n";
  } else if (o.format == Format::Markdown) {
    std::cout << plan::render_markdown(p.plan, o.spec) << base::render_markdown(all, fe.file);
  } else {
    std::cout << plan::render_text(p.plan);
  }
  if (stop) return p.errors.errors() ? 1 : warnings_stop();  // a plan apply would refuse: not saved
  if (!o.out.empty()) {
    plan::Saved saved{o.spec, fe.spec_text(), p.genid, p.live_hash, p.sysctls, p.sysctl_file};
    try {
      base::write_file_atomically(o.out, base::json_text(plan::to_json(saved, p.plan)) + "\n", 0600);
    } catch (const base::FileError& e) {
      return fail(e.what());
    }
  }
  if (o.detailed) return p.plan.empty() ? 0 : 2;
  return 0;
}

}  // namespace

void add_plan(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("plan", "show what apply would change");
  add_examples(*cmd, {{"natc plan natc.yaml", "what apply would change on this machine"},
                      {"natc plan natc.yaml -o plan.json", "... saved for natc apply plan.json"},
                      {"natc plan natc.yaml --state gateway.snapshot.json --format markdown",
                       "in CI, against a snapshot, without root"}});
  cmd->add_option("SPEC", o->spec, "the spec file, or a spec directory")->required();
  cmd->add_option("--state", o->state, "live (the kernel) or a snapshot FILE")->capture_default_str();
  cmd->add_option("-o,--out", o->out, "save the plan for 'natc apply PLAN'");
  cmd->add_flag("--detailed-exitcode", o->detailed, "exit 0: no changes, 2: changes, 1: error");
  add_kernel_options(*cmd, &o->k);
  add_format_option(*cmd, &o->format, {Format::Text, Format::Json, Format::Markdown});
  add_warning_options(*cmd, &o->w);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
