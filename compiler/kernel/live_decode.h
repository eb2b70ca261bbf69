// A dump's raw messages -> Live, through the same decoder for the kernel
// and for a snapshot file.
#pragma once

#include "kernel/kernel.h"

namespace natc::kernel {

// Throws Error (EPROTO) on a message libnftnl cannot parse or one missing a
// name: a kernel never sends one, a broken snapshot may.
Live decode_live(const Dump& dump);

}  // namespace natc::kernel
