#include "sysctl/proc_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/source.h"
#include "ir/ir.h"
#include "sysctl/conf.h"

namespace natc::sysctl {
namespace {

std::string trim(std::string s) {
  // Multi-value sysctls separate with tabs; natc's are single values.
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write " + path + ": " + std::strerror(errno));
    }
    done += size_t(n);
  }
}

void write_file_atomically(const std::string& dir, const std::string& path, const std::string& content) {
  // A unique temp name: two writers never rename each other's file away.
  std::string tmp = path + ".XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0644);
  try {
    write_all(fd, content, tmp);
    if (fsync(fd) < 0) throw Error("cannot sync " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    close(fd);
    unlink(tmp.c_str());
    throw;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw Error("cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
  }
  // The rename is durable only once the directory entry is on disk.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

}  // namespace

std::string Paths::file() const { return sysctl_dir + "/" + std::string(kFileName); }

std::optional<std::string> ProcStore::value(const std::string& key) {
  std::string text;
  if (!base::read_file(p_.proc_sys + "/" + ir::sysctl_path(key), &text)) return std::nullopt;
  return trim(text);
}

void ProcStore::write(const std::string& key, const std::string& value) {
  std::string path = p_.proc_sys + "/" + ir::sysctl_path(key);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string why = e == EACCES || e == EROFS || e == EPERM
                          ? " (read-only here: nf_conntrack_max and nf_conntrack_buckets can only be set "
                            "in the initial network namespace)"
                          : "";
    throw Error("the kernel will not take " + key + " = " + value + ": " + std::strerror(e) + why);
  }
  std::string line = value + "\n";
  ssize_t n = ::write(fd, line.data(), line.size());
  int e = errno;
  close(fd);
  if (n < 0) throw Error("the kernel will not take " + key + " = " + value + ": " + std::strerror(e));
}

std::optional<std::string> ProcStore::file() {
  std::string text;
  if (!base::read_file(p_.file(), &text)) return std::nullopt;
  return text;
}

void ProcStore::write_file(const std::string& content) { write_file_atomically(p_.sysctl_dir, p_.file(), content); }

bool ProcStore::remove_file() {
  if (unlink(p_.file().c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw Error("cannot remove " + p_.file() + ": " + std::strerror(errno));
}

}  // namespace natc::sysctl
