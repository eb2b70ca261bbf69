// Desired ruleset vs live kernel state -> the batch that makes them equal,
// described per spec entry the way Terraform describes resources.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "conntrack/translation.h"
#include "kernel/kernel.h"
#include "nft/model.h"

namespace natc::plan {

enum class Action { Add, Change, Remove };

struct Change {
  Action action;
  std::string entry;   // spec entry name (element comment), or "chain forward", "table"
  std::string detail;  // what changes, in the spec's terms
  std::optional<size_t> flows_reset;  // established flows apply deletes (live plans only)
};

struct SysctlChange {
  std::string key;
  std::string from;  // "" when unreadable or absent
  std::string to;
};

struct Plan {
  kernel::Batch batch;
  std::vector<Change> changes;
  std::vector<SysctlChange> sysctls;
  bool write_file = false;    // sysctl.d file differs
  bool remove_file = false;   // destroy
  std::string file_content;
  std::optional<std::string> old_file;  // what the file held before, for rollback
  // Port forwards whose target moves or goes away: their old flows are
  // deleted after the commit, so new connections take the new rule.
  std::vector<conntrack::Translation> resets;
  bool empty() const { return batch.ops.empty() && sysctls.empty() && !write_file && !remove_file; }
};

// The translation a DNAT map element makes, if `e` is one.
std::optional<conntrack::Translation> translation_of(const nft::Set& s, const nft::Element& e);

// The ruleset part: what turns `live` into `desired`.
Plan diff(const nft::Table& desired, const kernel::Live& live);
// Deleting natc's table, if there is one.
Plan destroy(const kernel::Live& live);

// Terraform-like text: one line per change, then a summary line.
std::string render_text(const Plan& p);
nlohmann::json render_json(const Plan& p);
// For a pull-request comment: a summary line and a table of changes.
std::string render_markdown(const Plan& p, const std::string& spec);
std::string summary(const Plan& p);  // "Plan: 1 to add, 2 to change, 0 to remove."

}  // namespace natc::plan
