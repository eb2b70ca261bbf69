// Sysctls held in memory: a snapshot's recorded values (`plan --state
// FILE`), or what a unit test sets up. Writes change only the map.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "sysctl/store.h"

namespace natc::sysctl {

class MemoryStore : public Store {
 public:
  MemoryStore() = default;
  MemoryStore(std::map<std::string, std::string> values, std::optional<std::string> file)
      : values_(std::move(values)), file_(std::move(file)) {}

  std::optional<std::string> value(const std::string& key) override;
  void write(const std::string& key, const std::string& value) override;
  std::optional<std::string> file() override { return file_; }
  void write_file(const std::string& content) override;
  bool remove_file() override;

  // Test knobs: keys the "kernel" refuses, and a file that cannot be written.
  std::set<std::string> refuse;
  bool read_only_dir = false;
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::optional<std::string> file_;
};

}  // namespace natc::sysctl
