// The pure front end of every command: read -> parse -> lower -> check.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/diag.h"
#include "base/source.h"
#include "ir/ir.h"
#include "spec/spec.h"

namespace natc::frontend {

struct Frontend {
  base::SourceFile file{"", ""};
  base::Diagnostics diags;
  std::optional<spec::Spec> spec;
  ir::Ir ir;
  bool ok() const { return spec && diags.errors() == 0; }
  // Where the spec entry named `entry` is written; no position (the whole
  // file) when no entry has that name.
  base::Loc locate(std::string_view entry) const;
  // A diagnostic at that entry, in a list of its own (kernel stages report
  // one error and stop).
  base::Diagnostics at_entry(base::Code code, std::string_view entry, std::string message) const;
};

// Reads `path` and runs the front end on it; false (errno set) when the
// file cannot be read, every other problem is a diagnostic.
bool load_file(const std::string& path, Frontend* out);
// The same on text already in memory (a spec carried inside a plan file).
void load_text(std::string name, std::string text, Frontend* out);

}  // namespace natc::frontend
