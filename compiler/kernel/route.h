// Where the kernel would route an address: rtnetlink RTM_GETROUTE, the
// question `ip route get ADDR` asks.
#pragma once

#include <optional>
#include <string>

#include "base/net.h"

namespace natc::kernel {

struct RouteTo {
  std::string oif;     // output interface, "" when the route has none
  bool local = false;  // the address is one of this host's
};
// nullopt: unreachable or no route.
std::optional<RouteTo> route_to(const base::Addr& a);

}  // namespace natc::kernel
