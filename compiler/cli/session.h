// What the kernel subcommands share: options, entering the namespace,
// reading live state, and reporting kernel errors at the spec's lines.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "check/check.h"
#include "cli/common.h"
#include "kernel/kernel.h"
#include "kernel/snapshot.h"
#include "plan/plan.h"
#include "sysctl/live.h"

namespace natc::cli {

struct KernelOptions {
  std::string netns;
  std::string lock = "/run/natc.lock";
  int lock_wait = 30;
  sysctl::Paths paths;
  bool yes = false;
  bool verbose = false;
};

// -v: how long each phase took, on stderr.
class Phases {
 public:
  explicit Phases(bool on);
  void done(const char* phase);  // ends the phase running since the last call
  ~Phases();

 private:
  bool on_;
  std::string line_;
  long long last_us_;
};
void add_kernel_options(CLI::App& cmd, KernelOptions* o);

// Enters --netns (if any) and opens netlink: throws kernel::Error.
std::unique_ptr<kernel::Kernel> open_kernel(const KernelOptions& o);

// The live side of a plan: from the kernel, or from a snapshot file.
struct State {
  kernel::Live live;
  sysctl::Current sysctls;
};
State live_state(kernel::Kernel& k, const KernelOptions& o);
kernel::Snapshot read_snapshot(const std::string& path);  // throws runtime_error
State snapshot_state(const kernel::Snapshot& s);

// Plans the whole change: ruleset and sysctls.
plan::Plan make_plan(const Frontend& fe, const State& s);

// What the live lints read: memory, conntrack sizes and load, the other
// tables, routes. Expects the namespace entered (open_kernel).
check::LiveFacts read_live_facts(const Frontend& fe, kernel::Kernel& k, const KernelOptions& o);
// Prints the live lints' warnings (plan, apply): another table dropping a
// forward matters before the change, not after.
void warn_live(const Frontend& fe, kernel::Kernel& k, const KernelOptions& o);

// Appends to each changed port forward how many of its flows apply will
// reset ("47 flows will be reset"), from the live conntrack table.
void count_resets(plan::Plan& p);

// "spec.yaml:12:5: error[E4001]: MESSAGE" at the spec entry named `origin`
// (an element's or rule's name), or for the whole file when none matches.
void report_at_entry(const Frontend& fe, base::Code code, const std::string& origin, const std::string& message);

// Asks on the terminal unless --yes; false when the answer is not "yes".
bool confirm(const KernelOptions& o, const std::string& question);

}  // namespace natc::cli
