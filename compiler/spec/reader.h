// YAML text -> Spec. Reports every problem of the file, not only the first.
#pragma once

#include <optional>

#include "base/diag.h"
#include "base/source.h"
#include "spec/cache.h"
#include "spec/spec.h"

namespace natc::spec {

// The spec, or nullopt when the file could not be read as a spec at all.
// A returned spec may still carry errors in `diags`; later stages check.
// `cache`: a spec directory's parse cache (spec/cache.h), if any.
std::optional<Spec> read_spec(const base::SourceFile& file, base::Diagnostics& diags, ParseCache* cache = nullptr);

// Identifiers: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters.
bool is_identifier(std::string_view s);

}  // namespace natc::spec
