// natc: a declarative NAT compiler for Linux gateways.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "base/spell.h"
#include "base/text.h"
#include "cli/common.h"
#include "version.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"natc: compile a NAT spec into the kernel's nftables and sysctl state", "natc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "natc " NATC_VERSION);
  int exit_code = 0;
  // One line per subcommand; each lives in compiler/cli/<name>.cc.
  natc::cli::add_validate(app, &exit_code);  // parse + lower + check, print diagnostics
  natc::cli::add_compile(app, &exit_code);   // ... and render nft script + sysctl.d file
  natc::cli::add_plan(app, &exit_code);      // ... read live (or a snapshot), diff, print
  natc::cli::add_apply(app, &exit_code);     // ... plan, then one atomic batch, then sysctls
  natc::cli::add_confirm(app, &exit_code);   // keep a change applied with --confirm
  natc::cli::add_rollback(app, &exit_code);  // undo it, or go back to an earlier state
  natc::cli::add_history(app, &exit_code);   // the states natc applied
  natc::cli::add_snapshot(app, &exit_code);  // live table + sysctls as JSON for plan --state
  natc::cli::add_destroy(app, &exit_code);   // remove natc's table and sysctl file
  natc::cli::add_status(app, &exit_code);    // conntrack usage, drops, flows per entry, drift
  natc::cli::add_flows(app, &exit_code);     // the translated flows themselves; flows reset ENTRY
  natc::cli::add_import(app, &exit_code);    // the NAT the gateway already has, as a spec
  natc::cli::add_explain(app, &exit_code);   // one packet's way through the hooks
  natc::cli::add_version(app, &exit_code);   // natc's, its libraries' and the kernel's versions
  natc::cli::add_ha(app, &exit_code);        // what keepalived runs when a pair's node changes state
  natc::cli::add_generate(app, &exit_code);  // hidden: completion and man page from this table
  natc::cli::add_guard(app, &exit_code);     // hidden: the process behind a confirmation window
  // A mistyped command would otherwise read as "a subcommand is required".
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (argc > 1 && argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    std::erase_if(names, [](const std::string& n) { return n.starts_with("__"); });  // hidden ones
    std::vector<std::string_view> views(names.begin(), names.end());
    std::string near = natc::base::closest(argv[1], views);
    std::cerr << "natc: unknown command '" << natc::base::one_line(argv[1]) << "'"
              << (near.empty() ? "" : "; did you mean '" + near + "'?") << "\n"
              << "Run 'natc --help' for the commands.\n";
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 uses 0 for --help; every usage error is our exit code 1.
    return app.exit(e) == 0 ? 0 : 1;
  }
  return exit_code;
}

// A document that did not reach its reader is a failure: stdout on a full
// disk (or /dev/full) must not end in exit 0.
int flushed(int code) {
  std::cout.flush();
  if (std::cout.fail() || fflush(stdout) != 0) {
    std::cerr << "natc: cannot write to standard output: " << std::strerror(errno ? errno : EIO) << "\n";
    return 1;
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Every command reports its own errors; this is the net under them, so
  // nothing ends in std::terminate.
  try {
    return flushed(run(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "natc: an unexpected error\n";
  }
  return 1;
}
