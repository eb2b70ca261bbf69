// natc plan SPEC: what apply would change, against the live kernel or a
// snapshot file (no root, no kernel: CI dry-runs).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/session.h"

namespace natc::cli {
namespace {

struct Options {
  std::string spec;
  std::string state = "live";
  std::string out;
  bool detailed = false;
  Format format = Format::Text;
  KernelOptions k;
};

int run(const Options& o) {
  Frontend fe;
  if (!run_frontend(o.spec, &fe)) return 1;
  print_diagnostics_text(fe);
  if (!fe.ok()) return 1;
  State state;
  try {
    if (o.state == "live") {
      auto k = open_kernel(o.k);
      state = live_state(*k, o.k);
      warn_live(fe, *k, o.k);
    } else {
      state = snapshot_state(read_snapshot(o.state));
    }
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "\n";
    return 1;
  }
  plan::Plan p = make_plan(fe, state);
  if (o.state == "live") count_resets(p);  // a snapshot holds no flows
  if (o.format == Format::Json) std::cout << plan::render_json(p).dump(2) << "\n";
  else if (o.format == Format::Markdown) std::cout << plan::render_markdown(p, o.spec);
  else std::cout << plan::render_text(p);
  if (!o.out.empty()) {
    // A saved plan carries its spec and the state it was made against, so
    // apply can refuse if natc's live state moved since.
    nlohmann::json saved = {{"natc_plan", 1},
                            {"spec", o.spec},
                            {"spec_text", fe.file.text()},
                            {"genid", state.live.genid},
                            {"live_hash", std::to_string(state.live.hash)},
                            {"plan", plan::render_json(p)}};
    std::ofstream f(o.out);
    f << saved.dump(2) << "\n";
    if (!f) {
      std::cerr << "natc: cannot write plan '" << o.out << "'\n";
      return 1;
    }
  }
  if (o.detailed) return p.empty() ? 0 : 2;
  return 0;
}

}  // namespace

void add_plan(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("plan", "show what apply would change");
  cmd->add_option("SPEC", o->spec, "the spec file")->required();
  cmd->add_option("--state", o->state, "live (the kernel) or a snapshot FILE")->capture_default_str();
  cmd->add_option("-o,--out", o->out, "save the plan for 'natc apply PLAN'");
  cmd->add_flag("--detailed-exitcode", o->detailed, "exit 0: no changes, 2: changes, 1: error");
  add_kernel_options(*cmd, &o->k);
  add_format_option(*cmd, &o->format, /*markdown=*/true);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
