// natc snapshot: natc's live table and sysctls as JSON, the input of
// `natc plan --state FILE`.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/session.h"

namespace natc::cli {
namespace {

struct Options {
  std::string out;
  KernelOptions k;
};

int run(const Options& o) {
  kernel::Snapshot s;
  try {
    auto k = open_kernel(o.k);
    s.dump = k->dump();
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "\n";
    return 1;
  }
  for (const auto& key : sysctl::relevant_keys())
    if (auto v = sysctl::read_value(o.k.paths, key)) s.sysctls[key] = *v;
  s.sysctl_file = sysctl::read_file(o.k.paths);
  std::string json = kernel::to_json(s).dump(2) + "\n";
  if (o.out.empty()) {
    std::cout << json;
    return 0;
  }
  std::ofstream f(o.out);
  f << json;
  if (!f) {
    std::cerr << "natc: cannot write '" << o.out << "'\n";
    return 1;
  }
  return 0;
}

}  // namespace

void add_snapshot(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("snapshot", "write natc's live state as JSON");
  cmd->add_option("-o,--out", o->out, "file to write (default: stdout)");
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
