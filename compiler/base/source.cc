#include "base/source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace natc::base {

SourceFile::SourceFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

SourceFile::SourceFile(std::string name, const std::vector<Part>& parts) : name_(std::move(name)) {
  size_t lines = 0;
  for (const Part& p : parts) {
    parts_.push_back({text_.size(), p.text.size(), p.stamp});
    part_lines_.emplace_back(uint32_t(lines + 1), p.name);
    text_ += p.text;
    if (!p.text.empty() && p.text.back() != '\n') text_ += '\n';
    lines += size_t(std::count(p.text.begin(), p.text.end(), '\n')) + (!p.text.empty() && p.text.back() != '\n');
  }
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

std::optional<SourceFile::Place> place_in(const SourceFile::Lines& files, uint32_t line) {
  auto it = std::upper_bound(files.begin(), files.end(), line, [](uint32_t l, const auto& f) { return l < f.first; });
  if (it == files.begin()) return std::nullopt;
  --it;
  return SourceFile::Place{it->second, line - it->first + 1};
}

SourceFile::Place SourceFile::place(uint32_t line) const {
  if (line == 0) return {name_, line};
  return place_in(part_lines_, line).value_or(Place{name_, line});
}

std::vector<SourceFile::Part> SourceFile::parts() const {
  std::vector<Part> out;
  for (size_t i = 0; i < parts_.size(); ++i)
    out.push_back({part_lines_[i].second, text_.substr(parts_[i].begin, parts_[i].size), parts_[i].stamp});
  return out;
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

namespace {

// Reads `fd` to its end, at most `max` bytes; closes it. /proc files say
// they are empty: read until the end, not the size; `st`'s size (a regular
// file's) is room made first, so a 12 MB spec is not copied as it grows.
bool read_fd(int fd, std::string* out, size_t max, const struct stat& st, struct stat* after = nullptr) {
  std::string text;
  if (S_ISREG(st.st_mode) && st.st_size > 0) text.reserve(std::min(size_t(st.st_size), max));
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && text.size() + size_t(n) <= max) {
      text.append(buf, size_t(n));
      continue;
    }
    int e = n > 0 ? EFBIG : errno;
    if (n == 0 && after && fstat(fd, after) < 0) n = -1, e = errno;
    close(fd);
    errno = e;
    if (n != 0) return false;
    *out = std::move(text);
    return true;
  }
}

int open_file(const std::string& path, struct stat* st) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (fstat(fd, st) == 0 && S_ISDIR(st->st_mode)) {
    close(fd);
    errno = EISDIR;
    return -1;
  }
  return fd;
}

SourceFile::Stamp stamp_of(const struct stat& st) {
  return {uint64_t(st.st_size), uint64_t(st.st_mtim.tv_sec) * 1000000000ull + uint64_t(st.st_mtim.tv_nsec),
          uint64_t(st.st_ino), uint64_t(st.st_dev)};
}

}  // namespace

bool read_file(const std::string& path, std::string* out, size_t max) {
  struct stat st {};
  int fd = open_file(path, &st);
  return fd >= 0 && read_fd(fd, out, max, st);
}

bool read_file(const std::string& path, std::string* out, std::optional<SourceFile::Stamp>* stamp, size_t max) {
  struct stat before {};
  struct stat after {};
  int fd = open_file(path, &before);
  if (fd < 0 || !read_fd(fd, out, max, before, &after)) return false;
  stamp->reset();
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  SourceFile::Stamp was = stamp_of(before);
  if (was == stamp_of(after) && was.size == out->size() && after.st_mtim.tv_sec + 2 < now.tv_sec) *stamp = was;
  return true;
}

}  // namespace natc::base
