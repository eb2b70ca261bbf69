#include "sysctl/proc_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"
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

}  // namespace

std::string Paths::file() const { return sysctl_dir + "/" + std::string(kFileName); }

std::optional<std::string> ProcStore::value(const std::string& key) {
  std::string text;
  if (!base::read_file(p_.proc_sys + "/" + ir::sysctl_path(key), &text)) return std::nullopt;
  return trim(text);
}

void ProcStore::write(const std::string& key, const std::string& value) {
  std::string path = p_.proc_sys + "/" + ir::sysctl_path(key);
  // O_TRUNC: /proc/sys ignores it; a tree of plain files (--proc-sys in
  // tests) would otherwise keep the tail of a longer old value.
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    bool global = key == "net.netfilter.nf_conntrack_max" || key == "net.netfilter.nf_conntrack_buckets";
    std::string why = global && (e == EACCES || e == EROFS || e == EPERM)
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

void ProcStore::write_file(const std::string& content) {
  try {
    base::write_file_atomically(p_.file(), content, 0644);
  } catch (const base::FileError& e) {
    throw Error(e.what());
  }
}

bool ProcStore::remove_file() {
  if (unlink(p_.file().c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw Error("cannot remove " + p_.file() + ": " + std::strerror(errno));
}

}  // namespace natc::sysctl
