// Shared by the unit tests: run the front end on a spec held in a string.
#pragma once

#include <string>

#include "base/diag.h"
#include "check/check.h"
#include "ir/lower.h"
#include "spec/reader.h"

namespace natc::test {

struct Result {
  base::Diagnostics diags;
  std::optional<spec::Spec> spec;
  ir::Ir ir;
  std::string codes() const {  // "E1005 W3002", in report order
    std::string out;
    for (const auto& d : diags.all()) out += (out.empty() ? "" : " ") + std::string(base::code_id(d.code));
    return out;
  }
};

inline Result front(const std::string& yaml) {
  Result r;
  base::SourceFile file("t.yaml", yaml);
  r.spec = spec::read_spec(file, r.diags);
  if (!r.spec) return r;
  r.ir = ir::lower(*r.spec, r.diags);
  check::run(*r.spec, r.ir, r.diags);
  return r;
}

}  // namespace natc::test
