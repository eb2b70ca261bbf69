// Saved plans: the loader, and the spec a valid one carries.
#include <string>

#include "base/text.h"
#include "frontend/frontend.h"
#include "plan/saved.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  natc::base::SourceFile file("plan.json", std::string(reinterpret_cast<const char*>(data), size));
  natc::plan::Loaded l = natc::plan::read_saved(file);
  std::string out = natc::base::render_text(l.diags, file);
  if (!l.saved) return 0;
  natc::frontend::Frontend fe;
  natc::frontend::load_text(l.saved->spec, l.saved->spec_text, &fe);
  out += natc::base::render_text(fe.diags, fe.file);
  return 0;
}
