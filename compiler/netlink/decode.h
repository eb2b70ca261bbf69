// libnftnl objects (as the kernel dumps them) -> the nftables model.
//
// The decoder inverts natc's own encoder: a rule whose expressions are not
// a sequence natc writes decodes to nullopt ("unknown") instead of a guess,
// and the plan then replaces it.
#pragma once

#include <optional>
#include <string>

#include "netlink/handles.h"
#include "nft/model.h"

namespace natc::netlink {

std::optional<nft::Chain> decode_chain(const nftnl_chain* c);  // without rules
std::optional<nft::Set> decode_set(const nftnl_set* s);        // without elements
// Adds the elements held by `elems` (a dump of one set) to `set`.
bool decode_elements(const nftnl_set* elems, nft::Set& set);
std::optional<nft::Rule> decode_rule(const nftnl_rule* r);
// A ct helper object as natc writes it; nullopt for any other object.
std::optional<nft::CtHelper> decode_helper(nftnl_obj* o);

}  // namespace natc::netlink
