// The pure front end of every command: read -> parse -> lower -> check.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"
#include "base/source.h"
#include "ir/ir.h"
#include "spec/cache.h"
#include "spec/spec.h"

namespace natc::frontend {

struct Frontend {
  base::SourceFile file{"", ""};
  base::Diagnostics diags;
  std::optional<spec::Spec> spec;
  ir::Ir ir;
  bool ok() const { return spec && diags.errors() == 0; }
  // The spec as history and saved plans keep it: the file's text, or a
  // spec directory's files in one bundle; load_text reads either back.
  std::string spec_text() const;
  // Where the spec entry named `entry` is written; no position (the whole
  // file) when no entry has that name.
  base::Loc locate(std::string_view entry) const;
  // A diagnostic at that entry, in a list of its own (kernel stages report
  // one error and stop).
  base::Diagnostics at_entry(base::Code code, std::string_view entry, std::string message) const;
};

// Reads `path` and runs the front end on it; false (errno set) when the
// file cannot be read, every other problem is a diagnostic. A directory is
// a spec directory: every *.yaml, *.yml and *.json file in it (names not
// starting with '.'), in name order, read as one spec.
// With `cache` (the state directory), a spec directory's files that did
// not change since they were last read are not parsed again.
bool load_file(const std::string& path, Frontend* out, spec::ParseCache* cache = nullptr);
// The same on text already in memory (a spec carried inside a plan file,
// or the history): a file's text or a directory's bundle.
void load_text(std::string name, std::string text, Frontend* out);
// A directory's files, already read.
void load_parts(std::string name, const std::vector<base::SourceFile::Part>& parts, Frontend* out,
                spec::ParseCache* cache = nullptr);

}  // namespace natc::frontend
