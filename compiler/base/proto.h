// Transport protocols: their IANA numbers and names, in one place for the
// spec, the ruleset, conntrack and every report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natc::base {

// The values are the IP protocol numbers the kernel uses.
enum class Proto : uint8_t { Tcp = 6, Udp = 17, Sctp = 132 };

std::string_view proto_name(Proto p);  // "tcp", "udp", "sctp"
// Any protocol number: its name when natc knows it, else the number.
std::string proto_name(uint8_t number);
std::optional<Proto> proto_from_name(std::string_view name);

}  // namespace natc::base
