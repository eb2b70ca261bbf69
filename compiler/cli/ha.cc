// natc ha notify primary|backup|fault: what keepalived runs when this node
// changes state; it drives conntrackd (ha/files.h).
#include <syslog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/common.h"
#include "ha/real.h"

namespace natc::cli {
namespace {

struct Options {
  std::string state;
  ha::Paths paths;
};

int notify(const Options& o) {
  // keepalived runs this without a terminal: the journal is where it shows.
  openlog("natc", LOG_PID, LOG_DAEMON);
  try {
    auto host = ha::real_host(o.paths);
    bool ok = true;
    for (const std::string& line : ha::notify(o.state, *host, &ok)) {
      std::cout << line << "\n";
      syslog(ok ? LOG_INFO : LOG_WARNING, "ha notify %s: %s", o.state.c_str(), line.c_str());
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    syslog(LOG_ERR, "ha notify: %s", e.what());
    return fail(e.what());
  }
}

}  // namespace

void add_ha(CLI::App& app, int* exit_code) {
  CLI::App* ha = app.add_subcommand("ha", "a gateway pair: what keepalived runs on a state change");
  ha->require_subcommand(1);
  auto o = std::make_shared<Options>();
  CLI::App* cmd = ha->add_subcommand("notify", "drive conntrackd for this node's new VRRP state");
  add_examples(*cmd, {{"natc ha notify primary", "commit the peer's flows into the kernel, resync, send ours"},
                      {"natc ha notify backup", "ask the primary for its flows"}});
  cmd->add_option("STATE", o->state, "the state keepalived reports")
      ->required()
      ->check(CLI::IsMember({"primary", "backup", "fault"}));
  cmd->add_option("--conntrackd-conf", o->paths.conntrackd_conf, "conntrackd's file, as natc apply wrote it")
      ->type_name("FILE")
      ->capture_default_str();
  cmd->add_option("--ha-dir", o->paths.run_dir, "where conntrackd's socket is and the state is recorded")
      ->type_name("DIR")
      ->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = notify(*o); });
}

}  // namespace natc::cli
