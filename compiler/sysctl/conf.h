// natc's sysctl.d file and the keys natc manages.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"
#include "sysctl/store.h"

namespace natc::sysctl {

inline constexpr std::string_view kFileName = "90-natc.conf";

// The file's content: one `key = value` per sysctl, each under a comment
// naming the spec entry that asks for it.
std::string render_conf(const ir::Ir& ir);

// Keys a snapshot records: forwarding and every conntrack setting natc knows.
std::vector<std::string> relevant_keys();
// Their values now, the read-only count left out: what a saved plan and a
// rollback compare and put back.
std::map<std::string, std::string> managed_values(Store& s);

}  // namespace natc::sysctl
