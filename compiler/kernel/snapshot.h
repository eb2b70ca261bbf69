// A snapshot: the raw messages of one dump of natc's table, the relevant
// live sysctls and natc's sysctl.d file, as JSON. `plan --state FILE`
// decodes the messages with the same code as a live read.
#pragma once

#include <map>
#include <optional>
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

nlohmann::json to_json(const Snapshot& s);
// Throws std::runtime_error with a readable message on a bad file.
Snapshot snapshot_from_json(const nlohmann::json& j);

}  // namespace natc::kernel
