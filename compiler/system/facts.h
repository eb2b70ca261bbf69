// What the live lints weigh a spec against: memory, conntrack sizes and
// load, the other tables and the routes to natc's addresses.
#pragma once

#include "check/check.h"
#include "guard/guard.h"
#include "plan/plan.h"
#include "system/system.h"

namespace natc::system {

check::LiveFacts live_facts(const ir::Ir& ir, System& sys);

// The live lints, or why they could not run (then `skipped` says it).
// Most are warnings; the few errors (a virtual address in no subnet of its
// interface) stop a plan and an apply like the captured ports do.
struct LiveLints {
  base::Diagnostics diags;   // warnings
  base::Diagnostics errors;  // errors
  std::string skipped;
};
LiveLints live_lints(const spec::Spec& spec, const ir::Ir& ir, System& sys);

// The lockout guard on this machine: forwards that would take a port the
// gateway's own services listen on (E2011 errors), and what the next
// ruleset would do to the sessions that manage it (guard.h).
base::Diagnostics captures(const ir::Ir& ir, System& sys);
std::vector<std::string> cuts(const ir::Ir& ir, const plan::Plan& p, System& sys,
                              const std::optional<guard::Session>& caller);

}  // namespace natc::system
