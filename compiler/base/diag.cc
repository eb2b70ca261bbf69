#include "base/diag.h"

#include "base/text.h"

#include <algorithm>
#include <cctype>
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
  ++(code_severity(code) == Severity::Error ? errors_ : warnings_);
  if (kept_[code]++ >= kKeptPerCode) {
    ++dropped_[code];
    return;
  }
  if (message.size() > kMaxText) message = clip(message, kMaxText);
  if (help.size() > kMaxText) help = clip(help, kMaxText);
  list_.push_back({code, loc, std::move(message), std::move(help), std::max(width, 1u)});
}

std::optional<Code> code_named(std::string_view id) {
  for (size_t i = 0; i < std::size(kCodes); ++i)
    if (id.size() == kCodes[i].id.size() && std::toupper(static_cast<unsigned char>(id[0])) == kCodes[i].id[0] &&
        id.substr(1) == kCodes[i].id.substr(1))
      return static_cast<Code>(i);
  return std::nullopt;
}

void Diagnostics::forget(const std::set<Code>& codes) {
  std::erase_if(list_, [&](const Diagnostic& d) { return codes.contains(d.code); });
  for (Code c : codes) {
    size_t n = kept_.contains(c) ? kept_[c] : 0;
    (code_severity(c) == Severity::Error ? errors_ : warnings_) -= n;
    kept_.erase(c);
    dropped_.erase(c);
  }
}

void Diagnostics::merge(const Diagnostics& other) { merge(other, 0); }

void Diagnostics::merge(const Diagnostics& other, uint32_t lines) {
  for (const Diagnostic& d : other.list_)
    report(d.code, d.loc.line ? Loc{d.loc.line + lines, d.loc.col} : d.loc, d.message, d.help, d.width);
  for (const auto& [code, n] : other.dropped_) {
    (code_severity(code) == Severity::Error ? errors_ : warnings_) += n;
    kept_[code] += n;
    dropped_[code] += n;
  }
}

void Diagnostics::clamp(Loc last) {
  for (Diagnostic& d : list_)
    if (d.loc.line > last.line) d.loc = last;
}

void Diagnostics::sort() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) { return a.loc < b.loc; });
}

namespace {

// What a diagnostic shows of its line: at most kWindow columns around the
// column it points at, each character as it prints (tabs kept, so the caret
// lines up under them; controls escaped), and the caret under it.
constexpr size_t kWindow = 160;

std::string excerpt(std::string_view line, const Diagnostic& d, const std::string& num) {
  size_t col = d.loc.col ? d.loc.col - 1 : 0;  // a byte offset into the line
  size_t from = col > kWindow / 2 ? col - kWindow / 2 : 0;
  while (from > 0 && from < line.size() && (static_cast<unsigned char>(line[from]) >> 6) == 2) --from;
  size_t to = std::min(line.size(), from + kWindow);
  std::string shown = from ? "…" : "", lead = from ? " " : "";
  for (size_t i = from; i < to;) {
    size_t n = char_length(line, i);
    std::string c = line[i] == '\t' ? "\t" : one_line(line.substr(i, n));
    shown += c;
    // An escape takes its own width; any other character one column.
    if (i < col) lead += line[i] == '\t' ? "\t" : std::string(c[0] == '\\' ? c.size() : 1, ' ');
    i += n;
  }
  if (to < line.size()) shown += "…";
  size_t width = std::max<size_t>(1, std::min<size_t>(d.width, to > col ? to - col : 1));
  std::string pad(num.size(), ' ');
  return " " + num + " | " + shown + "\n " + pad + " | " + lead + "^" + std::string(width - 1, '~') + "\n";
}

}  // namespace

std::string render_text(const Diagnostics& diags, const SourceFile& file) {
  std::string out;
  std::string name = one_line(file.name());
  for (const Diagnostic& d : diags.all()) {
    SourceFile::Place at = file.place(d.loc.line);
    out += one_line(at.file);
    if (d.loc.line) out += ":" + std::to_string(at.line) + ":" + std::to_string(d.loc.col);
    out += ": ";
    out += severity_word(code_severity(d.code));
    out += "[" + std::string(code_id(d.code)) + "]: " + one_line(d.message) + "\n";
    std::string_view line = file.line(d.loc.line);
    if (d.loc.line && !line.empty()) out += excerpt(line, d, std::to_string(at.line));
    if (!d.help.empty()) out += "  = help: " + one_line(d.help) + "\n";
  }
  for (const auto& [code, n] : diags.dropped())
    out += name + ": ... and " + std::to_string(n) + " more " + std::string(code_id(code)) + "\n";
  return out;
}

std::string render_markdown(const Diagnostics& diags, const SourceFile& file) {
  if (diags.all().empty() && diags.dropped().empty()) return "";
  auto escaped = [](std::string_view text) {
    std::string out;
    for (char c : one_line(text)) {
      if (std::string_view("\\`*_[]<>|#~").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
    return out;
  };
  std::string out = "\n**" + summary(diags) + "**\n\n";
  for (const Diagnostic& d : diags.all()) {
    SourceFile::Place at = file.place(d.loc.line);
    out += "- " + escaped(at.file);
    if (d.loc.line) out += ":" + std::to_string(at.line) + ":" + std::to_string(d.loc.col);
    out += " " + std::string(severity_word(code_severity(d.code))) + " " + std::string(code_id(d.code)) + ": " +
           escaped(d.message);
    if (!d.help.empty()) out += " — " + escaped(d.help);
    out += "\n";
  }
  for (const auto& [code, n] : diags.dropped())
    out += "- ... and " + std::to_string(n) + " more " + std::string(code_id(code)) + "\n";
  return out;
}

nlohmann::json render_json(const Diagnostics& diags, const SourceFile& file) {
  nlohmann::json list = nlohmann::json::array();
  for (const Diagnostic& d : diags.all()) {
    SourceFile::Place at = file.place(d.loc.line);
    nlohmann::json j = {{"file", std::string(at.file)}, {"line", at.line},
                        {"column", d.loc.col},          {"severity", severity_word(code_severity(d.code))},
                        {"code", code_id(d.code)},      {"message", d.message}};
    if (!d.help.empty()) j["help"] = d.help;
    list.push_back(std::move(j));
  }
  nlohmann::json out = {{"diagnostics", std::move(list)}, {"errors", diags.errors()}, {"warnings", diags.warnings()}};
  for (const auto& [code, n] : diags.dropped()) out["not_shown"][std::string(code_id(code))] = n;
  return out;
}

std::string summary(const Diagnostics& diags) {
  return plural(diags.errors(), "error") + ", " + plural(diags.warnings(), "warning");
}

}  // namespace natc::base
