// natc import and natc explain over whole rulesets as a kernel (or a
// hostile one) could send them: records of [list byte][length, 2 bytes
// little-endian][message], decoded together, then imported and walked by a
// few packets. Any input ends in a spec or a diagnosis, in bounded time.
#include <string>

#include "explain/explain.h"
#include "import/import.h"
#include "kernel/foreign.h"
#include "targets.h"

namespace {

natc::kernel::Dump dump_of(const uint8_t* data, size_t size) {
  natc::kernel::Dump d;
  std::vector<std::vector<uint8_t>>* lists[] = {&d.tables, &d.chains, &d.sets, &d.elements, &d.rules};
  for (size_t at = 0; at + 3 <= size;) {
    size_t n = data[at + 1] | size_t(data[at + 2]) << 8;
    if (at + 3 + n > size) break;
    lists[data[at] % 5]->emplace_back(data + at + 3, data + at + 3 + n);
    at += 3 + n;
  }
  return d;
}

void walk(const natc::cotenancy::Ruleset& rs) {
  using natc::base::parse_addr;
  natc::explain::World w{rs, [](const natc::base::Addr&) { return std::optional<bool>(); },
                         [](const natc::base::Addr&) { return std::optional<std::string>("eth1"); },
                         [](const std::string&, natc::base::Family) { return std::optional<natc::base::Addr>(); }};
  for (auto [proto, port, iif] :
       {std::tuple<uint8_t, uint16_t, const char*>{6, 8080, "eth0"}, {17, 53, "eth1"}, {6, 22, "docker0"}}) {
    natc::explain::Packet p{{proto, *parse_addr("198.51.100.7"), *parse_addr("203.0.113.1"), 40000, port}, iif};
    natc::explain::run(w, p);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  natc::cotenancy::Ruleset rs = natc::kernel::decode_foreign(dump_of(data, size));
  natc::imports::import_ruleset({rs, {{"net.netfilter.nf_conntrack_max", "7"}}, std::nullopt, "a fuzz input"});
  walk(rs);
  return 0;
}
