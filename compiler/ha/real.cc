#include "ha/real.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "base/files.h"
#include "base/source.h"

extern char** environ;

namespace natc::ha {
namespace {

// The daemons' files are small; a bigger one (or a directory, a device)
// reads as none.
constexpr size_t kMaxFile = 1 << 20;

std::optional<std::string> program_path(const std::string& name) {
  std::string dirs = (getenv("PATH") ? std::string(getenv("PATH")) : "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t at = 0;
  while (at <= dirs.size()) {
    size_t end = std::min(dirs.find(':', at), dirs.size());
    std::string dir = dirs.substr(at, end - at);
    at = end + 1;
    if (dir.empty()) continue;
    std::string p = dir + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

void make_parent(const std::string& path) {
  for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1))
    mkdir(path.substr(0, at).c_str(), 0755);  // an existing one is fine; a failure shows at the write
}

std::optional<long> read_pid(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  long pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || pid <= 1) return std::nullopt;
  return pid;
}

// A pid that is keepalived's: alive, and by that name (a stale pid file
// may name a pid some other program has now).
std::optional<long> keepalived_pid(const std::string& pid_file) {
  auto pid = read_pid(pid_file);
  if (!pid || kill(pid_t(*pid), 0) != 0) return std::nullopt;
  std::ifstream comm("/proc/" + std::to_string(*pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name != "keepalived") return std::nullopt;
  return pid;
}

class RealHost : public Host {
 public:
  explicit RealHost(Paths p) : p_(std::move(p)) {}
  const Paths& paths() const override { return p_; }

  std::optional<std::string> read(const std::string& path) override {
    std::string out;
    if (!base::read_file(path, &out, kMaxFile)) return std::nullopt;
    return out;
  }

  void write(const std::string& path, const std::string& content) override {
    make_parent(path);
    try {
      base::write_file_atomically(path, content, 0644);
    } catch (const base::FileError& e) {
      throw Error(e.what());
    }
  }

  bool remove(const std::string& path) override {
    if (unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    throw Error("cannot remove " + path + ": " + std::strerror(errno));
  }

  bool installed(Daemon d) override { return program_path(std::string(daemon_name(d))).has_value(); }

  bool running(Daemon d) override {
    if (d == Daemon::Keepalived) return keepalived_pid(p_.keepalived_pid).has_value();
    return conntrackd({"-s"}).code == 0;
  }

  bool reload(Daemon d) override {
    if (d == Daemon::Keepalived) {
      auto pid = keepalived_pid(p_.keepalived_pid);
      return pid && kill(pid_t(*pid), SIGHUP) == 0;
    }
    if (!running(d)) return false;
    if (access("/run/systemd/system", F_OK) == 0 &&
        run_program({"systemctl", "is-active", "--quiet", "conntrackd"}, 5000).code == 0 &&
        p_.conntrackd_conf == Paths{}.conntrackd_conf)
      return run_program({"systemctl", "restart", "conntrackd"}, 30000).code == 0;
    conntrackd({"-k"});
    // It removes its lock file on the way out; a new one cannot start before.
    for (int i = 0; i < 100 && access(p_.lock_file().c_str(), F_OK) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return conntrackd({"-d"}).code == 0;
  }

  Run conntrackd(const std::vector<std::string>& args) override {
    std::vector<std::string> argv = {"conntrackd", "-C", p_.conntrackd_conf};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, 30000);
  }

  void pause_ms(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

  void make_run_dir() override {
    make_parent(p_.run_dir + "/");
    struct stat st;
    if (stat(p_.run_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw Error("cannot create " + p_.run_dir);
  }

  void record_state(const std::string& state) override {
    make_run_dir();
    auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    write(p_.state_file(), state + " " + std::to_string(now) + "\n");
  }

 private:
  Paths p_;
};

}  // namespace

std::unique_ptr<Host> real_host(Paths p) {
  if (p.natc.empty()) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) p.natc.assign(self, size_t(n));
  }
  return std::make_unique<RealHost>(std::move(p));
}

Run run_program(const std::vector<std::string>& argv, int timeout_ms) {
  Run r;
  auto path = program_path(argv.at(0));
  if (!path) {
    r.out = argv[0] + " is not installed";
    return r;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawn(&pid, path->c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    r.out = std::string("cannot run ") + argv[0] + ": " + std::strerror(err);
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  // A daemon started with -d keeps the pipe open in its child: the
  // command's own exit, not the pipe's end, says it is done.
  int status = 0;
  bool exited = false;
  while (!exited) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      close(fds[0]);
      r.out += "\n(killed after " + std::to_string(timeout_ms / 1000) + "s)";
      return r;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, int(std::min<long long>(left.count(), 20))) > 0) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0 && r.out.size() < 65536) r.out.append(buf, size_t(n));
    }
    exited = waitpid(pid, &status, WNOHANG) == pid;
  }
  // What it wrote before it exited.
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0 && r.out.size() < 65536;) r.out.append(buf, size_t(n));
  close(fds[0]);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r;
}

}  // namespace natc::ha
