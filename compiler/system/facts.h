// What the live lints weigh a spec against: memory, conntrack sizes and
// load, the other tables and the routes to natc's addresses.
#pragma once

#include "check/check.h"
#include "system/system.h"

namespace natc::system {

check::LiveFacts live_facts(const ir::Ir& ir, System& sys);

// The live lints, or why they could not run (then `skipped` says it).
struct LiveLints {
  base::Diagnostics diags;
  std::string skipped;
};
LiveLints live_lints(const spec::Spec& spec, const ir::Ir& ir, System& sys);

}  // namespace natc::system
