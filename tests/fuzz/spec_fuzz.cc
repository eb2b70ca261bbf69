// The spec reader and everything after it that needs no kernel: parse,
// lower, check, render diagnostics, build and render the ruleset.
#include <nlohmann/json.hpp>
#include <string>

#include "base/text.h"
#include "frontend/frontend.h"
#include "nft/build.h"
#include "nft/render.h"
#include "sysctl/conf.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  natc::frontend::Frontend fe;
  natc::frontend::load_text("fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size), &fe);
  std::string out = natc::base::render_text(fe.diags, fe.file);
  out += natc::base::json_text(natc::base::render_json(fe.diags, fe.file));
  if (!fe.ok()) return 0;
  natc::nft::Table t = natc::nft::build(fe.ir);
  out +=
      natc::nft::render_text(t) + natc::base::json_text(natc::nft::render_json(t)) + natc::sysctl::render_conf(fe.ir);
  return 0;
}
