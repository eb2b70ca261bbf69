// natc's sysctl.d file.
#pragma once

#include <string>

#include "ir/ir.h"

namespace natc::sysctl {

inline constexpr std::string_view kFileName = "90-natc.conf";

// The file's content: one `key = value` per sysctl, each under a comment
// naming the spec entry that asks for it.
std::string render_conf(const ir::Ir& ir);

}  // namespace natc::sysctl
