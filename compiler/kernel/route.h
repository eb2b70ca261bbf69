// Where the kernel would route an address (rtnetlink RTM_GETROUTE, the
// question `ip route get ADDR` asks), and the host's interfaces.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/net.h"
#include "kernel/kernel.h"

namespace natc::kernel {

// Each address's route, over one socket; unreachable ones are left out.
std::map<base::Addr, RouteTo> routes_to(const std::vector<base::Addr>& addrs);
// Every interface and its global addresses (RTM_GETLINK, RTM_GETADDR
// dumps: `ip addr`). Throws Error when rtnetlink cannot be asked.
std::vector<Interface> interfaces();

}  // namespace natc::kernel
