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

class FromSnapshot {
 public:
  // Throws std::runtime_error ("'FILE' is not a natc snapshot: ...").
  explicit FromSnapshot(const std::string& path);
  ~FromSnapshot();
  System& get() { return system_; }

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
  System system_;
};

}  // namespace natc::system
