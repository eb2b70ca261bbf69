#include "check/check.h"

namespace natc::check {

// The kernel's SNAT statement takes one address range; a pool's addresses
// (lowered sorted and merged) must therefore join into one.
void pool_ranges(const ir::Ir& ir, base::Diagnostics& d) {
  for (const ir::Pool& p : ir.pools) {
    if (p.addresses.size() <= 1) continue;
    d.report(base::Code::PoolNotContiguous, p.entry.loc,
             "SNAT pool '" + p.entry.name + "' is not one contiguous range (" + base::to_string(p.addresses[0]) +
                 " and " + base::to_string(p.addresses[1]) + ")",
             "the kernel's SNAT picks from a single range: split it into one pool per range");
  }
}

}  // namespace natc::check
