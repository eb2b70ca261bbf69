#include "sysctl/store.h"

#include <charconv>

namespace natc::sysctl {

std::optional<uint64_t> Store::number(const std::string& key) {
  auto v = value(key);
  if (!v || v->empty()) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

}  // namespace natc::sysctl
