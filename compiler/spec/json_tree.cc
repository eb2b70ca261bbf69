// A JSON spec as the same flat tree a YAML one becomes (yaml_tree.h), from
// nlohmann's SAX interface: machine-written specs (like Terraform's
// .tf.json) read with the same reader, schema and diagnostics. nlohmann
// reports no positions, so the input is read through an iterator that
// counts the bytes the lexer consumed, and each value's first byte is
// found back from where its token ended.
#include <iterator>
#include <nlohmann/json.hpp>

#include "spec/yaml_tree.h"

namespace natc::spec {
namespace {

// A pointer into the text that tells `*seen` how far the lexer has read.
struct Counting {
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  const char* p = nullptr;
  const char** seen = nullptr;
  reference operator*() const { return *p; }
  Counting& operator++() {
    *seen = ++p;
    return *this;
  }
  Counting operator++(int) {
    Counting old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const Counting& a, const Counting& b) { return a.p == b.p; }
};

bool number_char(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }
bool letter(char c) { return c >= 'a' && c <= 'z'; }

}  // namespace

class JsonBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  JsonBuilder(Tree& t, std::string_view text, const char** seen) : t_(t), text_(text), seen_(seen) {}

  bool null() override { return value(Kind::Null, literal_start(), ""); }
  bool boolean(bool) override { return token(literal_start()); }
  bool number_integer(number_integer_t) override { return token(number_start()); }
  bool number_unsigned(number_unsigned_t) override { return token(number_start()); }
  bool number_float(number_float_t, const string_t&) override { return token(number_start()); }
  bool string(string_t& s) override { return value(Kind::Scalar, string_start(), s); }
  bool binary(binary_t&) override { return false; }  // not in JSON text
  bool key(string_t& s) override { return value(Kind::Scalar, string_start(), s); }
  bool start_object(std::size_t) override { return open(Kind::Map); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Kind::Seq); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t at, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    size_t colon = what.find(": ", what.find("column"));
    error_ = {loc_of(at ? at - 1 : 0), "invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2))};
    return false;
  }

  std::optional<std::pair<base::Loc, std::string>> error_;

 private:
  size_t here() const { return size_t(*seen_ - text_.data()); }
  // Each token's first byte, from the byte after its last.
  size_t string_start() const {
    size_t i = here() - 1;  // the closing quote
    while (i > 0) {
      --i;
      if (text_[i] != '"') continue;
      size_t slashes = 0;
      while (i > slashes && text_[i - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0) return i;
    }
    return 0;
  }
  size_t number_start() const {
    size_t i = here();
    if (i > 0 && !number_char(text_[i - 1])) --i;  // the byte the lexer read past the number
    while (i > 0 && number_char(text_[i - 1])) --i;
    return i;
  }
  size_t literal_start() const {
    size_t i = here();
    while (i > 0 && letter(text_[i - 1])) --i;
    return i;
  }

  // Line and column of `byte`; bytes only ever move forward, so the count
  // goes on from the last one.
  base::Loc loc_of(size_t byte) {
    for (; pos_ < byte && pos_ < text_.size(); ++pos_) {
      if (text_[pos_] == '\n') ++line_, line_start_ = pos_ + 1;
    }
    return {line_, uint32_t(byte - line_start_ + 1)};
  }

  // A number or true/false: its bytes in the file, plain like YAML's.
  bool token(size_t start) {
    size_t len = 0;
    while (start + len < text_.size() && (number_char(text_[start + len]) || letter(text_[start + len]))) ++len;
    return value(Kind::Scalar, start, text_.substr(start, len), true);
  }
  bool value(Kind kind, size_t start, std::string_view text, bool plain = false) {
    auto i = uint32_t(t_.nodes_.size());
    t_.nodes_.push_back({kind, plain, loc_of(start)});
    Tree::Node& n = t_.nodes_.back();
    n.text = uint32_t(t_.arena_.size());
    n.len = uint32_t(text.size());
    t_.arena_ += text;
    link(i);
    return true;
  }
  bool open(Kind kind) {
    auto i = uint32_t(t_.nodes_.size());
    t_.nodes_.push_back({kind, false, loc_of(here() - 1)});
    link(i);
    stack_.push_back({i, Tree::kNone});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  void link(uint32_t i) {
    if (stack_.empty()) {
      if (t_.root_ == Tree::kNone) t_.root_ = i;
      return;
    }
    auto& [parent, last] = stack_.back();
    Tree::Node& p = t_.nodes_[parent];
    if (last == Tree::kNone)
      p.first = i;
    else
      t_.nodes_[last].next = i;
    last = i;
    ++p.len;
  }

  Tree& t_;
  std::string_view text_;
  const char** seen_;
  std::vector<std::pair<uint32_t, uint32_t>> stack_;  // open node, its last child
  size_t pos_ = 0, line_start_ = 0;
  uint32_t line_ = 1;
};

namespace {

// -?(0|[1-9][0-9]*), small enough for a 64-bit integer: JSON's own spelling.
bool whole_number(std::string_view s) {
  size_t digits = s.starts_with('-') ? 1 : 0;
  std::string_view d = s.substr(digits);
  return !d.empty() && d.size() <= 18 && d.find_first_not_of("0123456789") == d.npos && (d == "0" || d[0] != '0');
}

nlohmann::ordered_json node_json(const Tree& t, uint32_t i) {
  const Tree::Node& n = t.node(i);
  switch (n.kind) {
    case Kind::Null: return nullptr;
    case Kind::Scalar: {
      std::string_view s = t.scalar(i);
      if (n.plain && (s == "true" || s == "false")) return s == "true";
      if (n.plain && whole_number(s)) return nlohmann::ordered_json::parse(s);  // JSON reads it back as the same text
      return std::string(s);
    }
    case Kind::Seq: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (uint32_t c = n.first; c != Tree::kNone; c = t.node(c).next) out.push_back(node_json(t, c));
      return out;
    }
    case Kind::Map: {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (uint32_t k = n.first; k != Tree::kNone && t.node(k).next != Tree::kNone; k = t.node(t.node(k).next).next)
        out[std::string(t.scalar(k))] = node_json(t, t.node(k).next);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

std::string to_json(const Tree& t) {
  if (t.root() == Tree::kNone) return "null";
  // The spec's own key order; invalid UTF-8 cannot reach here (refused on reading).
  return node_json(t, t.root()).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Tree Tree::parse_json(const base::SourceFile& file, base::Diagnostics& diags) {
  Tree t;
  const std::string& text = file.text();
  if (base::Loc bad = find_invalid_utf8(text); bad.line) {
    diags.report(base::Code::NotUtf8, bad, "the spec is not UTF-8 text", "save the file as UTF-8");
    return t;
  }
  t.nodes_.reserve(text.size() / 12 + 16);
  t.arena_.reserve(text.size() / 2 + 16);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    report_empty_spec(diags);
    return t;
  }
  const char* seen = text.data();
  JsonBuilder b(t, text, &seen);
  Counting first{text.data(), &seen}, last{text.data() + text.size(), &seen};
  nlohmann::json::sax_parse(first, last, &b);
  if (b.error_) {
    diags.report(base::Code::YamlSyntax, b.error_->first, b.error_->second);
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
