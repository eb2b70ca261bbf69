// A snapshot: the raw messages of one dump of natc's table, the relevant
// live sysctls and natc's sysctl.d file, as JSON. `plan --state FILE`
// decodes the messages with the same code as a live read.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "kernel/kernel.h"

namespace natc::kernel {

struct Snapshot {
  Dump dump;
  std::map<std::string, std::string> sysctls;  // key -> value, readable ones
  std::optional<std::string> sysctl_file;
  std::string ruleset;  // the table as nft text, for people (not read back)
};

// A snapshot natc cannot use: what is wrong, and the top-level key it is
// under ("" for the file as a whole).
class SnapshotError : public std::runtime_error {
 public:
  SnapshotError(std::string key, const std::string& what) : std::runtime_error(what), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

nlohmann::json to_json(const Snapshot& s);
// Every field of its type and every message whole and of its list's type
// (netlink/validate.h), or throws SnapshotError. Decoding the messages is
// the reader's (system/snapshot.h).
Snapshot snapshot_from_json(const nlohmann::json& j);

}  // namespace natc::kernel
