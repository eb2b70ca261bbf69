#include <map>
#include <unordered_map>

#include "check/check.h"

namespace natc::check {
namespace {

bool sources_overlap(const ir::Forward& a, const ir::Forward& b) {
  if (a.allow_from.empty() || b.allow_from.empty()) return true;
  for (const auto& x : a.allow_from)
    for (const auto& y : b.allow_from)
      if (x.overlaps(y)) return true;
  return false;
}

bool collide(const ir::Forward& a, const ir::Forward& b) {
  if (a.destination && b.destination && *a.destination != *b.destination) return false;
  return interfaces_overlap(a.ingress, b.ingress) && sources_overlap(a, b);
}

}  // namespace

// Two forwards that can claim the same packet would make one map key point at
// two targets; the kernel takes whichever it finds first.
void duplicate_forwards(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags) {
  // Bucketed by family, protocol, port and destination, so that 100k
  // forwards on port 443 of distinct addresses stay linear.
  struct Bucket {
    std::vector<size_t> any_destination;
    std::map<ir::Addr, std::vector<size_t>> by_destination;
  };
  std::unordered_map<uint32_t, Bucket> buckets;
  for (size_t i = 0; i < ir.forwards.size(); ++i) {
    const ir::Forward& f = ir.forwards[i];
    auto clash_in = [&](const std::vector<size_t>& seen) -> const ir::Forward* {
      for (size_t j : seen)
        if (collide(f, ir.forwards[j])) return &ir.forwards[j];
      return nullptr;
    };
    for (const ir::PortMap& m : f.ports) {
      Bucket& b = buckets[uint32_t(f.family) << 24 | uint32_t(m.proto) << 16 | m.port];
      const ir::Forward* g = clash_in(b.any_destination);
      if (f.destination) {
        if (!g) g = clash_in(b.by_destination[*f.destination]);
      } else {
        for (auto it = b.by_destination.begin(); !g && it != b.by_destination.end(); ++it) g = clash_in(it->second);
      }
      if (g) {
        diags.report(base::Code::DuplicateForward, f.port_loc,
                     "port " + std::string(ir::proto_name(m.proto)) + "/" + std::to_string(m.port) +
                         " is forwarded twice: by '" + g->entry.name + "' and by '" + f.entry.name + "'",
                     "'" + g->entry.name + "' (" + spec::line_ref(spec.files, g->entry.loc) +
                         ") already forwards it; give one a different port, destination or allow_from");
        break;  // one report per forward is enough
      }
      (f.destination ? b.by_destination[*f.destination] : b.any_destination).push_back(i);
    }
  }
}

}  // namespace natc::check
