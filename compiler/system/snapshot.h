// Snapshots as a system: `natc snapshot` takes one from the machine, and
// `plan --state FILE` plans against one as if it were the machine (read
// only: nothing can be committed to a file).
#pragma once

#include <memory>
#include <string>

#include "kernel/snapshot.h"
#include "system/system.h"

namespace natc::system {

kernel::Snapshot take_snapshot(System& sys);

// Throws std::runtime_error ("'FILE' is not a natc snapshot: ...").
std::unique_ptr<Machine> open_snapshot(const std::string& path);

}  // namespace natc::system
