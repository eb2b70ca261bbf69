// The sysctl part of a plan: live values that differ from the spec, and
// whether natc's sysctl.d file must be written or removed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "sysctl/store.h"

namespace natc::sysctl {

struct Change {
  std::string key;
  std::string from;  // "" when unreadable or absent
  std::string to;
};

struct Plan {
  std::vector<Change> changes;          // in apply order: ip_forward first
  bool write_file = false;              // the sysctl.d file differs
  bool remove_file = false;             // destroy
  std::string content;                  // what the file will hold
  std::optional<std::string> old_file;  // what it held, for rollback
  bool empty() const { return changes.empty() && !write_file && !remove_file; }
};

// What turns `now` into what `ir` asks for. Values that already match are
// not written.
Plan plan(const ir::Ir& ir, Store& now);

// Writes the live values in plan order, then the file. Throws Error naming
// the key the kernel would not take (or why the file could not be
// written), after putting back the values it had already written; the
// file is then untouched.
void apply(const Plan& p, Store& s);

}  // namespace natc::sysctl
