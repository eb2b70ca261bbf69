// natc compile SPEC: the ruleset as an `nft -f` script (or nft's JSON) and
// the sysctl.d file, without touching the kernel.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/common.h"
#include "nft/build.h"
#include "nft/render.h"
#include "spec/yaml_tree.h"
#include "sysctl/conf.h"

namespace natc::cli {
namespace {

struct Options {
  std::string spec;
  Format format = Format::Text;
  bool sysctl_only = false;
  WarningOptions w;
};

// The sysctl.d file as comment lines, so the script still feeds `nft -f`.
std::string as_comments(const std::string& conf) {
  std::string out = "\n# ---- " + std::string(sysctl::kFileName) + " ----\n";
  size_t start = 0;
  while (start < conf.size()) {
    size_t end = conf.find('\n', start);
    std::string_view line(conf.data() + start, (end == std::string::npos ? conf.size() : end) - start);
    out += line.empty() ? "#\n" : "# " + std::string(line) + "\n";
    start = end == std::string::npos ? conf.size() : end + 1;
  }
  return out;
}

int compile(const Options& o) {
  frontend::Frontend fe;
  if (!load_spec(o.spec, &fe, o.w)) {
    if (fe.file.name().empty()) return 1;  // unreadable: already said
    std::cerr << o.spec << ": " << base::summary(fe.diags) << "\n";
    return 1;
  }
  std::string conf = sysctl::render_conf(fe.ir);
  if (o.sysctl_only) {
    std::cout << conf;
    return 0;
  }
  if (o.format == Format::SpecJson) {
    // The spec itself, converted: the same reader takes it as a .json file
    // (a spec directory's files merged into one).
    base::Diagnostics ignored;
    spec::Tree t = spec::Tree::read(fe.file, ignored);
    std::cout << spec::to_json(t) << "\n";
    return 0;
  }
  nft::Table table = nft::build(fe.ir);
  if (o.format == Format::Json)
    std::cout << base::json_text(nft::render_json(table)) << "\n";
  else
    std::cout << nft::render_text(table) << as_comments(conf);
  return 0;
}

}  // namespace

void add_compile(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("compile", "print the ruleset as an nft -f script (or nft JSON) and the sysctl.d file");
  add_examples(*cmd, {{"natc compile natc.yaml", "the nft script and the sysctl.d file natc would write"},
                      {"natc compile natc.yaml --format json | nft -j -f -", "the same as nft JSON"},
                      {"natc compile natc.yaml --format spec-json > natc.json",
                       "the spec itself as JSON, which natc reads the same"}});
  cmd->add_option("SPEC", o->spec, "the spec file, or a spec directory")->required();
  add_format_option(*cmd, &o->format, {Format::Text, Format::Json, Format::SpecJson});
  add_warning_options(*cmd, &o->w);
  cmd->add_flag("--sysctl", o->sysctl_only, "print only the sysctl.d file");
  cmd->callback([o, exit_code] { *exit_code = compile(*o); });
}

}  // namespace natc::cli
