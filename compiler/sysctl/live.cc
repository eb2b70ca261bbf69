#include "sysctl/live.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/source.h"
#include "ir/lower.h"
#include "sysctl/sysctl.h"

namespace natc::sysctl {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  // Multi-value sysctls separate with tabs; natc's are single values.
  return s;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
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

std::optional<std::string> read_value(const Paths& p, const std::string& key) {
  std::string text;
  if (!base::read_file(p.proc_sys + "/" + ir::sysctl_path(key), &text)) return std::nullopt;
  return trim(text);
}

std::optional<uint64_t> read_number(const Paths& p, const std::string& key) {
  auto v = read_value(p, key);
  if (!v || v->empty() || v->find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(*v);
}

std::optional<std::string> read_file(const Paths& p) {
  std::string text;
  if (!base::read_file(p.file(), &text)) return std::nullopt;
  return text;
}

Current from_system(const Paths& p) {
  return {[p](const std::string& key) { return read_value(p, key); }, read_file(p)};
}

void plan_sysctls(const ir::Ir& ir, const Current& now, plan::Plan& plan) {
  for (const ir::Sysctl& s : ir.sysctls) {
    auto value = now.value(s.key);
    if (value && *value == s.value) continue;  // already right: not written
    plan.sysctls.push_back({s.key, value.value_or(""), s.value});
  }
  plan.file_content = render_conf(ir);
  plan.old_file = now.file;
  plan.write_file = now.file != plan.file_content;
}

namespace {

void write_value(const Paths& p, const std::string& key, const std::string& value) {
  std::string path = p.proc_sys + "/" + ir::sysctl_path(key);
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
  ssize_t n = write(fd, line.data(), line.size());
  int e = errno;
  close(fd);
  if (n < 0) throw Error("the kernel will not take " + key + " = " + value + ": " + std::strerror(e));
}

}  // namespace

void apply(const plan::Plan& plan, const Paths& p) {
  // Live values first, in plan order (ip_forward first); on a refusal the
  // ones already written go back, and the file is not touched.
  size_t done = 0;
  try {
    for (; done < plan.sysctls.size(); ++done) write_value(p, plan.sysctls[done].key, plan.sysctls[done].to);
  } catch (const Error&) {
    while (done-- > 0)
      if (!plan.sysctls[done].from.empty()) {
        try {
          write_value(p, plan.sysctls[done].key, plan.sysctls[done].from);
        } catch (const Error&) {
          // Best effort: the first error is the one to report.
        }
      }
    throw;
  }
  if (plan.write_file) write_file_atomically(p.sysctl_dir, p.file(), plan.file_content);
}

bool remove_file(const Paths& p) {
  if (unlink(p.file().c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw Error("cannot remove " + p.file() + ": " + std::strerror(errno));
}

std::vector<std::string> relevant_keys() {
  std::vector<std::string> keys = {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
                                   "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets",
                                   "net.netfilter.nf_conntrack_count"};
  for (std::string_view k : ir::timeout_keys()) keys.push_back("net.netfilter." + ir::timeout_sysctl(k));
  return keys;
}

}  // namespace natc::sysctl
