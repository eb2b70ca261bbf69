// How natc's fields map to nftables' kernel-side types and registers.
#pragma once

#include <cstdint>
#include <vector>

#include "nft/model.h"

namespace natc::netlink {

// nft's datatype ids (src/datatype.h): what `nft list` uses to print keys.
inline constexpr uint32_t kTypeIpAddr = 7;
inline constexpr uint32_t kTypeIp6Addr = 8;
inline constexpr uint32_t kTypeInetProto = 12;
inline constexpr uint32_t kTypeInetService = 13;
inline constexpr uint32_t kTypeBits = 6;  // concatenations pack ids 6 bits each

// The TCP header's flags byte, and the flags `tcp flags & (fin|syn|rst|ack)` keeps.
inline constexpr uint32_t kTcpFlagsOffset = 13;
inline constexpr uint8_t kTcpFlagsMask = 0x17;  // fin 0x01, syn 0x02, rst 0x04, ack 0x10
inline constexpr uint8_t kTcpSyn = 0x02;

uint32_t field_len(nft::Field f, nft::Family fam);  // bytes, unpadded
uint32_t addr_len(nft::Family fam);
uint32_t addr_offset(nft::Family fam, bool source);  // in the network header
uint32_t key_type(const std::vector<nft::Field>& key, nft::Family fam);
uint32_t key_len(const std::vector<nft::Field>& key, nft::Family fam);  // padded
uint32_t data_type_id(const std::vector<nft::Data>& data, nft::Family fam);
uint32_t data_len(const std::vector<nft::Data>& data, nft::Family fam);
uint32_t hook_number(nft::Hook h);

}  // namespace natc::netlink
