#include "import/nft_lex.h"

#include <filesystem>
#include <map>

namespace natc::imports::nft_text {
namespace {

// A hostile file is read in bounded time and memory: includes nest at most
// this deep, and variables expand to at most this many tokens in all (the
// text itself is bounded by kMaxTextBytes).
constexpr int kMaxIncludeDepth = 8;
constexpr size_t kMaxTokens = 1 << 20;

bool word_char(char c) {
  return !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '{' || c == '}' || c == ';' || c == ',' ||
           c == '"' || c == '#' || c == '\\');
}

class Lexer {
 public:
  Lexer(const IncludeReader& read) : read_(read) {}

  void file(const std::string& name, const std::string& text, int depth) {
    auto file = std::make_shared<const std::string>(name);
    bytes_ += text.size();
    if (bytes_ > kMaxTextBytes)
      throw Error(tokens_.empty() ? Place{file, 1, 1} : tokens_.back().at,
                  "more than " + std::to_string(kMaxTextBytes >> 20) + " MiB of ruleset text");
    size_t i = 0;
    uint32_t line = 1, col = 1;
    auto place = [&] { return Place{file, line, col}; };
    auto advance = [&](size_t n) { i += n, col += uint32_t(n); };
    while (i < text.size()) {
      char c = text[i];
      if (c == '\n') {
        push({Token::Kind::Newline, "", place()});
        ++i, ++line, col = 1;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        advance(1);
      } else if (c == '#') {
        while (i < text.size() && text[i] != '\n') advance(1);
      } else if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) {
        // A line continued: the newline is not a statement's end.
        while (i < text.size() && text[i] != '\n') advance(1);
        ++i, ++line, col = 1;
      } else if (c == '"') {
        Place at = place();
        size_t end = text.find_first_of("\"\n", i + 1);
        if (end == std::string::npos || text[end] != '"') throw Error(at, "unclosed string");
        push({Token::Kind::String, text.substr(i + 1, end - i - 1), at});
        advance(end + 1 - i);
      } else if (!word_char(c)) {
        push({Token::Kind::Punct, std::string(1, c), place()});
        advance(1);
      } else {
        Place at = place();
        size_t end = i;
        while (end < text.size() && word_char(text[end])) ++end;
        push({Token::Kind::Word, text.substr(i, end - i), at});
        advance(end - i);
      }
      include(name, depth);
    }
    push({Token::Kind::Newline, "", place()});
  }

  std::vector<Token> take() {
    tokens_.push_back({Token::Kind::End, "", tokens_.empty() ? Place{} : tokens_.back().at});
    return std::move(tokens_);
  }

 private:
  void push(Token t) {
    if (tokens_.size() >= kMaxTokens) throw Error(t.at, "more than " + std::to_string(kMaxTokens) + " words");
    tokens_.push_back(std::move(t));
  }

  // `include "FILE"` at the start of a statement: the file's words instead.
  void include(const std::string& name, int depth) {
    size_t n = tokens_.size();
    if (n < 2 || tokens_[n - 1].kind != Token::Kind::String || !tokens_[n - 2].is("include")) return;
    if (n >= 3 && tokens_[n - 3].kind != Token::Kind::Newline && !tokens_[n - 3].punct(';') &&
        !tokens_[n - 3].punct('{'))
      return;
    Token inc = tokens_[n - 1];
    tokens_.resize(n - 2);
    if (depth >= kMaxIncludeDepth) throw Error(inc.at, "includes nest deeper than " + std::to_string(kMaxIncludeDepth));
    std::filesystem::path p(inc.text);
    if (p.is_relative()) p = std::filesystem::path(name).parent_path() / p;
    std::optional<std::vector<Included>> files = read_ ? read_(p.string()) : std::nullopt;
    if (!files) throw Error(inc.at, "cannot read included file '" + p.string() + "'");
    for (const Included& f : *files) file(f.path, f.text, depth + 1);
  }

  const IncludeReader& read_;
  std::vector<Token> tokens_;
  size_t bytes_ = 0;
};

// `define NAME = VALUE` (and redefine, undefine) taken out of the tokens,
// `$NAME` replaced by the value. A word that starts with `$NAME` and goes
// on (`$server:80`) is the value's word with the rest appended.
class Expander {
 public:
  std::vector<Token> run(std::vector<Token> in) {
    std::vector<Token> out;
    for (size_t i = 0; i < in.size(); ++i) {
      bool start = out.empty() || out.back().kind == Token::Kind::Newline || out.back().punct(';');
      if (start && (in[i].is("define") || in[i].is("redefine"))) {
        i = define(in, i);
      } else if (start && in[i].is("undefine") && i + 1 < in.size()) {
        vars_.erase(in[++i].text);
      } else {
        substitute(in[i], out);
      }
    }
    return out;
  }

 private:
  size_t define(const std::vector<Token>& in, size_t i) {
    const Token& kw = in[i];
    if (i + 2 >= in.size() || in[i + 1].kind != Token::Kind::Word) throw Error(kw.at, "a define without a name");
    std::string name = in[i + 1].text;
    size_t j = i + 2;
    if (!in[j].is("=")) throw Error(in[j].at, "expected '=' after 'define " + name + "'");
    std::vector<Token> value;
    int depth = 0;
    for (++j; j < in.size(); ++j) {
      const Token& t = in[j];
      if (t.kind == Token::Kind::End || (depth == 0 && (t.kind == Token::Kind::Newline || t.punct(';')))) break;
      if (t.punct('{')) ++depth;
      if (t.punct('}')) --depth;
      if (t.kind != Token::Kind::Newline) substitute(t, value);
    }
    if (value.empty()) throw Error(kw.at, "'define " + name + "' has no value");
    vars_[name] = std::move(value);
    return j - 1;
  }

  void substitute(const Token& t, std::vector<Token>& out) {
    if (t.kind != Token::Kind::Word || t.text.size() < 2 || t.text[0] != '$') return add(out, t);
    size_t end = 1;
    while (end < t.text.size() && (std::isalnum(uint8_t(t.text[end])) || t.text[end] == '_')) ++end;
    std::string name = t.text.substr(1, end - 1), rest = t.text.substr(end);
    auto it = vars_.find(name);
    if (it == vars_.end()) throw Error(t.at, "undefined variable '$" + name + "'");
    if (!rest.empty() && it->second.size() != 1) throw Error(t.at, "'$" + name + "' is not one word");
    for (const Token& v : it->second) {
      Token copy = v;
      copy.at = t.at;
      if (!rest.empty()) copy.kind = Token::Kind::Word, copy.text += rest;
      add(out, copy);
    }
  }

  void add(std::vector<Token>& out, const Token& t) {
    if (++total_ > kMaxTokens)
      throw Error(t.at, "variables expand to more than " + std::to_string(kMaxTokens) + " words");
    out.push_back(t);
  }

  std::map<std::string, std::vector<Token>> vars_;
  size_t total_ = 0;
};

}  // namespace

std::string Place::text() const { return (file ? *file : std::string("<nft>")) + ":" + std::to_string(line); }

Error::Error(const Place& p, const std::string& what)
    : std::runtime_error(p.text() + ":" + std::to_string(p.col) + ": " + what), reason(what) {}

std::vector<Token> tokenize(const std::string& name, const std::string& text, const IncludeReader& read) {
  Lexer lx(read);
  lx.file(name, text, 0);
  return Expander().run(lx.take());
}

}  // namespace natc::imports::nft_text
