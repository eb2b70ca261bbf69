// The netlink decoders on messages as a kernel (or a hostile snapshot)
// could send them: the first byte picks the list, the rest is the message.
#include <string>

#include "kernel/foreign.h"
#include "kernel/live_decode.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  natc::kernel::Dump d;
  std::vector<uint8_t> m(data + 1, data + size);
  std::vector<std::vector<uint8_t>>* lists[] = {&d.tables, &d.chains, &d.sets, &d.elements, &d.rules};
  lists[data[0] % 5]->push_back(m);
  try {
    natc::kernel::decode_live(d);
  } catch (const std::exception&) {
  }
  // The other owners' tables come from the kernel; decode the same bytes.
  natc::kernel::decode_foreign(d);
  return 0;
}
