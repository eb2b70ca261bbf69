// The lockout guard: what a change does to the sessions that manage the
// gateway. Operators change NAT over the network; the change must not take
// the port they log in by, nor cut the session they are in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "conntrack/flows.h"
#include "cotenancy/ruleset.h"
#include "ir/ir.h"
#include "kernel/kernel.h"
#include "plan/plan.h"

namespace natc::guard {

// A session that manages the gateway or a host behind it.
struct Session {
  uint8_t proto = uint8_t(base::Proto::Tcp);
  base::Addr client, server;  // as the client addressed it
  uint16_t client_port = 0, server_port = 0;
  std::optional<conntrack::Flow> flow;  // as conntrack tracks it (where it really goes)
  bool yours = false;                   // the session natc runs in ($SSH_CONNECTION)
  std::string describe() const;         // "your session 198.51.100.7:40000 -> 203.0.113.1:22"
};

// $SSH_CONNECTION ("CLIENT CPORT SERVER SPORT"); nullopt when unset or not that.
std::optional<Session> from_ssh_connection(const char* value);
// The caller's session and every conntrack flow to a management port (by
// the port it was addressed to or the port it reaches), each once.
std::vector<Session> sessions(const std::optional<Session>& yours, const std::vector<conntrack::Flow>& flows,
                              const std::vector<uint16_t>& management_ports);

// E2011: a port forward that takes a port on which a service of the
// gateway listens, unless the forward says allow_capture.
void captures(const ir::Ir& ir, const std::vector<kernel::Listener>& listeners, base::Diagnostics& d);

// What the next ruleset (natc's next table beside the other tables)
// would do to each session: "this change would cut ..." lines, none when
// every session keeps working and can be opened again.
struct Facts {
  cotenancy::Ruleset next;
  std::map<base::Addr, kernel::RouteTo> routes;
};
std::vector<std::string> cuts(const std::vector<Session>& sessions, const Facts& f, const plan::Plan& p);
// The addresses cuts() needs routes for.
std::vector<base::Addr> addresses(const std::vector<Session>& sessions);

}  // namespace natc::guard
