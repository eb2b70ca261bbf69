// The model as an `nft -f` script and as nft's JSON (`nft -j -f`). Both
// replace table inet natc atomically: create-if-missing, delete, recreate.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "nft/model.h"

namespace natc::nft {

std::string render_text(const Table& t);
nlohmann::json render_json(const Table& t);

// Pieces the plan printer and tests share.
std::string to_text(const Part& p);
std::string to_text(const Element& e);
std::string to_text(const Stmt& s);

}  // namespace natc::nft
