// natc destroy: remove what natc owns, its table and its sysctl.d file.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"

#include "cli/common.h"

namespace natc::cli {
namespace {

struct Options {
  KernelOptions k;
  Report report;
};

int run(const Options& o) {
  using Status = apply::Result::Status;
  try {
    auto machine = system::open(o.k.system);
    Phases phases(o.k.verbose);
    base::SourceFile none("", "");
    TerminalObserver show(o.k, none, "Remove natc's table and sysctl file?", phases, o.report);
    apply::Result r = apply::destroy(machine->get(), show);
    if (r.status == Status::Applied)
      o.report.words() << "Destroy complete. Live sysctls (ip_forward, conntrack) are left as they are: "
                          "natc does not know what they were before it set them.\n";
    if (o.report.format == Format::Json)
      std::cout << base::json_text(result_json(r, base::Diagnostics(), none, phases)) << "\n" << std::flush;
    if (r.status == Status::Failed) return fail(r.message);
    return r.status == Status::Declined ? 1 : 0;
  } catch (const std::exception& e) {
    if (o.report.format == Format::Json) std::cout << failed_json(e.what()) << "\n";
    return fail(e.what());
  }
}

}  // namespace

void add_destroy(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("destroy", "remove natc's table and sysctl.d file");
  add_examples(*cmd, {{"natc destroy", "delete table inet natc and 90-natc.conf, after asking"}});
  cmd->add_flag("-y,--yes", o->k.yes, "destroy without asking");
  add_kernel_options(*cmd, &o->k);
  add_format_option(*cmd, &o->report.format);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
