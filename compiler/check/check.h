// Validation: errors that make a spec unusable, and lints (warnings) that an
// experienced operator would want pointed out. Each check is one function in
// its own file; all collect and keep going.
#pragma once

#include "base/diag.h"
#include "ir/ir.h"
#include "spec/spec.h"

namespace natc::check {

void run(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags);

// Errors.
void forward_accept(const ir::Ir& ir, base::Diagnostics& diags);
void duplicate_forwards(const ir::Ir& ir, base::Diagnostics& diags);
void families(const spec::Spec& spec, base::Diagnostics& diags);  // also range lengths
void interface_names(const spec::Spec& spec, base::Diagnostics& diags);
void conntrack_values(const spec::Spec& spec, base::Diagnostics& diags);
void subnet_overlap(const ir::Ir& ir, base::Diagnostics& diags);  // also the W3006 lint
void pool_ranges(const ir::Ir& ir, base::Diagnostics& diags);

// Warnings.
void lints(const spec::Spec& spec, const ir::Ir& ir, base::Diagnostics& diags);

// Whether two interface matches can select the same packet.
bool interfaces_overlap(const ir::IfMatch& a, const ir::IfMatch& b);

}  // namespace natc::check
