#include "sysctl/plan.h"

#include "sysctl/conf.h"

namespace natc::sysctl {

Plan plan(const ir::Ir& ir, Store& now) {
  Plan p;
  for (const ir::Sysctl& s : ir.sysctls) {
    auto value = now.value(s.key);
    if (value && *value == s.value) continue;  // already right: not written
    p.changes.push_back({s.key, value.value_or(""), s.value});
  }
  p.content = render_conf(ir);
  p.old_file = now.file();
  p.write_file = p.old_file != p.content;
  return p;
}

void apply(const Plan& p, Store& s) {
  // Live values first, in plan order (ip_forward first); on a refusal the
  // ones already written go back, and the file is not touched.
  size_t done = 0;
  try {
    for (; done < p.changes.size(); ++done) s.write(p.changes[done].key, p.changes[done].to);
  } catch (const Error&) {
    while (done-- > 0) {
      if (p.changes[done].from.empty()) continue;
      try {
        s.write(p.changes[done].key, p.changes[done].from);
      } catch (const Error&) {
        // Best effort: the first error is the one to report.
      }
    }
    throw;
  }
  if (p.write_file) s.write_file(p.content);
}

}  // namespace natc::sysctl
