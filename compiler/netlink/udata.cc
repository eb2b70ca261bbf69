#include "netlink/udata.h"

#include <algorithm>
#include <cstring>

namespace natc::netlink {

// The layout libnftnl's nftnl_udata_put writes: a type byte, a length
// byte, the value; nothing padded.
UdataWriter& UdataWriter::put(uint8_t type, std::string_view value) {
  size_t len = std::min<size_t>(value.size(), 255);
  buf_ += char(type);
  buf_ += char(uint8_t(len));
  buf_.append(value.data(), len);
  return *this;
}

UdataWriter& UdataWriter::put_comment(uint8_t type, std::string_view text) {
  if (text.empty()) return *this;
  std::string z(text.substr(0, 254));
  z += '\0';
  return put(type, z);
}

std::map<uint8_t, std::string> parse_udata(const void* data, uint32_t len) {
  std::map<uint8_t, std::string> out;
  auto* p = static_cast<const uint8_t*>(data);
  if (!p) return out;
  for (uint32_t at = 0; at < len;) {
    if (len - at < 2 || len - at - 2 < p[at + 1]) return {};
    out[p[at]] = std::string(reinterpret_cast<const char*>(p + at + 2), p[at + 1]);
    at += 2 + p[at + 1];
  }
  return out;
}

std::string comment_text(const std::string& value) { return value.substr(0, strnlen(value.c_str(), value.size())); }

}  // namespace natc::netlink
