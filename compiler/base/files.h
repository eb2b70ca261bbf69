// Writing files whole: a unique temp file beside the target, fsync,
// rename over it, fsync of the directory. A reader sees the old file or
// the new one, never half; a symlink at the path is replaced, never
// followed; the mode is what is asked, whatever the umask.
#pragma once

#include <sys/types.h>
#include <stdexcept>
#include <string>

namespace natc::base {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws FileError. Temp files of `path` left by a writer that was killed
// (PATH.XXXXXX, older than a minute) are removed first.
void write_file_atomically(const std::string& path, const std::string& content, mode_t mode);

}  // namespace natc::base
