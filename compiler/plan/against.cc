#include "plan/plan.h"

namespace natc::plan {

Plan against(const ir::Ir& ir, const kernel::Live& live, system::System& sys, std::string* note) {
  Plan p = make(ir, live, sys.sysctls);
  if (p.resets.empty()) return p;
  try {
    count_flows(p, conntrack::FlowIndex(sys.conntrack.flows()));
  } catch (const conntrack::Error& e) {
    *note = std::string(e.what()) + "; flow counts unknown";
  }
  return p;
}

}  // namespace natc::plan
