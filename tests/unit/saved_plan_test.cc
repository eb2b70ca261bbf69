// Saved plans: what natc writes reads back, and every broken field is an
// E4004 diagnostic at its line, never an exception.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "plan/render.h"
#include "plan/saved.h"
#include "sysctl/memory_store.h"

using namespace natc;

namespace {

plan::Saved sample() {
  return {"spec.yaml", "version: 1\n", 7, 1234567890123456789ull, {{"net.ipv4.ip_forward", "1"}}, "# natc\n"};
}

std::string saved_text() { return plan::to_json(sample(), plan::Plan{}).dump(2) + "\n"; }

plan::Loaded load(const std::string& text) { return plan::read_saved(base::SourceFile("plan.json", text)); }

std::string first_message(const plan::Loaded& l) { return l.diags.all().empty() ? "" : l.diags.all()[0].message; }

}  // namespace

TEST_CASE("a plan natc saved reads back field for field") {
  auto l = load(saved_text());
  REQUIRE(l.saved);
  CHECK(l.saved->spec == "spec.yaml");
  CHECK(l.saved->spec_text == "version: 1\n");
  CHECK(l.saved->genid == 7);
  CHECK(l.saved->live_hash == 1234567890123456789ull);
  CHECK(l.saved->sysctls == std::map<std::string, std::string>{{"net.ipv4.ip_forward", "1"}});
  CHECK(l.saved->sysctl_file == "# natc\n");
  CHECK(l.is_plan());
}

TEST_CASE("a spec is not a plan, even one written as a flow mapping") {
  CHECK_FALSE(load("version: 1\n").is_plan());
  CHECK_FALSE(load("{version: 1, subnets: []}\n").is_plan());
  CHECK_FALSE(load("{\"version\": 1}").is_plan());  // JSON, but no natc_plan
  CHECK_FALSE(load("").is_plan());
}

TEST_CASE("every field of a saved plan is checked, each failure a diagnostic at its key") {
  struct Case {
    const char* field;
    nlohmann::json value;
    const char* message;
  } cases[] = {
      {"live_hash", 5, "not a usable natc plan: \"live_hash\" is not a string of digits below 2^64"},
      {"live_hash", nullptr, "not a usable natc plan: \"live_hash\" is not a string of digits below 2^64"},
      {"live_hash", "12x", "not a usable natc plan: \"live_hash\" is not a string of digits below 2^64"},
      {"live_hash", "99999999999999999999999",
       "not a usable natc plan: \"live_hash\" is not a string of digits below 2^64"},
      {"live_hash", "", "not a usable natc plan: \"live_hash\" is not a string of digits below 2^64"},
      {"genid", -1, "not a usable natc plan: \"genid\" is not a ruleset generation (a number below 2^32)"},
      {"genid", 4294967296ull, "not a usable natc plan: \"genid\" is not a ruleset generation (a number below 2^32)"},
      {"genid", "7", "not a usable natc plan: \"genid\" is not a ruleset generation (a number below 2^32)"},
      {"spec", true, "not a usable natc plan: \"spec\" is not a string"},
      {"spec_text", nlohmann::json::array(), "not a usable natc plan: \"spec_text\" is not a string"},
      {"natc_plan", 1, "not a usable natc plan: this natc reads plan format 2"},
      {"natc_plan", "2", "not a usable natc plan: this natc reads plan format 2"},
      {"sysctls", "x", "not a usable natc plan: \"sysctls\" is not an object"},
      {"sysctls", {{"net.ipv4.ip_forward", 1}}, "not a usable natc plan: sysctl 'net.ipv4.ip_forward' is not a string"},
      {"sysctl_file", 3, "not a usable natc plan: \"sysctl_file\" is neither text nor null"},
      {"plan", 3, "not a usable natc plan: \"plan\" is not an object"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.field));
    CAPTURE(c.value.dump());
    auto j = nlohmann::json::parse(saved_text());
    j[c.field] = c.value;
    auto l = load(j.dump(2));
    CHECK_FALSE(l.saved);
    CHECK(l.is_plan());
    REQUIRE(l.diags.all().size() >= 1);
    CHECK(l.diags.all()[0].code == base::Code::BadPlan);
    CHECK(first_message(l) == c.message);
    CHECK(l.diags.all()[0].loc.line > 1);  // at the key, not the whole file
  }
}

TEST_CASE("a missing field, truncated JSON or no JSON at all is a broken plan, not a spec") {
  for (const char* key : {"spec", "spec_text", "genid", "live_hash"}) {
    auto j = nlohmann::json::parse(saved_text());
    j.erase(key);
    auto l = load(j.dump());
    CHECK_FALSE(l.saved);
    CHECK(first_message(l) == std::string("not a usable natc plan: it has no \"") + key + "\"");
  }
  std::string text = saved_text();
  for (size_t cut : {size_t(1), text.size() / 3, text.size() / 2, text.size() - 3}) {
    CAPTURE(cut);
    auto l = load(text.substr(0, cut));
    CHECK_FALSE(l.saved);
    if (text.substr(0, cut).find("\"natc_plan\"") != std::string::npos)
      CHECK(first_message(l) == "not a usable natc plan: it is not valid JSON");
  }
}

TEST_CASE("a plan edited after natc wrote it is refused, however valid the edit") {
  for (auto edit : std::vector<std::pair<const char*, nlohmann::json>>{{"spec_text", "version: 1\nsubnets: []\n"},
                                                                       {"genid", 8},
                                                                       {"live_hash", "1"},
                                                                       {"sysctls", nlohmann::json::object()},
                                                                       {"sysctl_file", nullptr},
                                                                       {"plan", nlohmann::json::object()}}) {
    CAPTURE(std::string(edit.first));
    auto j = nlohmann::json::parse(saved_text());
    j[edit.first] = edit.second;
    auto l = load(j.dump(2));
    CHECK_FALSE(l.saved);
    CHECK(first_message(l) ==
          "not a usable natc plan: its content does not match its hash: it was edited or damaged after natc wrote it");
  }
}

TEST_CASE("what moved since a plan was made is said in words") {
  plan::Saved s = sample();
  sysctl::MemoryStore same({{"net.ipv4.ip_forward", "1"}}, "# natc\n");
  CHECK(plan::moved_since(s, s.live_hash, same).empty());
  sysctl::MemoryStore moved({{"net.ipv4.ip_forward", "0"}}, std::nullopt);
  CHECK(plan::moved_since(s, 5, moved) ==
        std::vector<std::string>{"natc's table", "sysctl net.ipv4.ip_forward (1, now 0)", "the sysctl.d file"});
}
