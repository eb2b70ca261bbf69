// An nft ruleset file (`/etc/nftables.conf`, what `nft list ruleset`
// prints) read as the kernel would hold it once `nft -f` loaded it: the
// same expressions, registers and set elements that kernel/foreign.cc
// decodes from a dump, so that `natc import --from FILE` imports a file
// through the same code as the live ruleset, without root and without
// touching any kernel.
//
// It reads what NAT and forwarding rulesets are made of: tables, base and
// regular chains, named and anonymous sets, maps and verdict maps, the
// interface, address, port, protocol, ct state/status and fib matches,
// counter/log/limit, the verdicts and snat/dnat/masquerade/redirect with
// ranges, flags and maps; `define`, `include`, and the command forms
// (`add rule ...`). A rule with anything else is kept as a rule natc
// cannot read (import leaves it out with the reason and its line); a file
// that is no ruleset (an unclosed brace, an unknown command) is an error.
#pragma once

#include <map>
#include <string>

#include "cotenancy/ruleset.h"
#include "import/nft_lex.h"

namespace natc::imports {

struct NftText {
  cotenancy::Ruleset rules;                // rule handles count the file's rules from 1
  std::map<uint64_t, std::string> places;  // a rule's handle -> "nftables.conf:12"
};

// Throws nft_text::Error ("file:line:col: what").
NftText read_nft_text(const std::string& name, const std::string& text, const nft_text::IncludeReader& read = {});
// The file at `path` ("-": standard input, named "stdin"), with includes
// read from the disk (64 MiB of text at most in all); std::runtime_error
// when it cannot be read.
NftText read_nft_file(const std::string& path);

}  // namespace natc::imports
