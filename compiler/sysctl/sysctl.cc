#include "sysctl/sysctl.h"

namespace natc::sysctl {

std::string render_conf(const ir::Ir& ir) {
  std::string out =
      "# Written by natc from its spec; natc apply replaces this file and\n"
      "# natc destroy removes it. Edit the spec, not this file.\n";
  for (const ir::Sysctl& s : ir.sysctls)
    out += "\n# " + s.origin.name + "\n" + s.key + " = " + s.value + "\n";
  return out;
}

}  // namespace natc::sysctl
