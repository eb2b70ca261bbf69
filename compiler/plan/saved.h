// Saved plans: `natc plan -o PLAN` writes one, `natc apply PLAN` reads it.
// A saved plan carries its spec and the live state it was made against, so
// apply can refuse when natc's live state moved since.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/diag.h"
#include "base/source.h"
#include "plan/plan.h"
#include "sysctl/store.h"

namespace natc::plan {

struct Saved {
  std::string spec;        // the spec's file name when it was planned
  std::string spec_text;   // and its text
  uint32_t genid = 0;      // the ruleset generation it was planned against
  uint64_t live_hash = 0;  // kernel::Live::hash then
  // The sysctls natc manages and its sysctl.d file, as they were then.
  std::map<std::string, std::string> sysctls;
  std::optional<std::string> sysctl_file;
};

// What moved since `s` was planned, in words ("sysctl net.ipv4.ip_forward
// (1, now 0)"); empty when natc's table, the sysctls it manages and its
// file are as they were.
std::vector<std::string> moved_since(const Saved& s, uint64_t live_hash, sysctl::Store& now);

// The file's JSON: the fields above, the plan as render_json shows it, and
// a hash over all of it, so an edited plan is refused (an integrity check
// against mistakes and tampering in transit; not a signature).
nlohmann::json to_json(const Saved& s, const Plan& p);

// What `natc apply FILE` was given. A file is a plan when it is a JSON
// object with "natc_plan"; then every field is checked, and a broken one is
// an E4004 diagnostic (never an abort). Anything else is a spec.
struct Loaded {
  std::optional<Saved> saved;  // a valid plan
  base::Diagnostics diags;     // a broken plan: why
  bool is_plan() const { return saved || diags.errors(); }
};
Loaded read_saved(const base::SourceFile& file);

}  // namespace natc::plan
