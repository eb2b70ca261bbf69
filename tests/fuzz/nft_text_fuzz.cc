// natc import --from over any text: natc's reading of nft ruleset files
// (with an include that names itself again, to reach the nesting bound),
// then the import of what was read. Any input ends in a spec or an error
// at file:line:col, in bounded time and memory.
#include <string>

#include "import/import.h"
#include "import/nft_text.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto include = [&](const std::string& path) -> std::optional<std::vector<natc::imports::nft_text::Included>> {
    return std::vector<natc::imports::nft_text::Included>{{path, text}};
  };
  try {
    natc::imports::NftText t = natc::imports::read_nft_text("fuzz.nft", text, include);
    natc::imports::import_ruleset({t.rules, {}, std::nullopt, "a fuzz input", t.places});
  } catch (const natc::imports::nft_text::Error&) {
    // a file that is no ruleset: refused, which is the point
  }
  return 0;
}
