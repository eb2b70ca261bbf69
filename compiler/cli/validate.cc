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
  WarningOptions w;
};

int validate(const Options& o) {
  frontend::Frontend fe;
  Phases phases(o.k.verbose);
  SpecCache cache(o.k);
  if (!frontend::load_file(o.spec, &fe, &cache.cache))
    return fail("cannot read '" + o.spec + "': " + std::strerror(errno));
  phases.done(cache.phase());
  if (o.live && fe.ok()) {
    try {
      auto machine = system::open_for_reading(o.k.system);
      check::live_lints(*fe.spec, fe.ir, system::live_facts(fe.ir, machine->get()), fe.diags);
      fe.diags.sort();
      phases.done("live checks");
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  bool stop = stops(fe.diags, o.w);
  if (o.format == Format::Json) {
    std::cout << base::json_text(base::render_json(fe.diags, fe.file)) << "\n";
  } else {
    print_diagnostics(fe.diags, fe.file);
    std::cout << o.spec << ": " << base::summary(fe.diags) << "\n";
  }
  return stop ? 1 : 0;
}

}  // namespace

void add_validate(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("validate", "check a spec and print its diagnostics");
  add_examples(*cmd, {{"natc validate natc.yaml", "every error and lint at file:line:col; exit 1 on an error"},
                      {"natc validate natc.yaml --live", "... and the lints that read this machine"}});
  cmd->add_option("SPEC", o->spec, "the spec file, or a spec directory")->required();
  add_format_option(*cmd, &o->format);
  add_warning_options(*cmd, &o->w);
  cmd->add_flag("--live", o->live,
                "also check the spec against this machine (memory, conntrack, pool load, other tables)");
  add_kernel_options(*cmd, &o->k);
  cmd->add_option("--peer-config", o->k.system.ha.peer_conf,
                  "with --live: the peer's keepalived file (natc's), to check both nodes run the same spec")
      ->type_name("FILE");
  cmd->callback([o, exit_code] { *exit_code = validate(*o); });
}

}  // namespace natc::cli
