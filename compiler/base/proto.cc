#include "base/proto.h"

namespace natc::base {
namespace {

struct Known {
  Proto proto;
  std::string_view name;
};
constexpr Known kKnown[] = {{Proto::Tcp, "tcp"}, {Proto::Udp, "udp"}, {Proto::Sctp, "sctp"}};

}  // namespace

std::string_view proto_name(Proto p) {
  for (const Known& k : kKnown)
    if (k.proto == p) return k.name;
  return "?";
}

std::string proto_name(uint8_t number) {
  for (const Known& k : kKnown)
    if (uint8_t(k.proto) == number) return std::string(k.name);
  return std::to_string(number);
}

std::optional<Proto> proto_from_name(std::string_view name) {
  for (const Known& k : kKnown)
    if (k.name == name) return k.proto;
  return std::nullopt;
}

}  // namespace natc::base
