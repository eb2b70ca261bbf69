// A received nf_tables message checked before libnftnl parses it. libnftnl
// trusts the length fields it finds and exits the process ("kernel ABI is
// broken") on an attribute of the wrong size; a snapshot file's messages
// are anybody's bytes.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace natc::netlink {

// "" when `m` is exactly one nf_tables message of type `msg_type`
// (NFT_MSG_NEW*), whose length field is its size and whose attributes,
// nested ones too, each lie inside their parent; otherwise why not.
std::string check_message(const std::vector<uint8_t>& m, uint16_t msg_type);

// The same, and every attribute of the size and shape nf_tables gives it
// (libnftnl exits the process over a wrong size, and writes past an array
// over an element attribute of too high a type). A well-formed message
// holding an expression natc has no schema for (log, limit, ...) is
// Foreign. What libnftnl must not see is `hidden`: a foreign expression's
// data, and any attribute of a type natc does not know.
struct Checked {
  enum class Verdict { Ok, Foreign, Malformed } verdict = Verdict::Ok;
  std::string why;             // Malformed
  std::vector<size_t> hidden;  // offsets of attributes to retype as 0 (UNSPEC)
};
Checked check_natc_message(const std::vector<uint8_t>& m, uint16_t msg_type);

// What libnftnl may read of a message: the message itself, or a copy with
// the hidden attributes retyped as 0, which every libnftnl parser skips
// (a foreign expression keeps its name); nothing when it is malformed.
class Readable {
 public:
  Readable(const std::vector<uint8_t>& m, uint16_t msg_type);
  explicit operator bool() const { return checked_.verdict != Checked::Verdict::Malformed; }
  const std::string& why() const { return checked_.why; }
  bool foreign() const { return checked_.verdict == Checked::Verdict::Foreign; }
  const nlmsghdr* header() const;

 private:
  Checked checked_;
  const std::vector<uint8_t>* m_;
  std::vector<uint8_t> copy_;
};

// A top-level attribute of a message check_message passed, read without
// libnftnl: a string (NUL-terminated) or a big-endian u64.
std::optional<std::string> message_string(const std::vector<uint8_t>& m, uint16_t attr);
std::optional<uint64_t> message_u64(const std::vector<uint8_t>& m, uint16_t attr);

}  // namespace natc::netlink
