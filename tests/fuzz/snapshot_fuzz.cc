// Snapshot files (`plan --state FILE`, read by CI from a repository): the
// JSON, the hex messages, the netlink decode, and a plan against it.
#include <nlohmann/json.hpp>
#include <string>

#include "kernel/live_decode.h"
#include "kernel/snapshot.h"
#include "nft/render.h"
#include "plan/plan.h"
#include "plan/render.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    natc::kernel::Snapshot s = natc::kernel::snapshot_from_json(j);
    natc::kernel::Live live = natc::kernel::decode_live(s.dump);
    if (auto t = natc::kernel::to_table(live)) {
      std::string text = natc::nft::render_text(*t);
      natc::plan::Plan p = natc::plan::diff(*t, live);
      text += natc::plan::render_text(p);
    }
  } catch (const std::exception&) {
    // Refused with a reason: what a broken snapshot must get.
  }
  return 0;
}
