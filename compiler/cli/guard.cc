// natc __guard N (hidden): the process behind a confirmation window, started
// by apply --confirm. It outlives the apply and the terminal, and puts back
// what was there before change N unless it is confirmed in time.
#include <CLI/CLI.hpp>
#include <csignal>

#include "apply/window.h"
#include "cli/common.h"

namespace natc::cli {
namespace {

struct Options {
  uint64_t n = 0;
  KernelOptions k;
};

int run(const Options& o) {
  signal(SIGHUP, SIG_IGN);  // no terminal to lose, but a session leader's children get it
  try {
    auto machine = system::open(o.k.system);
    return apply::guard(machine->get(), o.n);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace

void add_guard(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("__guard", "the guard of a confirmation window");
  cmd->group("");  // hidden
  cmd->add_option("N", o->n, "the change it guards")->required();
  add_kernel_options(*cmd, &o->k);
  o->k.system.lock_wait = 3600;  // whatever holds the lock, the rollback waits for it
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
