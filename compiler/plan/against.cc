#include "plan/plan.h"

#include "state/image.h"
#include "sysctl/conf.h"
#include "system/facts.h"

namespace natc::plan {

Plan against(const ir::Ir& ir, const kernel::Live& live, system::System& sys, std::string* note) {
  Plan p = make(ir, live, sys.sysctls, sys.ha);
  if (p.resets.empty()) return p;
  try {
    count_flows(p, sys.conntrack.flows());
  } catch (const conntrack::Error& e) {
    *note = std::string(e.what()) + "; flow counts unknown";
  }
  return p;
}

Planned for_spec(const ir::Ir& ir, const spec::Spec& spec, system::System& sys, Against mode,
                 const guard::Session* caller) {
  Planned out;
  std::string how;
  kernel::Live live = state::read_live(sys.kernel, sys.state, &how);
  out.genid = live.genid;
  out.live_hash = live.hash;
  out.sysctls = sysctl::managed_values(sys.sysctls);
  out.sysctl_file = sys.sysctls.file();
  if (mode == Against::Snapshot) {
    out.plan = make(ir, live, sys.sysctls, sys.ha);
    return out;
  }
  auto lints = system::live_lints(spec, ir, sys);
  out.warnings = std::move(lints.diags);
  if (!lints.skipped.empty()) out.notes = lints.skipped + "; checks against this machine skipped";
  std::string note;
  out.plan = against(ir, live, sys, &note);
  if (!note.empty()) out.notes += (out.notes.empty() ? "" : "\n") + note;
  out.errors = system::captures(ir, sys);
  out.errors.merge(lints.errors);
  out.plan.cuts = system::cuts(ir, out.plan, sys, caller ? std::optional(*caller) : std::nullopt);
  return out;
}

}  // namespace natc::plan
