// Spec -> IR: aliases resolved, defaults filled, ranges expanded, pools
// resolved, Docker bridges lowered, sysctls derived.
#pragma once

#include <span>

#include "base/diag.h"
#include "ir/ir.h"
#include "spec/spec.h"

namespace natc::ir {

// Reports what cannot be resolved (an unknown pool); never fails outright.
Ir lower(const spec::Spec& spec, base::Diagnostics& diags);

// nf_conntrack sysctl name for a spec timeout key ("tcp_established" ->
// "nf_conntrack_tcp_timeout_established"), or "" when the kernel has none.
std::string timeout_sysctl(std::string_view key);
std::span<const std::string_view> timeout_keys();

}  // namespace natc::ir
