// A spec file's text and 1-based positions inside it.
#pragma once

#include <cstdint>
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
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  // The text of 1-based line `line`, without its newline; empty past the end.
  std::string_view line(uint32_t line) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<size_t> line_starts_;
};

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

}  // namespace natc::base
