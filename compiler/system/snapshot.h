// Snapshots as a system: `natc snapshot` takes one from the machine, and
// `plan --state FILE` plans against one as if it were the machine (read
// only: nothing can be committed to a file).
#pragma once

#include <memory>
#include <string>

#include "base/diag.h"
#include "base/source.h"
#include "kernel/snapshot.h"
#include "system/system.h"

namespace natc::system {

kernel::Snapshot take_snapshot(System& sys);

// The snapshot `file` holds, or nullptr with an E4007 diagnostic in
// `diags` at the byte or key at fault.
std::unique_ptr<Machine> open_snapshot(const base::SourceFile& file, base::Diagnostics& diags);

}  // namespace natc::system
