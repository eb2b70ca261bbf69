// What a port forward or static NAT translated: the flows to delete when its target moves
// or it goes away. Plain data, shared by plan/ (which finds them) and
// conntrack/ (which deletes them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/net.h"

namespace natc::conntrack {

struct Translation {
  std::string entry;  // the spec entry, for messages
  uint8_t proto = 0;  // 0: every protocol and port (static NAT), by address alone
  uint16_t port = 0;  // as the flow arrived
  std::optional<base::Addr> destination;
  base::Addr target;  // the old target, answering in the reply direction
  uint16_t target_port = 0;
  // Elements that translate alike (one per allow_from range) are one.
  friend auto operator<=>(const Translation&, const Translation&) = default;
};

}  // namespace natc::conntrack
