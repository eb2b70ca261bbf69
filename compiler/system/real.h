// The machine natc runs on: netlink, libnetfilter_conntrack, /proc and the
// sysctl.d directory, in the network namespace --netns names.
#pragma once

#include <memory>
#include <string>

#include "ha/config.h"
#include "sysctl/proc_store.h"
#include "system/system.h"

namespace natc::system {

struct Options {
  std::string netns;  // "" : this one
  std::string lock = "/run/natc.lock";
  int lock_wait = 30;  // seconds
  sysctl::Paths paths;
  std::string state_dir{state::kDefaultDir};
  ha::Paths ha;  // the pair's daemons' files, when the spec has `ha:`
};

// Enters the namespace first: sockets and /proc/sys then belong to it.
// Throws kernel::Error when the namespace or netlink cannot be opened.
std::unique_ptr<Machine> open(const Options& o);
// The same for a command that only reads (plan, snapshot, status, history,
// validate --live): it holds the lock shared, so it waits for an apply to
// finish and never sees one half done (the ruleset new, the sysctls old);
// readers do not wait for each other.
std::unique_ptr<Machine> open_for_reading(const Options& o);

}  // namespace natc::system
