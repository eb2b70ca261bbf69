#include "base/diag.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace natc::base {
namespace {

struct CodeInfo {
  std::string_view id;
  Severity severity;
};

constexpr CodeInfo kCodes[] = {
#define NATC_INFO(name, id, sev) {id, Severity::sev},
    NATC_CODES(NATC_INFO)
#undef NATC_INFO
};

std::string_view severity_word(Severity s) { return s == Severity::Error ? "error" : "warning"; }

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace

std::string_view code_id(Code code) { return kCodes[static_cast<size_t>(code)].id; }
Severity code_severity(Code code) { return kCodes[static_cast<size_t>(code)].severity; }

void Diagnostics::report(Code code, Loc loc, std::string message, std::string help, uint32_t width) {
  if (code_severity(code) == Severity::Error) ++errors_;
  list_.push_back({code, loc, std::move(message), std::move(help), std::max(width, 1u)});
}

void Diagnostics::sort() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) { return a.loc < b.loc; });
}

std::string render_text(const Diagnostics& diags, const SourceFile& file) {
  std::string out;
  for (const Diagnostic& d : diags.all()) {
    out += file.name();
    if (d.loc.line) out += ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col);
    out += ": ";
    out += severity_word(code_severity(d.code));
    out += "[" + std::string(code_id(d.code)) + "]: " + d.message + "\n";
    std::string_view line = file.line(d.loc.line);
    if (d.loc.line && !line.empty()) {
      std::string num = std::to_string(d.loc.line);
      std::string pad(num.size(), ' ');
      out += " " + num + " | " + std::string(line) + "\n";
      // Tabs stay tabs so the caret lines up under them.
      std::string lead;
      for (uint32_t i = 0; i + 1 < d.loc.col && i < line.size(); ++i) lead += line[i] == '\t' ? '\t' : ' ';
      out += " " + pad + " | ";
      out += lead + "^" + std::string(d.width - 1, '~') + "\n";
    }
    if (!d.help.empty()) out += "  = help: " + d.help + "\n";
  }
  return out;
}

nlohmann::json render_json(const Diagnostics& diags, const SourceFile& file) {
  nlohmann::json list = nlohmann::json::array();
  for (const Diagnostic& d : diags.all()) {
    nlohmann::json j = {{"file", file.name()},     {"line", d.loc.line},
                        {"column", d.loc.col},     {"severity", severity_word(code_severity(d.code))},
                        {"code", code_id(d.code)}, {"message", d.message}};
    if (!d.help.empty()) j["help"] = d.help;
    list.push_back(std::move(j));
  }
  return {{"diagnostics", std::move(list)}, {"errors", diags.errors()}, {"warnings", diags.warnings()}};
}

std::string summary(const Diagnostics& diags) {
  return plural(diags.errors(), "error") + ", " + plural(diags.warnings(), "warning");
}

}  // namespace natc::base
