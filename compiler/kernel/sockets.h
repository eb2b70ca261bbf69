// Listening sockets through sock_diag netlink (what `ss -ltun` asks), each
// with the program that holds it (from /proc/PID/fd).
#pragma once

#include <vector>

#include "kernel/kernel.h"

namespace natc::kernel {

// Throws Error when sock_diag cannot be asked.
std::vector<Listener> listening_sockets();

}  // namespace natc::kernel
