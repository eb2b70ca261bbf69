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

namespace {

// Puts back the first `done` values of `p`; best effort, the first error
// is the one to report.
void undo(const Plan& p, size_t done, Store& s) {
  while (done-- > 0) {
    if (p.changes[done].from.empty()) continue;
    try {
      s.write(p.changes[done].key, p.changes[done].from);
    } catch (const Error&) {
    }
  }
}

}  // namespace

void apply(const Plan& p, Store& s) {
  // Live values first, in plan order (ip_forward first), then the file. A
  // refused value or a file that cannot be written (no room, a read-only
  // mount, no directory) puts back the values already written: the live
  // sysctls and the file stay as they were, together.
  size_t done = 0;
  try {
    for (; done < p.changes.size(); ++done) s.write(p.changes[done].key, p.changes[done].to);
    if (p.write_file) s.write_file(p.content);
  } catch (const Error&) {
    undo(p, done, s);
    throw;
  }
}

}  // namespace natc::sysctl
