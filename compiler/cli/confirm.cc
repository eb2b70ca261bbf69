// natc confirm: keep the change that waits for confirmation.
#include <CLI/CLI.hpp>
#include <iostream>

#include "apply/window.h"
#include "cli/common.h"

namespace natc::cli {
namespace {

int run(const KernelOptions& o) {
  try {
    auto machine = system::open(o.system);
    apply::Result r = apply::confirm(machine->get());
    if (r.status != apply::Result::Status::Applied) return fail(r.message);
    std::cout << "Confirmed change #" << *r.entry << ": it stays.\n";
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace

void add_confirm(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<KernelOptions>();
  CLI::App* cmd = app.add_subcommand("confirm", "keep the change applied with --confirm");
  add_examples(*cmd, {{"natc confirm", "keep the change waiting for confirmation (from a new session, best)"}});
  add_kernel_options(*cmd, o.get());
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
