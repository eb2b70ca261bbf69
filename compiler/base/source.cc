#include "base/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace natc::base {

SourceFile::SourceFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string_view SourceFile::line(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  std::string_view s(text_.data() + begin, end - begin);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

Loc loc_at_byte(std::string_view text, size_t byte) {
  Loc at{1, 1};
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++at.line, at.col = 1;
    else
      ++at.col;
  }
  return at;
}

Loc loc_of_key(std::string_view text, std::string_view key) {
  size_t at = text.find("\"" + std::string(key) + "\"");
  return at == std::string_view::npos ? Loc{} : loc_at_byte(text, at);
}

bool read_file(const std::string& path, std::string* out, size_t max) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    errno = EISDIR;
    return false;
  }
  // /proc files say they are empty: read until the end, but never past `max`.
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      errno = e;
      if (n < 0) return false;
      *out = std::move(text);
      return true;
    }
    if (text.size() + size_t(n) > max) {
      close(fd);
      errno = EFBIG;
      return false;
    }
    text.append(buf, size_t(n));
  }
}

}  // namespace natc::base
