// Desired ruleset vs live kernel state -> the batch that makes them equal,
// described per spec entry the way Terraform describes resources.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "conntrack/flows.h"
#include "conntrack/translation.h"
#include "kernel/kernel.h"
#include "nft/model.h"
#include "spec/spec.h"
#include "sysctl/plan.h"
#include "system/system.h"

namespace natc::guard {
struct Session;
}

namespace natc::plan {

enum class Action { Add, Change, Remove };

struct Change {
  Action action;
  std::string entry;                  // the spec entry (an element's), or "chain forward", "table"
  std::string detail;                 // what changes, in the spec's terms
  std::optional<size_t> flows_reset;  // established flows apply deletes (live plans only)
};

struct Plan {
  kernel::Batch batch;
  std::vector<Change> changes;
  sysctl::Plan sysctl;
  ha::Plan ha;  // the pair's daemons' files
  // Port forwards whose target moves or goes away: their old flows are
  // deleted after the commit, so new connections take the new rule.
  std::vector<conntrack::Translation> resets;
  // What the lockout guard found: "this change would cut ..." (live plans).
  std::vector<std::string> cuts;
  // What the batch makes natc's table (make()): what apply records in its
  // image (state/image.h). The batch's new sets borrow their elements from
  // it: a copy of the plan shares it, so its batch stays good.
  std::shared_ptr<const nft::Table> desired;
  bool empty() const { return batch.ops.empty() && sysctl.empty() && ha.empty(); }
};

// The translation a DNAT map element makes, if `e` is one.
std::optional<conntrack::Translation> translation_of(const nft::Set& s, const nft::Element& e);

// The ruleset part: what turns `live` into `desired` (the batch holds
// copies: `desired` may go before it is committed).
Plan diff(const nft::Table& desired, const kernel::Live& live);
// The whole change for a spec: ruleset and sysctls, stamped with the
// generation it was planned against.
// With `ha`, the pair's files are compared with what it holds; without,
// each is planned (a snapshot does not hold them).
Plan make(const ir::Ir& ir, const kernel::Live& live, sysctl::Store& sysctls, ha::Host* ha = nullptr);
// Deleting natc's table, if there is one, its sysctl.d file and the pair's files.
Plan destroy(const kernel::Live& live, sysctl::Store& sysctls, ha::Host* ha = nullptr);
// Notes on each changed port forward how many of its flows apply will
// reset ("47 flows will be reset").
void count_flows(Plan& p, const std::vector<conntrack::Flow>& flows);
// make() against a system's sysctls, with the flows from its conntrack
// table counted; `note` says why, when they could not be.
Plan against(const ir::Ir& ir, const kernel::Live& live, system::System& sys, std::string* note);

// `natc plan`: the plan for a spec against the machine (with the live
// lints, and the flows each change would reset) or against a snapshot
// (neither: a snapshot holds no other tables and no flows), and what a
// saved plan records of it.
struct Planned {
  Plan plan;
  uint32_t genid = 0;
  uint64_t live_hash = 0;
  std::map<std::string, std::string> sysctls;  // what a saved plan records of them
  std::optional<std::string> sysctl_file;
  base::Diagnostics warnings;  // the live lints
  base::Diagnostics errors;    // forwards that would take the gateway's own services (E2011)
  std::string notes;           // why some lints or counts are missing
};
enum class Against { Machine, Snapshot };
Planned for_spec(const ir::Ir& ir, const spec::Spec& spec, system::System& sys, Against mode,
                 const guard::Session* caller = nullptr);

}  // namespace natc::plan
