#include "system/real.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "base/source.h"
#include "conntrack/netfilter.h"
#include "ha/real.h"
#include "kernel/netlink_kernel.h"
#include "state/file_dir.h"
#include "system/lock.h"

namespace natc::system {
namespace {

// The guard's command line: `natc __guard N` with this machine's options.
std::vector<std::string> guard_args(const Options& o, uint64_t n) {
  std::vector<std::string> a = {"natc", "__guard",      std::to_string(n),  "--state-dir", o.state_dir,     "--lock",
                                o.lock, "--sysctl-dir", o.paths.sysctl_dir, "--proc-sys",  o.paths.proc_sys};
  if (!o.netns.empty()) a.insert(a.end(), {"--netns", o.netns});
  return a;
}

// Double fork: the guard is nobody's child and in a session of its own, so
// a dying terminal (SIGHUP) or a killed natc (SIGKILL) leaves it running.
// It starts from this binary afresh: no inherited lock, socket or stack.
int64_t spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throw std::runtime_error("cannot start the guard: pipe failed");
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) throw std::runtime_error("cannot start the guard: fork failed");
  if (child == 0) {
    setsid();
    pid_t guard = fork();
    if (guard != 0) {
      (void)!write(fds[1], &guard, sizeof guard);
      _exit(0);
    }
    int null = ::open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  pid_t guard = -1;
  if (read(fds[0], &guard, sizeof guard) != sizeof guard) guard = -1;
  close(fds[0]);
  waitpid(child, nullptr, 0);
  if (guard <= 0) throw std::runtime_error("cannot start the guard");
  return guard;
}

class RealHost : public Host {
 public:
  explicit RealHost(const Options& o) : o_(o) {}

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

  std::optional<bool> has_module(const std::string& name) override {
    struct stat st {};
    if (stat(("/sys/module/" + name).c_str(), &st) == 0) return true;  // loaded, or built in with parameters
    std::string text;
    if (!base::read_file("/proc/modules", &text)) return std::nullopt;
    if (text.starts_with(name + " ") || text.find("\n" + name + " ") != std::string::npos) return true;
    utsname u{};
    if (uname(&u) != 0) return std::nullopt;
    std::string dir = std::string("/lib/modules/") + u.release;
    if (base::read_file(dir + "/modules.builtin", &text) && text.find("/" + name + ".ko") != std::string::npos)
      return true;
    for (const char* ext : {"", ".xz", ".zst", ".gz"})
      if (stat((dir + "/kernel/net/netfilter/" + name + ".ko" + ext).c_str(), &st) == 0) return true;
    return false;
  }

  std::unique_ptr<Held> lock() override { return flock_file(o_.lock, o_.lock_wait); }

  int64_t now_ms() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void sleep_ms(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
  int64_t start_guard(uint64_t n) override { return spawn(guard_args(o_, n)); }
  int64_t pid() override { return getpid(); }

  // Only a process that is still a natc guard gets the signal (pids are
  // reused).
  void stop_guard(int64_t pid) override {
    std::string cmdline;
    if (pid <= 0 || !base::read_file("/proc/" + std::to_string(pid) + "/cmdline", &cmdline)) return;
    if (cmdline.find(std::string("__guard") + '\0') != std::string::npos) kill(pid_t(pid), SIGTERM);
  }

  void log(const std::string& message) override {
    std::cerr << "natc: " << message << "\n";
    openlog("natc", LOG_PID, LOG_DAEMON);
    syslog(LOG_WARNING, "%s", message.c_str());
    closelog();
    // And beside the state it is about, for whoever looks there.
    int fd = ::open((o_.state_dir + "/log").c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return;
    char stamp[32];
    time_t t = time(nullptr);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z ", localtime(&t));
    std::string line = stamp + message + "\n";
    (void)!::write(fd, line.data(), line.size());
    close(fd);
  }

 private:
  Options o_;
};

// CAP_NET_ADMIN in the effective set (root has it): nf_tables answers
// EPERM to every request without it, which says nothing to a new user.
bool can_administer_network() {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return true;  // cannot tell: let the kernel say
  char line[256];
  bool capable = true;
  while (fgets(line, sizeof line, f))
    if (std::strncmp(line, "CapEff:", 7) == 0) capable = (std::strtoull(line + 7, nullptr, 16) >> 12) & 1;
  fclose(f);
  return capable;
}

std::unique_ptr<kernel::Kernel> enter_and_open(const Options& o) {
  if (!can_administer_network())
    throw std::runtime_error(
        "reading or changing the kernel's ruleset needs root (or CAP_NET_ADMIN); without it, "
        "plan against a snapshot taken on the gateway: natc plan SPEC --state FILE (natc snapshot -o FILE)");
  if (!o.netns.empty()) kernel::enter_netns(o.netns);
  return kernel::netlink_kernel();
}

class Real : public Machine {
 public:
  explicit Real(const Options& o)
      : kernel_(enter_and_open(o)), o_ha_(o.ha), sysctls_(o.paths), host_(o), state_(state::file_dir(o.state_dir)) {}
  System& get() override { return system_; }

 private:
  std::unique_ptr<kernel::Kernel> kernel_;
  ha::Paths o_ha_;
  std::unique_ptr<conntrack::Table> conntrack_ = conntrack::netfilter_table();
  sysctl::ProcStore sysctls_;
  RealHost host_;
  std::unique_ptr<state::Dir> state_;
  std::unique_ptr<ha::Host> ha_ = ha::real_host(o_ha_);
  System system_{*kernel_, *conntrack_, sysctls_, host_, *state_, ha_.get()};
};

// A reader: the machine, with the shared lock held as long as it is open.
class Reading : public Machine {
 public:
  explicit Reading(const Options& o) : real_(o), held_(flock_file(o.lock, o.lock_wait, /*shared=*/true)) {}
  System& get() override { return real_.get(); }

 private:
  Real real_;
  std::unique_ptr<Held> held_;
};

}  // namespace

std::unique_ptr<Machine> open(const Options& o) { return std::make_unique<Real>(o); }
std::unique_ptr<Machine> open_for_reading(const Options& o) { return std::make_unique<Reading>(o); }

}  // namespace natc::system
