// natc's sysctl.d file and the keys natc manages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace natc::sysctl {

inline constexpr std::string_view kFileName = "90-natc.conf";

// The file's content: one `key = value` per sysctl, each under a comment
// naming the spec entry that asks for it.
std::string render_conf(const ir::Ir& ir);

// Keys a snapshot records: forwarding and every conntrack setting natc knows.
std::vector<std::string> relevant_keys();

}  // namespace natc::sysctl
