#include "cli/common.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "check/check.h"
#include "ir/lower.h"
#include "spec/reader.h"

namespace natc::cli {

void add_format_option(CLI::App& cmd, Format* format, bool markdown) {
  std::map<std::string, Format> formats{{"text", Format::Text}, {"json", Format::Json}};
  if (markdown) formats["markdown"] = Format::Markdown;
  cmd.add_option("--format", *format, markdown ? "output format: text, json or markdown" : "output format: text or json")
      ->transform(CLI::CheckedTransformer(formats));
}

bool run_frontend(const std::string& path, Frontend* fe) {
  std::string text;
  if (!base::read_file(path, &text)) {
    std::cerr << "natc: cannot read '" << path << "': " << std::strerror(errno) << "\n";
    return false;
  }
  run_frontend_text(path, std::move(text), fe);
  return true;
}

void run_frontend_text(std::string name, std::string text, Frontend* fe) {
  fe->file = base::SourceFile(std::move(name), std::move(text));
  fe->spec = spec::read_spec(fe->file, fe->diags);        // YAML -> spec, every error at file:line:col
  if (!fe->spec) return;
  fe->ir = ir::lower(*fe->spec, fe->diags);               // names resolved, ranges expanded
  check::run(*fe->spec, fe->ir, fe->diags);               // errors and lints
}

void print_diagnostics_text(const Frontend& fe) {
  std::cerr << base::render_text(fe.diags, fe.file);
}

}  // namespace natc::cli
