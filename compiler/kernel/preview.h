// natc's table as the kernel's messages would carry it, without a kernel:
// for reading a ruleset natc has not committed yet with the same decoders
// that read the kernel (the lockout guard's "what would the new ruleset
// do", and tests).
#pragma once

#include "cotenancy/ruleset.h"
#include "kernel/kernel.h"

namespace natc::kernel {

// The messages a dump of table inet natc would return if it held `t`.
Dump dump_of(const nft::Table& t, uint32_t genid = 0);
// The same, decoded for the packet evaluator.
cotenancy::Ruleset preview(const nft::Table& t);

}  // namespace natc::kernel
