#include "base/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

namespace natc::base {
namespace {

constexpr time_t kStaleSeconds = 60;

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// mkstemp's pattern: the name, a dot, six letters or digits.
bool temp_of(const std::string& entry, const std::string& name) {
  if (entry.size() != name.size() + 7 || entry.compare(0, name.size(), name) != 0 || entry[name.size()] != '.')
    return false;
  for (size_t i = name.size() + 1; i < entry.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(entry[i]))) return false;
  return true;
}

void remove_stale_temps(const std::string& dir, const std::string& name) {
  struct Close {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, Close> d(opendir(dir.c_str()));
  if (!d) return;
  time_t now = time(nullptr);
  while (dirent* e = readdir(d.get())) {
    if (!temp_of(e->d_name, name)) continue;
    std::string p = dir + "/" + e->d_name;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > kStaleSeconds) unlink(p.c_str());
  }
}

void write_all(int fd, const std::string& data, const std::string& path) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError("cannot write " + path + ": " + std::strerror(errno));
    done += size_t(n);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& content, mode_t mode) {
  std::string dir = dir_of(path);
  remove_stale_temps(dir, base_of(path));
  std::string tmp = path + ".XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw FileError("cannot write " + path + ": " + std::strerror(errno));
  try {
    if (fchmod(fd, mode) < 0) throw FileError("cannot set the mode of " + tmp + ": " + std::strerror(errno));
    write_all(fd, content, tmp);
    if (fsync(fd) < 0) throw FileError("cannot sync " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    close(fd);
    unlink(tmp.c_str());
    throw;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw FileError("cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
  }
  // The rename is durable only once the directory entry is on disk.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

}  // namespace natc::base
