// Values of an nft ruleset file as the kernel holds them: the bytes of an
// address, a port, a protocol, an interface name, a connection state, as
// nft puts them in a comparison, a set element or a register.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cotenancy/ruleset.h"

namespace natc::imports::nft_text {

using cotenancy::Bytes;

// What a field or a set's key or data is.
// Number: a 32-bit value in host order (a mark), for the fields natc has no
// key for, so that import names them as it names them in the kernel.
enum class Type : uint8_t { Ifname, Proto, Addr4, Addr6, Port, CtState, CtStatus, FibType, NfProto, Number, Verdict };

// Bytes a value of `t` takes (a register holds it padded to 4).
uint32_t type_len(Type t);
// A set declaration's `type` word; nullopt for one natc does not read.
std::optional<Type> type_named(std::string_view word);

// One value: a single one (lo == hi), or a range or prefix (lo..hi).
struct Value {
  Bytes lo, hi;
  bool range = false;     // written as a range or a prefix
  int prefix = -1;        // written as ADDR/N
  bool wildcard = false;  // an interface name ending in '*': lo is its prefix
};

// Reads `text` as a value of `t`; nullopt when it is not one.
std::optional<Value> parse_value(Type t, std::string_view text);
// The flag words of a ct state/status value ("established,related").
std::optional<uint32_t> parse_bits(Type t, std::string_view text);
Bytes host32(uint32_t v);

// b + 1 in place; false when it overflowed (b was all ones).
bool plus_one(Bytes& b);

}  // namespace natc::imports::nft_text
