// Serialises natc processes: an flock on a file that holds the holder's pid.
#pragma once

#include <memory>
#include <string>

#include "system/system.h"

namespace natc::system {

// Waits up to `seconds` for the lock; throws std::runtime_error naming the
// holder's pid when it does not come free. `shared`: a reader's lock, held
// by any number of readers at once and never with a writer (apply).
std::unique_ptr<Held> flock_file(const std::string& path, int seconds, bool shared = false);

}  // namespace natc::system
