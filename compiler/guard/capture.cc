// A port forward that matches the gateway's own address takes every new
// connection to that port, including the operator's SSH to the gateway.
#include <algorithm>

#include "guard/guard.h"

namespace natc::guard {
namespace {

bool on(const kernel::Listener& l, const ir::Forward& f) {
  if (l.any) return l.addr.family == f.family || (!l.v6only && f.family == base::Family::V4);
  if (l.addr.family != f.family) return false;
  // Without a destination a forward takes every local address
  // (fib daddr type local), loopback aside: it never arrives from outside.
  if (!f.destination)
    return !(l.addr.family == base::Family::V4 ? l.addr.bytes[0] == 127 : l.addr == *base::parse_addr("::1"));
  return l.addr == *f.destination;
}

std::string service(const kernel::Listener& l) {
  if (l.process == "sshd") return "new SSH connections to this gateway";
  return "new connections to " + (l.process.empty() ? std::string("the service") : l.process) + " on this gateway";
}

}  // namespace

void captures(const ir::Ir& ir, const std::vector<kernel::Listener>& listeners, base::Diagnostics& d) {
  for (const ir::Forward& f : ir.forwards) {
    if (f.allow_capture || f.docker) continue;
    for (const ir::PortMap& pm : f.ports) {
      auto l = std::find_if(listeners.begin(), listeners.end(), [&](const kernel::Listener& x) {
        return x.proto == uint8_t(pm.proto) && x.port == pm.port && on(x, f);
      });
      if (l == listeners.end()) continue;
      std::string where = f.destination ? base::to_string(*f.destination) : "every address of this gateway";
      std::string who = l->process.empty() ? "a service" : l->process;
      d.report(base::Code::CapturedListener, f.entry.loc,
               "port forward '" + f.entry.name + "' takes " + std::string(ir::proto_name(pm.proto)) + "/" +
                   std::to_string(pm.port) + " on " + where + ", where " + who + " listens: " + service(*l) +
                   " would go to " + base::to_string(f.to),
               "forward another port, name a destination the service does not listen on, or say "
               "allow_capture: true if that is the point");
      break;  // one report per forward
    }
  }
}

}  // namespace natc::guard
