#include "system/real.h"

#include <charconv>

#include "base/source.h"
#include "conntrack/netfilter.h"
#include "kernel/netlink_kernel.h"
#include "system/lock.h"

namespace natc::system {
namespace {

class RealHost : public Host {
 public:
  RealHost(std::string lock, int wait) : lock_(std::move(lock)), wait_(wait) {}

  std::optional<uint64_t> mem_total() override {
    std::string text;
    if (!base::read_file("/proc/meminfo", &text)) return std::nullopt;
    size_t at = text.find("MemTotal:");
    if (at == std::string::npos) return std::nullopt;
    at = text.find_first_not_of(' ', at + 9);
    uint64_t kb = 0;
    if (at == std::string::npos || std::from_chars(text.data() + at, text.data() + text.size(), kb).ec != std::errc())
      return std::nullopt;
    return kb * 1024;
  }

  std::unique_ptr<Held> lock() override { return flock_file(lock_, wait_); }

 private:
  std::string lock_;
  int wait_;
};

kernel::Kernel& enter_and_open(const Options& o, std::unique_ptr<kernel::Kernel>& k) {
  if (!o.netns.empty()) kernel::enter_netns(o.netns);
  k = kernel::netlink_kernel();
  return *k;
}

}  // namespace

struct Real::Parts {
  std::unique_ptr<kernel::Kernel> kernel;
  std::unique_ptr<conntrack::Table> conntrack = conntrack::netfilter_table();
  sysctl::ProcStore sysctls;
  RealHost host;
  Parts(const Options& o) : sysctls(o.paths), host(o.lock, o.lock_wait) {}
};

Real::Real(const Options& o)
    : parts_(std::make_unique<Parts>(o)),
      system_{enter_and_open(o, parts_->kernel), *parts_->conntrack, parts_->sysctls, parts_->host} {}

Real::~Real() = default;

}  // namespace natc::system
