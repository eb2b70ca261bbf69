// nftables model -> libnftnl objects, encoded the way nft itself encodes
// them, so that `nft list` prints natc's rules as natc renders them.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "netlink/handles.h"
#include "nft/model.h"

namespace natc::netlink {

TablePtr encode_table();
ChainPtr encode_chain(const nft::Chain& c);
// The set's definition only; elements go separately (encode_elements).
// `id` is the transaction-local id the kernel requires of every new set.
SetPtr encode_set(const nft::Set& s, uint32_t id);
// A set object carrying `elements` of `s` (for NEWSETELEM / DELSETELEM).
// Interval sets get their start/end element pairs. `nests`, if given,
// receives the spec entry of each element nest the message will carry.
SetPtr encode_elements(const nft::Set& s, std::span<const nft::Element> elements,
                       std::vector<std::string>* nests = nullptr);
RulePtr encode_rule(const std::string& chain, const nft::Rule& r);
// A ct helper object; `definition` false: its name alone, for a delete.
ObjPtr encode_helper(const nft::CtHelper& h, bool definition = true);

// Bytes a set element takes in a NEWSETELEM message, for splitting long
// element lists across messages (a netlink attribute holds 64 KiB).
size_t element_size(const nft::Set& s, const nft::Element& e);

}  // namespace natc::netlink
