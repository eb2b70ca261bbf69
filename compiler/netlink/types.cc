#include "netlink/types.h"

#include <linux/netfilter.h>

namespace natc::netlink {

uint32_t addr_len(nft::Family fam) { return fam == nft::Family::V4 ? 4 : 16; }

uint32_t addr_offset(nft::Family fam, bool source) {
  if (fam == nft::Family::V4) return source ? 12 : 16;
  return source ? 8 : 24;
}

uint32_t field_len(nft::Field f, nft::Family fam) {
  switch (f) {
    case nft::Field::Saddr:
    case nft::Field::Daddr: return addr_len(fam);
    case nft::Field::L4Proto: return 1;
    case nft::Field::Dport:
    case nft::Field::Sport: return 2;
  }
  return 0;
}

static uint32_t type_id(nft::Field f, nft::Family fam) {
  switch (f) {
    case nft::Field::Saddr:
    case nft::Field::Daddr: return fam == nft::Family::V4 ? kTypeIpAddr : kTypeIp6Addr;
    case nft::Field::L4Proto: return kTypeInetProto;
    case nft::Field::Dport:
    case nft::Field::Sport: return kTypeInetService;
  }
  return 0;
}

uint32_t key_type(const std::vector<nft::Field>& key, nft::Family fam) {
  uint32_t t = 0;
  for (nft::Field f : key) t = t << kTypeBits | type_id(f, fam);
  return t;
}

uint32_t key_len(const std::vector<nft::Field>& key, nft::Family fam) {
  if (key.size() == 1) return field_len(key[0], fam);
  uint32_t n = 0;
  for (nft::Field f : key) n += (field_len(f, fam) + 3) & ~3u;
  return n;
}

uint32_t data_type_id(const std::vector<nft::Data>& data, nft::Family fam) {
  uint32_t t = 0;
  for (nft::Data d : data)
    t = t << kTypeBits |
        (d == nft::Data::Addr ? (fam == nft::Family::V4 ? kTypeIpAddr : kTypeIp6Addr) : kTypeInetService);
  return t;
}

uint32_t data_len(const std::vector<nft::Data>& data, nft::Family fam) {
  if (data.size() == 1) return data[0] == nft::Data::Addr ? addr_len(fam) : 2;
  uint32_t n = 0;
  for (nft::Data d : data) n += d == nft::Data::Addr ? addr_len(fam) : 4;
  return n;
}

uint32_t hook_number(nft::Hook h) {
  switch (h) {
    case nft::Hook::Prerouting:
    case nft::Hook::Raw: return NF_INET_PRE_ROUTING;
    case nft::Hook::Postrouting: return NF_INET_POST_ROUTING;
    case nft::Hook::Forward: return NF_INET_FORWARD;
    case nft::Hook::Output: return NF_INET_LOCAL_OUT;
  }
  return 0;
}

}  // namespace natc::netlink
