// The state directory (--state-dir, default /var/lib/natc): what natc
// remembers between runs. Files are written whole (temp, fsync, rename) and
// checked before they are trusted (records.h).
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace natc::state {

inline constexpr std::string_view kDefaultDir = "/var/lib/natc";

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Dir {
 public:
  virtual ~Dir() = default;
  virtual std::optional<std::string> read(const std::string& name) = 0;
  // Replaces `name` whole; throws Error.
  virtual void write(const std::string& name, const std::string& content) = 0;
  virtual void remove(const std::string& name) = 0;
  virtual std::string where() const = 0;  // for messages: the directory
};

// In memory: for unit tests, and machines that keep no state (a snapshot).
class MemoryDir : public Dir {
 public:
  std::optional<std::string> read(const std::string& name) override {
    auto it = files.find(name);
    return it == files.end() ? std::nullopt : std::optional(it->second);
  }
  void write(const std::string& name, const std::string& content) override {
    if (read_only) throw Error("cannot write " + name + ": Read-only file system");
    files[name] = content;
  }
  void remove(const std::string& name) override { files.erase(name); }
  std::string where() const override { return "(memory)"; }
  std::map<std::string, std::string> files;
  bool read_only = false;
};

}  // namespace natc::state
