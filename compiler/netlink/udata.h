// Userdata: the type-length-value blobs the kernel stores beside sets,
// elements and rules without reading them. nft keeps comments there; natc
// also keeps what a set is for and which pool a rule uses, so decoding
// recovers them without reading names or comments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace natc::netlink {

// natc's own types, far above libnftnl's (NFTNL_UDATA_*_COMMENT and
// friends): nft skips types it does not know, and so does natc.
inline constexpr uint8_t kUdataSetRole = 0xf0;   // one byte: nft::Role
inline constexpr uint8_t kUdataSetKey = 0xf1;    // one byte per key field: nft::Field
inline constexpr uint8_t kUdataRulePool = 0xf0;  // the pool's name

class UdataWriter {
 public:
  UdataWriter& put(uint8_t type, std::string_view value);
  // A comment as nft writes it: NUL-terminated.
  UdataWriter& put_comment(uint8_t type, std::string_view text);
  bool empty() const { return buf_.empty(); }
  const std::string& bytes() const { return buf_; }

 private:
  std::string buf_;
};

// type -> value; empty when the blob is malformed (a length past its end).
std::map<uint8_t, std::string> parse_udata(const void* data, uint32_t len);
// A comment's text: up to its NUL.
std::string comment_text(const std::string& value);

}  // namespace natc::netlink
