// IR -> nftables model. Port forwards become map lookups, subnets interval
// sets, so the per-packet cost does not grow with the spec.
#pragma once

#include "ir/ir.h"
#include "nft/model.h"

namespace natc::nft {

Table build(const ir::Ir& ir);

}  // namespace natc::nft
