// natc destroy: remove what natc owns, its table and its sysctl.d file.
#include <CLI/CLI.hpp>
#include <iostream>

#include "apply/lock.h"
#include "cli/session.h"

namespace natc::cli {
namespace {

int run(const KernelOptions& o) {
  try {
    apply::Lock lock(o.lock, o.lock_wait);
    auto k = open_kernel(o);
    kernel::Live live = kernel::decode_live(k->dump());
    plan::Plan p = plan::destroy(live);
    p.remove_file = sysctl::read_file(o.paths).has_value();
    std::cout << plan::render_text(p);
    if (p.empty()) return 0;
    if (!confirm(o, "Remove natc's table and sysctl file?")) return 1;
    p.batch.genid = live.genid;
    if (!p.batch.ops.empty()) k->commit(p.batch);
    if (p.remove_file) sysctl::remove_file(o.paths);
    std::cout << "Destroy complete. Live sysctls (ip_forward, conntrack) are left as they are: "
                 "natc does not know what they were before it set them.\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_destroy(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<KernelOptions>();
  CLI::App* cmd = app.add_subcommand("destroy", "remove natc's table and sysctl.d file");
  cmd->add_flag("-y,--yes", o->yes, "destroy without asking");
  add_kernel_options(*cmd, o.get());
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
