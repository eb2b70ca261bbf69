#include "check/check.h"

namespace natc::check {

void run(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags) {
  families(spec, diags);
  interface_names(spec, diags);
  conntrack_values(spec, diags);
  forward_accept(ir, diags);
  duplicate_forwards(spec, ir, diags);
  subnet_overlap(ir, diags);
  pool_ranges(ir, diags);
  translations(ir, diags);
  ha(ir, diags);
  // Lints judge a spec that works; on a broken one they are noise.
  if (diags.errors() == 0) lints(spec, ir, diags), ha_lints(ir, diags);
  diags.sort();
}

bool interfaces_overlap(const ir::IfMatch& a, const ir::IfMatch& b) {
  using K = ir::IfMatch::Kind;
  if (a.kind == K::Any || b.kind == K::Any) return true;
  // "not docker0" meets every interface but docker0 itself.
  if (a.kind == K::IsNot && b.kind == K::IsNot) return true;
  if (a.kind == K::IsNot || b.kind == K::IsNot) return a.name != b.name;
  auto covers = [](const std::string& pattern, const std::string& name) {
    if (!pattern.empty() && pattern.back() == '*')
      return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    return pattern == name;
  };
  return covers(a.name, b.name) || covers(b.name, a.name);
}

}  // namespace natc::check
