// natc validate SPEC: parse, lower and check; print every diagnostic.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/common.h"
#include "system/facts.h"

namespace natc::cli {
namespace {

struct Options {
  std::string spec;
  Format format = Format::Text;
  bool live = false;
  KernelOptions k;
};

int validate(const Options& o) {
  frontend::Frontend fe;
  if (!frontend::load_file(o.spec, &fe)) return fail("cannot read '" + o.spec + "': " + std::strerror(errno));
  if (o.live && fe.ok()) {
    try {
      auto machine = system::open(o.k.system);
      check::live_lints(*fe.spec, fe.ir, system::live_facts(fe.ir, machine->get()), fe.diags);
      fe.diags.sort();
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  if (o.format == Format::Json) {
    std::cout << base::json_text(base::render_json(fe.diags, fe.file)) << "\n";
  } else {
    print_diagnostics(fe.diags, fe.file);
    std::cout << o.spec << ": " << base::summary(fe.diags) << "\n";
  }
  return fe.diags.errors() ? 1 : 0;
}

}  // namespace

void add_validate(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("validate", "check a spec and print its diagnostics");
  add_examples(*cmd, {{"natc validate natc.yaml", "every error and lint at file:line:col; exit 1 on an error"},
                      {"natc validate natc.yaml --live", "... and the lints that read this machine"}});
  cmd->add_option("SPEC", o->spec, "the spec file")->required();
  add_format_option(*cmd, &o->format);
  cmd->add_flag("--live", o->live,
                "also check the spec against this machine (memory, conntrack, pool load, other tables)");
  cmd->add_option("--netns", o->k.system.netns, "with --live: the network namespace /run/netns/NAME");
  cmd->add_option("--proc-sys", o->k.system.paths.proc_sys, "with --live: the live sysctl tree")->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = validate(*o); });
}

}  // namespace natc::cli
