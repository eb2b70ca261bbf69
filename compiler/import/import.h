// `natc import`: the NAT a gateway already has (iptables-nft's tables,
// nft tables, Docker's chains, the conntrack sysctls) as a natc spec. Each
// entry names the rules it came from; what natc cannot say is listed with
// the reason and left where it is; the commands that would remove what was
// imported are printed, never run.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cotenancy/ruleset.h"
#include "kernel/kernel.h"

namespace natc::imports {

struct Input {
  const cotenancy::Ruleset& rules;
  std::map<std::string, std::string> sysctls;                // dotted key -> value, the readable ones
  std::optional<std::vector<kernel::Interface>> interfaces;  // for a masquerade of every source
  std::string origin;                                        // "the live ruleset", "network namespace gw"
  // Set for a ruleset read from a file (--from, even one without rules):
  // each rule's handle -> "file:line", which names it instead of `family
  // table chain handle N`.
  std::optional<std::map<uint64_t, std::string>> places;
};

struct Imported {
  std::string spec;                   // YAML, with comments
  std::vector<std::string> left_out;  // "ip nat PREROUTING handle 7: xt match 'recent'"
  std::vector<std::string> removal;   // nft commands that take the imported rules out of their tables
                                      // (from a file: the lines to take out of it)
  std::vector<std::string> notes;     // what was left alone on purpose (not NAT, Docker's ownership)
};

Imported import_ruleset(const Input& in);

// The sysctls import reads (the values of the keys it finds go in Input).
std::vector<std::string> sysctl_keys();

}  // namespace natc::imports
