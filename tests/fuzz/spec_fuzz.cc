// The spec reader and everything after it that needs no kernel: parse,
// lower, check, render diagnostics, build and render the ruleset.
#include <nlohmann/json.hpp>
#include <string>

#include "base/text.h"
#include "frontend/frontend.h"
#include "nft/build.h"
#include "nft/render.h"
#include "spec/yaml_tree.h"
#include "sysctl/conf.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  natc::frontend::Frontend fe;
  // An input that starts like JSON is read as a .json spec, the rest as YAML.
  bool json = size && (data[0] == '{' || data[0] == '[');
  std::string text(reinterpret_cast<const char*>(data), size);
  natc::frontend::load_text(json ? "fuzz.json" : "fuzz.yaml", text, &fe);
  std::string out = natc::base::render_text(fe.diags, fe.file);
  out += natc::base::json_text(natc::base::render_json(fe.diags, fe.file));
  if (!fe.ok()) return 0;
  natc::nft::Table t = natc::nft::build(fe.ir);
  std::string ruleset = natc::nft::render_text(t);
  out += ruleset + natc::base::json_text(natc::nft::render_json(t)) + natc::sysctl::render_conf(fe.ir);
  if (!json) {
    // A valid YAML spec (or spec directory bundle) converted to JSON
    // (compile --format spec-json) is the same spec: the same ruleset.
    natc::base::Diagnostics ignored;
    std::string converted =
        natc::spec::to_json(fe.file.is_directory() ? natc::spec::Tree::parse_directory(fe.file, ignored)
                                                   : natc::spec::Tree::parse(fe.file, ignored));
    natc::frontend::Frontend again;
    natc::frontend::load_text("fuzz.json", converted, &again);
    if (!again.ok() || natc::nft::render_text(natc::nft::build(again.ir)) != ruleset) __builtin_trap();
  }
  return 0;
}
