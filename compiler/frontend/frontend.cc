#include "frontend/frontend.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "check/check.h"
#include "ir/lower.h"
#include "spec/reader.h"

namespace natc::frontend {

namespace {

// A NUL cannot start a YAML or JSON spec: what starts a bundle.
using std::string_view_literals::operator""sv;
constexpr std::string_view kBundle = "\0natc-spec-directory 1\n"sv;

bool is_spec_name(std::string_view n) {
  return !n.starts_with('.') && (n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json"));
}

// A bundle's files: "<name bytes> <text bytes>\n", the name, the text; each
// file in turn. nullopt when it is not one.
std::optional<std::vector<base::SourceFile::Part>> unbundle(std::string_view b) {
  std::vector<base::SourceFile::Part> parts;
  b.remove_prefix(kBundle.size());
  while (!b.empty()) {
    size_t nl = b.find('\n');
    if (nl == std::string_view::npos || nl > 40) return std::nullopt;
    unsigned long long name = 0, text = 0;
    if (std::sscanf(std::string(b.substr(0, nl)).c_str(), "%llu %llu", &name, &text) != 2) return std::nullopt;
    b.remove_prefix(nl + 1);
    if (name > b.size() || text > b.size() - name) return std::nullopt;
    parts.push_back({std::string(b.substr(0, name)), std::string(b.substr(name, text))});
    b.remove_prefix(name + text);
  }
  return parts;
}

void run(Frontend* fe, spec::ParseCache* cache = nullptr) {
  fe->spec = spec::read_spec(fe->file, fe->diags, cache);  // YAML -> spec, every error at file:line:col
  if (!fe->spec) return;
  fe->ir = ir::lower(*fe->spec, fe->diags);  // names resolved, ranges expanded
  check::run(*fe->spec, fe->ir, fe->diags);  // errors and lints
  if (cache && !fe->diags.errors()) cache->commit();
}

bool load_directory(std::string path, Frontend* fe, spec::ParseCache* cache) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  DIR* dir = opendir(path.c_str());
  if (!dir) return false;
  std::vector<std::string> names;
  while (const dirent* e = readdir(dir))
    if (is_spec_name(e->d_name)) names.emplace_back(e->d_name);
  closedir(dir);
  std::sort(names.begin(), names.end());
  std::vector<base::SourceFile::Part> parts;
  size_t total = 0;
  for (const auto& n : names) {
    std::string file = path + "/" + n, text;
    std::optional<base::SourceFile::Stamp> stamp;
    if (!base::read_file(file, &text, &stamp, base::kMaxFileBytes - total)) {
      if (errno == EISDIR) continue;  // a directory named like a spec
      return false;
    }
    total += text.size();
    parts.push_back({file, std::move(text), stamp});
  }
  load_parts(path, parts, fe, cache);
  return true;
}

}  // namespace

bool load_file(const std::string& path, Frontend* fe, spec::ParseCache* cache) {
  std::string text;
  if (base::read_file(path, &text)) {
    load_text(path, std::move(text), fe);
    return true;
  }
  return errno == EISDIR && load_directory(path, fe, cache);
}

void load_text(std::string name, std::string text, Frontend* fe) {
  if (text.starts_with(kBundle)) {
    if (auto parts = unbundle(text)) return load_parts(std::move(name), *parts, fe);
    fe->file = base::SourceFile(std::move(name), "");
    fe->diags.report(base::Code::YamlSyntax, {}, "a damaged spec directory bundle");
    return;
  }
  fe->file = base::SourceFile(std::move(name), std::move(text));
  run(fe);
}

void load_parts(std::string name, const std::vector<base::SourceFile::Part>& parts, Frontend* fe,
                spec::ParseCache* cache) {
  fe->file = base::SourceFile(std::move(name), parts);
  run(fe, cache);
}

std::string Frontend::spec_text() const {
  if (!file.is_directory()) return file.text();
  std::string out(kBundle);
  for (const auto& p : file.parts())
    out += std::to_string(p.name.size()) + " " + std::to_string(p.text.size()) + "\n" + p.name + p.text;
  return out;
}

base::Loc Frontend::locate(std::string_view entry) const {
  auto find = [&](const auto& list) -> std::optional<base::Loc> {
    for (const auto& x : list)
      if (x.entry.name == entry) return x.entry.loc;
    return std::nullopt;
  };
  if (entry.empty()) return {};
  for (auto loc : {find(ir.forwards), find(ir.subnets), find(ir.pools), find(ir.rules), find(ir.sysctls)})
    if (loc) return *loc;
  return {};
}

base::Diagnostics Frontend::at_entry(base::Code code, std::string_view entry, std::string message) const {
  base::Diagnostics d;
  d.report(code, locate(entry), std::move(message));
  return d;
}

}  // namespace natc::frontend
