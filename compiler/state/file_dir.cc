#include "state/file_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"
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
    try {
      base::write_file_atomically(path_ + "/" + name, content, 0600);
    } catch (const base::FileError& e) {
      throw Error(e.what());
    }
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
