// The Kernel over netlink (libnftnl + libmnl), in the network namespace
// the process is in.
#pragma once

#include <memory>
#include <string>

#include "kernel/kernel.h"

namespace natc::kernel {

std::unique_ptr<Kernel> netlink_kernel();
// Enters /run/netns/NAME for the rest of the process.
void enter_netns(const std::string& name);

}  // namespace natc::kernel
