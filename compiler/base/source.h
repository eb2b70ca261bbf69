// A spec file's text and 1-based positions inside it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natc::base {

struct Loc {
  uint32_t line = 0;  // 1-based; 0 means "no position" (whole file)
  uint32_t col = 0;   // 1-based, in bytes
  friend bool operator==(const Loc&, const Loc&) = default;
  friend auto operator<=>(const Loc&, const Loc&) = default;
};

class SourceFile {
 public:
  SourceFile(std::string name, std::string text);
  // A spec directory: `name` is the directory, and the text its files'
  // texts one after another, each ending in a newline, so that a line
  // number runs through them all; place() says which file and line it is.
  // What identifies a file's content without reading it (Ninja's way):
  // the key of the parse cache.
  struct Stamp {
    uint64_t size = 0, mtime_ns = 0, inode = 0, device = 0;
    friend bool operator==(const Stamp&, const Stamp&) = default;
  };
  struct Part {
    std::string name;
    std::string text;
    std::optional<Stamp> stamp;  // none: read from memory, or it changed while read
  };
  SourceFile(std::string name, const std::vector<Part>& parts);
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  // The text of 1-based line `line`, without its newline; empty past the end.
  std::string_view line(uint32_t line) const;

  bool is_directory() const { return !parts_.empty(); }
  // The file a line is in, and its line there (line 0: the whole spec).
  struct Place {
    std::string_view file;
    uint32_t line;
  };
  Place place(uint32_t line) const;
  // A directory's files, as they were read.
  std::vector<Part> parts() const;
  // The first line of each file (1-based, in the whole text), and its
  // name, for a directory.
  using Lines = std::vector<std::pair<uint32_t, std::string>>;
  const Lines& part_lines() const { return part_lines_; }

 private:
  struct Span {
    size_t begin, size;  // bytes of the file as read
    std::optional<Stamp> stamp;
  };
  std::string name_;
  std::string text_;
  std::vector<size_t> line_starts_;
  std::vector<Span> parts_;  // beside part_lines_, one each
  Lines part_lines_;
};

// The file of `files` (SourceFile::part_lines(), which a spec keeps) that
// holds line `line` of the whole text, and its line there; none before
// the first file's first line.
std::optional<SourceFile::Place> place_in(const SourceFile::Lines& files, uint32_t line);

// Positions in a JSON file natc reads (saved plans, snapshots): of byte
// `byte` (0-based), and of the first `"key"` (no position when absent).
Loc loc_at_byte(std::string_view text, size_t byte);
Loc loc_of_key(std::string_view text, std::string_view key);

// Files natc reads are at most this big: a spec of a million forwards is
// about 130 MiB of YAML.
inline constexpr size_t kMaxFileBytes = size_t{512} << 20;

// Reads a whole file; false (with errno set) when it cannot be read, is a
// directory (EISDIR), or is larger than `max` (EFBIG).
bool read_file(const std::string& path, std::string* out, size_t max = kMaxFileBytes);
// The same, with the file's stamp when it did not change while it was read
// and was last written over two seconds ago (newer, a change within the
// same mtime tick could go unseen).
bool read_file(const std::string& path, std::string* out, std::optional<SourceFile::Stamp>* stamp,
               size_t max = kMaxFileBytes);

}  // namespace natc::base
