#include "plan/render.h"

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "sysctl/conf.h"

namespace natc::plan {
namespace {

char mark(Action a) { return a == Action::Add ? '+' : a == Action::Change ? '~' : '-'; }

std::string flows(size_t n) { return std::to_string(n) + (n == 1 ? " flow" : " flows"); }

const std::string kFile(sysctl::kFileName);

// "~ file /etc/keepalived/conf.d/natc.conf (keepalived): rewritten"
std::string ha_line(const ha::File& f) {
  std::string what = f.remove ? "- file " : f.old ? "~ file " : "+ file ";
  std::string how = f.remove                   ? ""
                    : !f.old                   ? ": written"
                    : ha::is_natc_file(*f.old) ? ": rewritten"
                                               : ": replaced (it was not natc's)";
  return what + base::one_line(f.path) + " (" + std::string(ha::daemon_name(f.daemon)) + ")" + how;
}

}  // namespace

std::string summary(const Plan& p) {
  size_t add = 0, change = 0, remove = 0;
  for (const auto& c : p.changes) (c.action == Action::Add ? add : c.action == Action::Change ? change : remove)++;
  change += p.sysctl.changes.size() + (p.sysctl.write_file ? 1 : 0);
  remove += p.sysctl.remove_file ? 1 : 0;
  for (const auto& f : p.ha.files) (f.remove ? remove : f.old ? change : add)++;
  if (add + change + remove == 0) return "No changes. The kernel matches the spec.";
  return "Plan: " + std::to_string(add) + " to add, " + std::to_string(change) + " to change, " +
         std::to_string(remove) + " to remove.";
}

std::string render_text(const Plan& p) {
  std::string out;
  for (const auto& c : p.changes) {
    // Entries and details can hold other tools' comments: one line each.
    out += std::string("  ") + mark(c.action) + " " + base::one_line(c.entry) +
           (c.detail.empty() ? "" : ": " + base::one_line(c.detail));
    if (c.flows_reset) out += ", " + flows(*c.flows_reset) + " will be reset";
    out += "\n";
  }
  for (const auto& s : p.sysctl.changes)
    out += "  ~ sysctl " + s.key + ": " + (s.from.empty() ? "(unset)" : s.from) + " → " + s.to + "\n";
  if (p.sysctl.write_file) out += "  ~ file " + kFile + ": rewritten\n";
  if (p.sysctl.remove_file) out += "  - file " + kFile + "\n";
  for (const auto& f : p.ha.files) out += "  " + ha_line(f) + "\n";
  for (const auto& c : p.cuts) out += "  ! " + base::one_line(c) + "\n";
  return out + summary(p) + "\n";
}

std::string render_markdown(const Plan& p, const std::string& spec) {
  // Table cells must not break the table: pipes escaped, no newlines.
  auto cell = [](const std::string& s) {
    std::string out;
    for (char c : base::one_line(s)) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string out = "### natc plan for `" + base::one_line(spec) + "`\n\n**" + summary(p) + "**\n";
  if (p.empty()) return out;
  out += "\n| | entry | change |\n|---|---|---|\n";
  for (const auto& c : p.changes)
    out += std::string("| ") +
           (c.action == Action::Add      ? "➕"
            : c.action == Action::Change ? "✏️"
                                         : "➖") +
           " | `" + cell(c.entry) + "` | " + cell(c.detail) +
           (c.flows_reset ? " (" + std::to_string(*c.flows_reset) + " flows will be reset)" : "") + " |\n";
  for (const auto& s : p.sysctl.changes)
    out += "| ✏️ | `" + s.key + "` | " + (s.from.empty() ? "(unset)" : s.from) + " → " + s.to + " |\n";
  if (p.sysctl.write_file) out += "| ✏️ | `" + kFile + "` | rewritten |\n";
  for (const auto& f : p.ha.files) out += "| 📄 | `" + cell(f.path) + "` | " + cell(ha_line(f)) + " |\n";
  for (const auto& c : p.cuts) out += "| ❗ | lockout guard | " + cell(c) + " |\n";
  return out;
}

nlohmann::json render_json(const Plan& p) {
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : p.changes) {
    nlohmann::json j = {{"action", c.action == Action::Add      ? "add"
                                   : c.action == Action::Change ? "change"
                                                                : "remove"},
                        {"entry", c.entry},
                        {"detail", c.detail}};
    if (c.flows_reset) j["flows_reset"] = *c.flows_reset;
    changes.push_back(std::move(j));
  }
  nlohmann::json sysctls = nlohmann::json::array();
  for (const auto& s : p.sysctl.changes) sysctls.push_back({{"key", s.key}, {"from", s.from}, {"to", s.to}});
  nlohmann::json ha_files = nlohmann::json::array();
  for (const auto& f : p.ha.files)
    ha_files.push_back({{"path", f.path},
                        {"daemon", ha::daemon_name(f.daemon)},
                        {"action", f.remove ? "remove"
                                   : f.old  ? "write"
                                            : "create"}});
  return {{"changes", std::move(changes)},
          {"sysctls", std::move(sysctls)},
          {"sysctl_file", p.sysctl.write_file    ? "write"
                          : p.sysctl.remove_file ? "remove"
                                                 : "unchanged"},
          {"ha_files", ha_files},
          {"operations", p.batch.ops.size()},
          {"guard", p.cuts},
          {"summary", summary(p)}};
}

}  // namespace natc::plan
