#include "spec/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <optional>
#include <sstream>
#include <unordered_map>

namespace natc::spec {

base::Loc find_invalid_utf8(std::string_view s) {
  uint32_t line = 1, col = 1;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n != 0 && i + n <= s.size() && !(n == 2 && c < 0xc2);
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && n == 3) {  // overlong forms and UTF-16 surrogates
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) return {line, col};
    if (c == '\n') ++line, col = 0;
    i += n;
    ++col;
  }
  return {};
}

// What stops a read early: where, and why.
struct Refused {
  base::Loc at;
  std::string why, help;
};

// Encodings natc does not read, and line endings YAML would misread: a
// file is refused before yaml-cpp sees it (it would take UTF-16 and read
// a CR-only file as one comment).
std::optional<Refused> unreadable(std::string_view s) {
  using namespace std::string_view_literals;
  auto starts = [&](std::string_view bom) { return s.substr(0, bom.size()) == bom; };
  std::string_view utf = starts("\xff\xfe\0\0"sv)     ? "UTF-32 (little-endian)"
                         : starts("\0\0\xfe\xff"sv)   ? "UTF-32 (big-endian)"
                         : starts("\xff\xfe"sv)       ? "UTF-16 (little-endian)"
                         : starts("\xfe\xff"sv)       ? "UTF-16 (big-endian)"
                         : s.size() >= 2 && s[0] == 0 ? "UTF-16 (big-endian) or UTF-32"
                         : s.size() >= 2 && s[1] == 0 ? "UTF-16 (little-endian) or UTF-32"
                                                      : "";
  if (!utf.empty())
    return Refused{{1, 1}, "the spec is " + std::string(utf) + "; natc reads UTF-8 only", "save the file as UTF-8"};
  uint32_t line = 1, col = 1;
  for (size_t i = 0; i < s.size(); ++i, ++col) {
    if (s[i] == '\0') return Refused{{line, col}, "the spec holds a NUL byte", "save the file as UTF-8 text"};
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n') && s.find('\n') == std::string_view::npos)
      return Refused{{line, col},
                     "the spec ends its lines with CR alone (classic Mac OS)",
                     "natc reads LF or CRLF line endings; convert the file"};
    if (s[i] == '\n') ++line, col = 0;
  }
  return std::nullopt;
}

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(Tree& t, size_t limit) : t_(t), limit_(limit) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override { finish(add(Kind::Null, m, anchor)); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    // The flat layout links siblings through `next`, so an alias gets a copy
    // of its anchor's node (children are shared, which is all readers need).
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      add(Kind::Null, m, 0);
      return;
    }
    base::Loc at{uint32_t(m.line + 1), uint32_t(m.column + 1)};
    for (const Open& o : stack_)
      if (o.node == it->second)
        throw Refused{at, "an alias inside the node it stands for would repeat forever",
                      "an anchor's own value cannot refer to it"};
    // Readers walk an alias's value as often as it is used: count what it
    // stands for, and stop a few aliases from standing for millions of
    // values (a YAML bomb).
    expanded_ += size_[it->second] - 1;
    if (expanded_ > limit_)
      throw Refused{at, "aliases here make the spec stand for more than " + std::to_string(limit_) + " values",
                    "a spec this size holds far fewer; repeat less through aliases"};
    Tree::Node copy = t_.nodes_[it->second];
    uint32_t i = add(copy.kind, m, 0);
    t_.nodes_[i].plain = copy.plain;
    t_.nodes_[i].text = copy.text;
    t_.nodes_[i].len = copy.len;
    t_.nodes_[i].first = copy.first;
    size_[i] = size_[it->second];
    finish(i);
  }
  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor, const std::string& value) override {
    uint32_t i = add(Kind::Scalar, m, anchor);
    Tree::Node& n = t_.nodes_[i];
    n.plain = tag == "?";
    n.text = static_cast<uint32_t>(t_.arena_.size());
    n.len = static_cast<uint32_t>(value.size());
    t_.arena_ += value;
    finish(i);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Kind::Seq, m, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(Kind::Map, m, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    uint32_t node;
    uint32_t last_child;
  };

  uint32_t add(Kind kind, const YAML::Mark& m, YAML::anchor_t anchor) {
    auto i = static_cast<uint32_t>(t_.nodes_.size());
    t_.nodes_.push_back({kind, false, {uint32_t(m.line + 1), uint32_t(m.column + 1)}});
    size_.push_back(1);
    ++expanded_;
    if (anchor) anchors_[anchor] = i;
    if (stack_.empty()) {
      if (t_.root_ == Tree::kNone) t_.root_ = i;
      return i;
    }
    Open& parent = stack_.back();
    Tree::Node& p = t_.nodes_[parent.node];
    if (parent.last_child == Tree::kNone)
      p.first = i;
    else
      t_.nodes_[parent.last_child].next = i;
    parent.last_child = i;
    ++p.len;
    return i;
  }
  void open(Kind kind, const YAML::Mark& m, YAML::anchor_t anchor) {
    stack_.push_back({add(kind, m, anchor), Tree::kNone});
  }
  void close() {
    uint32_t done = stack_.back().node;
    stack_.pop_back();
    finish(done);
  }
  // A node is complete: what it stands for counts in its parent's size.
  void finish(uint32_t i) {
    if (!stack_.empty()) size_[stack_.back().node] += size_[i];
  }

  Tree& t_;
  size_t limit_;
  std::vector<Open> stack_;
  std::unordered_map<YAML::anchor_t, uint32_t> anchors_;
  std::vector<uint64_t> size_;  // values each node stands for, aliases expanded
  uint64_t expanded_ = 0;       // values the whole document stands for
};

