// A plan for people and programs: Terraform-like text, JSON, and markdown
// for a pull-request comment.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "plan/plan.h"

namespace natc::plan {

// One line per change, then the summary line.
std::string render_text(const Plan& p);
nlohmann::json render_json(const Plan& p);
// A summary line and a table of changes.
std::string render_markdown(const Plan& p, const std::string& spec);
std::string summary(const Plan& p);  // "Plan: 1 to add, 2 to change, 0 to remove."

}  // namespace natc::plan
