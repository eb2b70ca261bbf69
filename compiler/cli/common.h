// What every subcommand shares: running the pure front end on a spec file
// and printing its diagnostics.
#pragma once

#include <optional>
#include <string>

#include "base/diag.h"
#include "base/source.h"
#include "ir/ir.h"
#include "spec/spec.h"

namespace CLI {
class App;
}

namespace natc::cli {

enum class Format { Text, Json, Markdown };
// --format text|json, and markdown where a command can render it.
void add_format_option(CLI::App& cmd, Format* format, bool markdown = false);

struct Frontend {
  base::SourceFile file{"", ""};
  base::Diagnostics diags;
  std::optional<spec::Spec> spec;
  ir::Ir ir;
  bool ok() const { return spec && diags.errors() == 0; }
};

// read -> parse -> lower -> check. Problems become diagnostics; an
// unreadable file is the one failure reported as a plain message (false).
bool run_frontend(const std::string& path, Frontend* out);
// The same on text already in memory (a spec carried inside a plan file).
void run_frontend_text(std::string name, std::string text, Frontend* out);

// Text diagnostics go to stderr so stdout stays a clean script or document.
void print_diagnostics_text(const Frontend& fe);

// One entry per subcommand file; each returns the exit code it sets.
void add_validate(CLI::App& app, int* exit_code);
void add_compile(CLI::App& app, int* exit_code);
void add_plan(CLI::App& app, int* exit_code);
void add_apply(CLI::App& app, int* exit_code);
void add_snapshot(CLI::App& app, int* exit_code);
void add_destroy(CLI::App& app, int* exit_code);
void add_status(CLI::App& app, int* exit_code);
// Hidden: `natc __generate bash|man` writes the completion script or the
// man page from the command line's own definition, so neither can drift.
void add_generate(CLI::App& app, int* exit_code);

}  // namespace natc::cli
