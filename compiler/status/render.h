// A status report as text, as JSON, and in Prometheus' text exposition
// format (node_exporter's textfile collector).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "status/status.h"

namespace natc::status {

std::string render_text(const Report& r);
nlohmann::json render_json(const Report& r);
std::string render_prometheus(const Report& r);

}  // namespace natc::status
