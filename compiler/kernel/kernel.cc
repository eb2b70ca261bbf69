#include "kernel/kernel.h"

namespace natc::kernel {

std::optional<nft::Table> to_table(const Live& live) {
  nft::Table t;
  if (!live.other_objects.empty()) return std::nullopt;
  t.helpers = live.helpers;
  for (const auto& s : live.sets) {
    if (!s.known) return std::nullopt;
    t.sets.push_back(s.set);
  }
  for (const auto& c : live.chains) {
    if (!c.known) return std::nullopt;
    nft::Chain ch = c.chain;
    for (const auto& r : c.rules) {
      if (!r.rule) return std::nullopt;
      ch.rules.push_back(*r.rule);
    }
    t.chains.push_back(std::move(ch));
  }
  return t;
}

}  // namespace natc::kernel
