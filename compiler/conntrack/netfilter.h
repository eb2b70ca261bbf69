// The kernel's conntrack table through libnetfilter_conntrack, in the
// network namespace natc runs in.
#pragma once

#include <memory>
#include <string>

#include "conntrack/flows.h"

namespace natc::conntrack {

std::unique_ptr<Table> netfilter_table(std::string stats_path = "/proc/net/stat/nf_conntrack");

}  // namespace natc::conntrack
