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

std::unique_ptr<kernel::Kernel> enter_and_open(const Options& o) {
  if (!o.netns.empty()) kernel::enter_netns(o.netns);
  return kernel::netlink_kernel();
}

class Real : public Machine {
 public:
  explicit Real(const Options& o) : kernel_(enter_and_open(o)), sysctls_(o.paths), host_(o.lock, o.lock_wait) {}
  System& get() override { return system_; }

 private:
  std::unique_ptr<kernel::Kernel> kernel_;
  std::unique_ptr<conntrack::Table> conntrack_ = conntrack::netfilter_table();
  sysctl::ProcStore sysctls_;
  RealHost host_;
  System system_{*kernel_, *conntrack_, sysctls_, host_};
};

}  // namespace

std::unique_ptr<Machine> open(const Options& o) { return std::make_unique<Real>(o); }

}  // namespace natc::system
