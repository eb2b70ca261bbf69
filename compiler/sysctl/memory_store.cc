#include "sysctl/memory_store.h"

#include "sysctl/conf.h"

namespace natc::sysctl {

std::optional<std::string> MemoryStore::value(const std::string& key) {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

void MemoryStore::write(const std::string& key, const std::string& value) {
  if (refuse.count(key)) throw Error("the kernel will not take " + key + " = " + value + ": Permission denied");
  values_[key] = value;
}

void MemoryStore::write_file(const std::string& content) {
  if (read_only_dir) throw Error("cannot write " + std::string(kFileName) + ": Read-only file system");
  file_ = content;
}

bool MemoryStore::remove_file() {
  if (read_only_dir && file_) throw Error("cannot remove " + std::string(kFileName) + ": Read-only file system");
  bool had = file_.has_value();
  file_.reset();
  return had;
}

}  // namespace natc::sysctl
