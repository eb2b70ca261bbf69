#include "frontend/frontend.h"

#include "check/check.h"
#include "ir/lower.h"
#include "spec/reader.h"

namespace natc::frontend {

bool load_file(const std::string& path, Frontend* fe) {
  std::string text;
  if (!base::read_file(path, &text)) return false;
  load_text(path, std::move(text), fe);
  return true;
}

void load_text(std::string name, std::string text, Frontend* fe) {
  fe->file = base::SourceFile(std::move(name), std::move(text));
  fe->spec = spec::read_spec(fe->file, fe->diags);  // YAML -> spec, every error at file:line:col
  if (!fe->spec) return;
  fe->ir = ir::lower(*fe->spec, fe->diags);  // names resolved, ranges expanded
  check::run(*fe->spec, fe->ir, fe->diags);  // errors and lints
}

base::Loc Frontend::locate(std::string_view entry) const {
  auto find = [&](const auto& list) -> std::optional<base::Loc> {
    for (const auto& x : list)
      if (x.entry.name == entry) return x.entry.loc;
    return std::nullopt;
  };
  if (entry.empty()) return {};
  for (auto loc : {find(ir.forwards), find(ir.subnets), find(ir.pools), find(ir.rules), find(ir.sysctls)})
    if (loc) return *loc;
  return {};
}

base::Diagnostics Frontend::at_entry(base::Code code, std::string_view entry, std::string message) const {
  base::Diagnostics d;
  d.report(code, locate(entry), std::move(message));
  return d;
}

}  // namespace natc::frontend