namespace {

// The first tab among the leading whitespace of a line up to `upto`: the
// likely cause of a syntax error there.
std::optional<base::Loc> tab_in_indentation(std::string_view text, uint32_t upto) {
  uint32_t line = 1;
  for (size_t i = 0; i < text.size() && line <= upto; ++line) {
    size_t end = text.find('\n', i);
    if (end == std::string_view::npos) end = text.size();
    for (size_t j = i; j < end && (text[j] == ' ' || text[j] == '\t'); ++j)
      if (text[j] == '\t') return base::Loc{line, uint32_t(j - i + 1)};
    i = end + 1;
  }
  return std::nullopt;
}

}  // namespace

void report_empty_spec(base::Diagnostics& diags) {
  diags.report(base::Code::EmptySpec, {1, 1}, "the spec is empty",
               "to remove everything natc manages, run 'natc destroy'");
}

Tree Tree::parse(const base::SourceFile& file, base::Diagnostics& diags) {
  Tree t;
  if (auto r = unreadable(file.text())) {
    diags.report(base::Code::NotUtf8, r->at, r->why, r->help);
    return t;
  }
  if (base::Loc bad = find_invalid_utf8(file.text()); bad.line) {
    diags.report(base::Code::NotUtf8, bad, "the spec is not UTF-8 text", "save the file as UTF-8");
    return t;
  }
  // Specs run about 8 bytes of text per node and half their bytes in
  // scalars: reserving up front avoids a doubling copy of a large arena.
  t.nodes_.reserve(file.text().size() / 8 + 16);
  t.arena_.reserve(file.text().size() / 2 + 16);
  std::istringstream in(file.text());
  try {
    YAML::Parser parser(in);
    // Honest specs stand for fewer values than they have bytes.
    size_t limit = 2 * file.text().size() + 100000;
    TreeBuilder builder(t, limit);
    if (parser.HandleNextDocument(builder)) {
      Tree extra;
      TreeBuilder probe(extra, limit);
      if (parser.HandleNextDocument(probe) && extra.root_ != kNone) {
        base::Loc at = extra.nodes_[extra.root_].loc;
        diags.report(base::Code::YamlSyntax, at, "a spec is one YAML document; this is a second one",
                     "remove the '---' that starts it, or split the file");
        t.root_ = kNone;
        return t;
      }
    }
  } catch (const Refused& r) {
    diags.report(base::Code::YamlSyntax, r.at, r.why, r.help);
    t.root_ = kNone;
    return t;
  } catch (const YAML::Exception& e) {
    // yaml-cpp's words for a tab in the indentation ("illegal map value",
    // at the colon) hide the cause; name it at the tab.
    if (auto tab = tab_in_indentation(file.text(), uint32_t(e.mark.line + 1))) {
      diags.report(base::Code::YamlSyntax, *tab, "a tab in the indentation: YAML indents with spaces only",
                   "replace the tabs at the start of the line with spaces");
    } else {
      diags.report(base::Code::YamlSyntax, {uint32_t(e.mark.line + 1), uint32_t(e.mark.column + 1)},
                   "invalid YAML: " + e.msg);
    }
    t.root_ = kNone;
    return t;
  }
  if (t.root_ == kNone || t.nodes_[t.root_].kind == Kind::Null) {
    report_empty_spec(diags);
    t.root_ = kNone;
  }
  return t;
}

}  // namespace natc::spec
