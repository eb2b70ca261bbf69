#include <algorithm>

#include "check/check.h"

namespace natc::check {
namespace {

bool contains(const std::vector<ir::Prefix>& nets, const ir::Addr& a) {
  return std::any_of(nets.begin(), nets.end(), [&](const ir::Prefix& p) { return base::to_range(p).contains(a); });
}

bool accepts(const ir::ForwardRule& r, const ir::Forward& f, const ir::PortMap& m) {
  if (r.family != f.family || !contains(r.to, f.to)) return false;
  if (!r.protocols.empty() && std::find(r.protocols.begin(), r.protocols.end(), m.proto) == r.protocols.end())
    return false;
  return !r.port || (r.port->first <= m.to_port && m.to_port <= r.port->last);
}

}  // namespace

// forward_accept: manual promises a rule in forwarding.rules; without one,
// the DNAT'd traffic dies in FORWARD and the forward silently does nothing.
void forward_accept(const ir::Ir& ir, base::Diagnostics& diags) {
  for (const ir::Forward& f : ir.forwards) {
    if (f.auto_accept) continue;
    for (const ir::PortMap& m : f.ports) {
      bool ok =
          std::any_of(ir.rules.begin(), ir.rules.end(), [&](const ir::ForwardRule& r) { return accepts(r, f, m); });
      if (ok) continue;
      diags.report(base::Code::NoForwardAccept, f.entry.loc,
                   "port forward '" + f.entry.name + "' has no FORWARD accept for " +
                       std::string(ir::proto_name(m.proto)) + " to " + base::to_string(f.to) + " port " +
                       std::to_string(m.to_port),
                   "add a forwarding rule with to: " + base::to_string(f.to) +
                       " and port: " + std::to_string(m.to_port) + ", or set forward_accept: auto");
      break;
    }
  }
}

}  // namespace natc::check
