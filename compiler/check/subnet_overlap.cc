#include "check/check.h"

namespace natc::check {
namespace {

std::string translation(const ir::Ir& ir, const ir::Subnet& s) {
  switch (s.snat) {
    case ir::SnatKind::Masquerade: return "masquerade";
    case ir::SnatKind::To: return "snat to " + base::to_string(s.to);
    case ir::SnatKind::Pool: return "pool '" + (s.pool < ir.pools.size() ? ir.pools[s.pool].entry.name : "?") + "'";
    case ir::SnatKind::None: return "no translation";
  }
  return "";
}

// Subnets with the same egress and the same kind of translation share one
// interval set or map in the kernel, which cannot hold overlapping keys.
bool share_a_set(const ir::Subnet& a, const ir::Subnet& b) {
  return a.egress == b.egress && a.snat == b.snat && (a.snat != ir::SnatKind::Pool || a.pool == b.pool);
}

}  // namespace

void subnet_overlap(const ir::Ir& ir, base::Diagnostics& d) {
  for (size_t i = 0; i < ir.subnets.size(); ++i) {
    const ir::Subnet& b = ir.subnets[i];
    for (size_t j = 0; j < i; ++j) {
      const ir::Subnet& a = ir.subnets[j];
      if (!base::to_range(a.cidr).overlaps(base::to_range(b.cidr))) continue;
      if (!interfaces_overlap(a.egress, b.egress)) continue;
      std::string both = "subnets '" + a.entry.name + "' (" + base::to_string(a.cidr) + ") and '" + b.entry.name +
                         "' (" + base::to_string(b.cidr) + ") overlap";
      if (share_a_set(a, b)) {
        d.report(base::Code::SubnetClash, b.entry.loc, both + " on the same egress",
                 "one translation per address: merge them or make them disjoint");
      } else if (a.snat != ir::SnatKind::None && b.snat != ir::SnatKind::None &&
                 translation(ir, a) != translation(ir, b)) {
        d.report(base::Code::SubnetOverlap, b.entry.loc,
                 both + " with different translations (" + translation(ir, a) + ", " + translation(ir, b) + ")",
                 "addresses in both get whichever rule comes first; make the subnets disjoint");
      }
    }
  }
}

}  // namespace natc::check
