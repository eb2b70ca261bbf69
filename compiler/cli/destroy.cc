// natc destroy: remove what natc owns, its table and its sysctl.d file.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"

namespace natc::cli {
namespace {

int run(const KernelOptions& o) {
  try {
    auto machine = system::open(o.system);
    Phases phases(o.verbose);
    base::SourceFile none("", "");
    TerminalObserver show(o, none, "Remove natc's table and sysctl file?", phases);
    apply::Result r = apply::destroy(machine->get(), show);
    if (r.status == apply::Result::Status::Failed) return fail(r.message);
    if (r.status == apply::Result::Status::Declined) return 1;
    if (r.status == apply::Result::Status::Applied)
      std::cout << "Destroy complete. Live sysctls (ip_forward, conntrack) are left as they are: "
                   "natc does not know what they were before it set them.\n";
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace

void add_destroy(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<KernelOptions>();
  CLI::App* cmd = app.add_subcommand("destroy", "remove natc's table and sysctl.d file");
  add_examples(*cmd, {{"natc destroy", "delete table inet natc and 90-natc.conf, after asking"}});
  cmd->add_flag("-y,--yes", o->yes, "destroy without asking");
  add_kernel_options(*cmd, o.get());
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
