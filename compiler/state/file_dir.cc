#include "state/file_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/source.h"

namespace natc::state {
namespace {

std::string why() { return std::strerror(errno); }

class FileDir : public Dir {
 public:
  explicit FileDir(std::string path) : path_(std::move(path)) {}

  std::optional<std::string> read(const std::string& name) override {
    std::string text;
    if (!base::read_file(path_ + "/" + name, &text)) return std::nullopt;
    return text;
  }

  void write(const std::string& name, const std::string& content) override {
    if (mkdir(path_.c_str(), 0700) < 0 && errno != EEXIST) throw Error("cannot create " + path_ + ": " + why());
    std::string file = path_ + "/" + name, tmp = file + ".XXXXXX";
    int fd = mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) throw Error("cannot write " + file + ": " + why());
    bool ok = fchmod(fd, 0600) == 0;
    for (size_t done = 0; ok && done < content.size();) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += size_t(n);
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp.c_str(), file.c_str()) < 0) {
      if (ok) e = errno;
      unlink(tmp.c_str());
      throw Error("cannot write " + file + ": " + std::strerror(e));
    }
    int dfd = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) fsync(dfd), close(dfd);
  }

  void remove(const std::string& name) override {
    std::string file = path_ + "/" + name;
    if (unlink(file.c_str()) < 0 && errno != ENOENT) throw Error("cannot remove " + file + ": " + why());
  }

  std::string where() const override { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<Dir> file_dir(std::string path) { return std::make_unique<FileDir>(std::move(path)); }

}  // namespace natc::state
