#include "plan/saved.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "plan/render.h"

namespace natc::plan {
namespace {

constexpr int kFormat = 2;

// FNV-1a over the plan's canonical JSON (nlohmann sorts keys).
std::string content_hash(nlohmann::json j) {
  j.erase("plan_hash");
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    h = (h ^ c) * 0x100000001b3ull;
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

class Checker {
 public:
  Checker(const base::SourceFile& f, const nlohmann::json& j, base::Diagnostics& d) : f_(f), j_(j), d_(d) {}

  std::optional<Saved> run() {
    if (!j_.contains("natc_plan")) {
      bad("natc_plan", "it has no \"natc_plan\"");
      return std::nullopt;
    }
    const nlohmann::json& format = j_["natc_plan"];
    if (!format.is_number_integer() || format.get<int64_t>() != kFormat) {
      bad("natc_plan", "this natc reads plan format " + std::to_string(kFormat), "make the plan again with this natc");
      return std::nullopt;
    }
    Saved s;
    s.spec = string("spec");
    s.spec_text = string("spec_text");
    s.genid = genid();
    s.live_hash = hash();
    sysctls(s);
    if (j_.contains("plan") && !j_["plan"].is_object()) bad("plan", "\"plan\" is not an object");
    if (d_.errors()) return std::nullopt;
    if (!j_.contains("plan_hash") || !j_["plan_hash"].is_string() || j_["plan_hash"] != content_hash(j_)) {
      bad("plan_hash", "its content does not match its hash: it was edited or damaged after natc wrote it");
      return std::nullopt;
    }
    return s;
  }

 private:
  void bad(const std::string& key, const std::string& msg, std::string help = "make the plan again with natc plan -o") {
    d_.report(base::Code::BadPlan, base::loc_of_key(f_.text(), key), "not a usable natc plan: " + msg, std::move(help));
  }

  std::string string(const std::string& key) {
    if (!j_.contains(key)) return bad(key, "it has no \"" + key + "\""), "";
    if (!j_[key].is_string()) return bad(key, "\"" + key + "\" is not a string"), "";
    return j_[key].get<std::string>();
  }

  uint32_t genid() {
    if (!j_.contains("genid")) return bad("genid", "it has no \"genid\""), 0;
    const auto& g = j_["genid"];
    if (!g.is_number_unsigned() || g.get<uint64_t>() > UINT32_MAX)
      return bad("genid", "\"genid\" is not a ruleset generation (a number below 2^32)"), 0;
    return uint32_t(g.get<uint64_t>());
  }

  void sysctls(Saved& s) {
    if (!j_.contains("sysctls") || !j_["sysctls"].is_object()) return bad("sysctls", "\"sysctls\" is not an object");
    for (const auto& [k, v] : j_["sysctls"].items()) {
      if (!v.is_string()) return bad("sysctls", "sysctl '" + k + "' is not a string");
      s.sysctls[k] = v.get<std::string>();
    }
    if (!j_.contains("sysctl_file")) return bad("sysctl_file", "it has no \"sysctl_file\"");
    const auto& f = j_["sysctl_file"];
    if (f.is_string())
      s.sysctl_file = f.get<std::string>();
    else if (!f.is_null())
      bad("sysctl_file", "\"sysctl_file\" is neither text nor null");
  }

  uint64_t hash() {
    if (!j_.contains("live_hash")) return bad("live_hash", "it has no \"live_hash\""), 0;
    const auto& h = j_["live_hash"];
    uint64_t v = 0;
    if (h.is_string()) {
      const std::string& s = h.get_ref<const std::string&>();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return v;
    }
    return bad("live_hash", "\"live_hash\" is not a string of digits below 2^64"), 0;
  }

  const base::SourceFile& f_;
  const nlohmann::json& j_;
  base::Diagnostics& d_;
};

}  // namespace

nlohmann::json to_json(const Saved& s, const Plan& p) {
  nlohmann::json j = {{"natc_plan", kFormat},
                      {"spec", s.spec},
                      {"spec_text", s.spec_text},
                      {"genid", s.genid},
                      {"live_hash", std::to_string(s.live_hash)},
                      {"sysctls", s.sysctls},
                      {"sysctl_file", s.sysctl_file ? nlohmann::json(*s.sysctl_file) : nlohmann::json(nullptr)},
                      {"plan", render_json(p)}};
  j["plan_hash"] = content_hash(j);
  return j;
}

std::vector<std::string> moved_since(const Saved& s, uint64_t live_hash, sysctl::Store& now) {
  std::vector<std::string> out;
  if (live_hash != s.live_hash) out.push_back("natc's table");
  for (const auto& [key, then] : s.sysctls) {
    auto v = now.value(key);
    if (v != then) out.push_back("sysctl " + key + " (" + then + ", now " + v.value_or("unreadable") + ")");
  }
  if (now.file() != s.sysctl_file) out.push_back("the sysctl.d file");
  return out;
}

Loaded read_saved(const base::SourceFile& file) {
  Loaded out;
  const std::string& text = file.text();
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') return out;
  // Only a text naming a plan's keys can be one (or a broken one): a JSON
  // spec of 100k forwards is not parsed a second time to find that out.
  bool named = text.find("\"natc_plan\"") != std::string::npos;
  if (!named && (text.find("\"spec_text\"") == std::string::npos || text.find("\"live_hash\"") == std::string::npos))
    return out;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Not JSON: a YAML spec may start with '{' too. One that names
    // natc_plan was meant as a plan, and is a broken one.
    if (named)
      out.diags.report(base::Code::BadPlan, base::loc_of_key(text, "natc_plan"),
                       "not a usable natc plan: it is not valid JSON", "make the plan again with natc plan -o");
    return out;
  }
  // natc_plan marks a plan; a file with a plan's other fields but not that
  // one is a damaged plan, and saying so beats reading it as a spec.
  if (!j.is_object() || !(j.contains("natc_plan") || (j.contains("spec_text") && j.contains("live_hash")))) return out;
  out.saved = Checker(file, j, out.diags).run();
  return out;
}

}  // namespace natc::plan
