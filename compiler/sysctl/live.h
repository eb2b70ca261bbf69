// Live sysctls (/proc/sys) and natc's sysctl.d file.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "plan/plan.h"

namespace natc::sysctl {

struct Paths {
  std::string proc_sys = "/proc/sys";
  std::string sysctl_dir = "/etc/sysctl.d";
  std::string file() const { return sysctl_dir + "/90-natc.conf"; }
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The value of a dotted key, trimmed; nullopt when it cannot be read.
std::optional<std::string> read_value(const Paths& p, const std::string& key);
std::optional<uint64_t> read_number(const Paths& p, const std::string& key);
std::optional<std::string> read_file(const Paths& p);

// Where current values come from: /proc/sys, or a snapshot.
struct Current {
  std::function<std::optional<std::string>(const std::string& key)> value;
  std::optional<std::string> file;
};
Current from_system(const Paths& p);

// Adds to `plan` the live sysctls that differ from `ir` and whether the
// file must be written.
void plan_sysctls(const ir::Ir& ir, const Current& now, plan::Plan& plan);

// Writes the live values in plan order, then the file (temp, fsync, rename,
// fsync dir). Throws Error naming the key the kernel would not take, after
// putting back the values it had already written; the file is then untouched.
void apply(const plan::Plan& plan, const Paths& p);

// Removes the file (destroy); live values stay as they are.
bool remove_file(const Paths& p);

// Keys a snapshot records: forwarding and every conntrack setting natc knows.
std::vector<std::string> relevant_keys();

}  // namespace natc::sysctl
