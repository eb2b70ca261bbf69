// Where sysctls live: /proc/sys and the sysctl.d file on a machine
// (proc_store.h), a snapshot's recorded values (memory_store.h), or a
// unit test's fake. Plan and apply see only this interface.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace natc::sysctl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;
  // The value of a dotted key, trimmed; nullopt when it cannot be read.
  virtual std::optional<std::string> value(const std::string& key) = 0;
  // Sets a live value; throws Error naming the key when the kernel refuses.
  virtual void write(const std::string& key, const std::string& value) = 0;
  // natc's sysctl.d file: its content, nullopt when absent.
  virtual std::optional<std::string> file() = 0;
  // Replaces the file atomically; throws Error.
  virtual void write_file(const std::string& content) = 0;
  // Removes the file; false when there was none. Throws Error.
  virtual bool remove_file() = 0;

  // A value that is a whole number.
  std::optional<uint64_t> number(const std::string& key);
};

}  // namespace natc::sysctl
