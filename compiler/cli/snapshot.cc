// natc snapshot: natc's live table and sysctls as JSON, the input of
// `natc plan --state FILE`.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/text.h"
#include "cli/common.h"
#include "system/snapshot.h"

namespace natc::cli {
namespace {

struct Options {
  std::string out;
  KernelOptions k;
};

int run(const Options& o) {
  std::string json;
  try {
    auto machine = system::open_for_reading(o.k.system);
    json = base::json_text(kernel::to_json(system::take_snapshot(machine->get()))) + "\n";
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (o.out.empty()) {
    std::cout << json;
    return 0;
  }
  try {
    base::write_file_atomically(o.out, json, 0600);  // a snapshot shows the whole ruleset
  } catch (const base::FileError& e) {
    return fail(e.what());
  }
  return 0;
}

}  // namespace

void add_snapshot(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("snapshot", "write natc's live state as JSON");
  add_examples(*cmd, {{"natc snapshot -o gateway.snapshot.json", "natc's live state, for natc plan --state in CI"}});
  cmd->add_option("-o,--out", o->out, "file to write (default: stdout)");
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
