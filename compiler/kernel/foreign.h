// The tables natc shares the kernel with, read but never written.
#pragma once

#include "cotenancy/ruleset.h"
#include "kernel/kernel.h"

namespace natc::kernel {

// Decodes the messages of every other table: every chain, rule, set and element of every
// table but natc's. Expressions natc does not model come back as
// cotenancy::Unknown, never as an error.
cotenancy::Ruleset decode_foreign(const Dump& dump);

}  // namespace natc::kernel
