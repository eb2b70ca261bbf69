#include "system/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace natc::system {
namespace {

// ", stopped" when the holder is stopped (SIGSTOP, a debugger, ^Z): it
// will not let go until it is continued or killed.
std::string holder_state(const std::string& pid) {
  std::string stat;
  if (FILE* f = fopen(("/proc/" + pid + "/stat").c_str(), "re")) {
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    stat.assign(buf, n);
  }
  size_t paren = stat.rfind(')');  // the command name may hold anything
  if (paren == std::string::npos || paren + 2 >= stat.size()) return "";
  char state = stat[paren + 2];
  return state == 'T' || state == 't' ? ", stopped" : "";
}

class FileLock : public Held {
 public:
  FileLock(const std::string& path, int seconds, bool shared);
  ~FileLock() override {
    flock(fd_, LOCK_UN);
    close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

FileLock::FileLock(const std::string& path, int seconds, bool shared) {
  // Never through a symlink: the pid written into the lock would land in
  // whatever file the link names.
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0 && errno == ELOOP) throw std::runtime_error("cannot open lock " + path + ": it is a symlink");
  if (fd_ < 0) throw std::runtime_error("cannot open lock " + path + ": " + std::strerror(errno));
  for (int waited = 0;; waited += 100) {
    if (flock(fd_, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK || waited >= seconds * 1000) {
      char holder[32] = {};
      ssize_t n = pread(fd_, holder, sizeof holder - 1, 0);
      std::string pid = n > 0 ? std::string(holder, size_t(n)) : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      close(fd_);
      std::string why = pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos
                            ? "another natc (its pid not written yet) holds "
                            : "another natc (pid " + pid + holder_state(pid) + ") holds ";
      why += path + "; gave up after " + std::to_string(seconds) + "s";
      throw std::runtime_error(why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (shared) return;  // readers are many: the pid file names the last writer
  std::string me = std::to_string(getpid()) + "\n";
  if (ftruncate(fd_, 0) == 0 && pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // The pid is a courtesy for the next waiter; the flock is the lock.
  }
}

}  // namespace

std::unique_ptr<Held> flock_file(const std::string& path, int seconds, bool shared) {
  return std::make_unique<FileLock>(path, seconds, shared);
}

}  // namespace natc::system
