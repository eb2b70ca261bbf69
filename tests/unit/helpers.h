// Shared by the unit tests: the front end on a spec held in a string, and
// the repository's example specs.
#pragma once

#include <string>

#include "base/diag.h"
#include "frontend/frontend.h"

namespace natc::test {

struct Result : frontend::Frontend {
  std::string codes() const {  // "E1005 W3002", in report order
    std::string out;
    for (const auto& d : diags.all()) out += (out.empty() ? "" : " ") + std::string(base::code_id(d.code));
    return out;
  }
};

inline Result front(const std::string& yaml, const std::string& name = "t.yaml") {
  Result r;
  frontend::load_text(name, yaml, &r);
  return r;
}

#ifdef NATC_SOURCE_ROOT
// The text of examples/NAME.yaml (or another file under the source root).
inline std::string source_file(const std::string& relative) {
  std::string text;
  if (!base::read_file(std::string(NATC_SOURCE_ROOT) + "/" + relative, &text))
    throw std::runtime_error("no " + relative);
  return text;
}
inline std::string example(const std::string& name) { return source_file("examples/" + name + ".yaml"); }

inline constexpr const char* kExamples[] = {"conntrack",    "docker",   "gateway",   "hairpin",     "masquerade",
                                            "port-forward", "redirect", "snat-pool", "static-snat", "static-nat",
                                            "nptv6",        "helpers",  "ha-pair"};
#endif

}  // namespace natc::test

#ifdef NATC_SOURCE_ROOT
#include <cstdlib>
#include <fstream>

namespace natc::test {

// Compares `got` with tests/golden/RELATIVE, or rewrites the file when
// NATC_UPDATE_GOLDEN is set (tools/update-golden sets it). Returns the
// first line that differs, "" when they agree.
inline std::string golden_mismatch(const std::string& relative, const std::string& got) {
  std::string path = std::string(NATC_SOURCE_ROOT) + "/tests/golden/" + relative;
  if (std::getenv("NATC_UPDATE_GOLDEN")) {
    std::ofstream(path, std::ios::binary) << got;
    return "";
  }
  std::string want;
  if (!base::read_file(path, &want)) return relative + ": no golden file (run tools/update-golden)";
  if (want == got) return "";
  size_t line = 1, i = 0;
  for (; i < want.size() && i < got.size() && want[i] == got[i]; ++i) line += want[i] == '\n';
  return relative + ":" + std::to_string(line) + " differs";
}

}  // namespace natc::test
#endif
