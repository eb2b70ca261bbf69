// The state directory on disk: created 0700 on the first write; files
// 0600, written to a unique temp file, fsynced and renamed.
#pragma once

#include <memory>
#include <string>

#include "state/dir.h"

namespace natc::state {

std::unique_ptr<Dir> file_dir(std::string path);

}  // namespace natc::state
