// The words of an nft ruleset file (`nft -f` syntax), with `include`
// followed and `define`d variables put in place, each word with the file
// and line it came from: what import/nft_text.cc reads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace natc::imports::nft_text {

struct Place {
  std::shared_ptr<const std::string> file;
  uint32_t line = 0, col = 0;
  std::string text() const;  // "nftables.conf:12"
};

// A file natc cannot read as a ruleset: "nftables.conf:12:5: unclosed '{'".
class Error : public std::runtime_error {
 public:
  Error(const Place& p, const std::string& what);
  std::string reason;  // the message without its place
};

struct Token {
  enum class Kind : uint8_t { Word, String, Punct, Newline, End } kind = Kind::End;
  std::string text;  // a Punct is one of { } ; ,
  Place at;
  bool is(std::string_view w) const { return kind == Kind::Word && text == w; }
  bool punct(char c) const { return kind == Kind::Punct && text.size() == 1 && text[0] == c; }
  // Where a statement ends: a newline, ';', '}' or the end of the input.
  bool ends_statement() const { return kind == Kind::Newline || kind == Kind::End || punct(';') || punct('}'); }
};

// The files an `include` names, by the name it gives (a relative one
// taken from the including file's directory, where nft would look in /etc
// or its -I directories: for /etc/nftables.conf the same place): the file,
// or a pattern's matches in order (none is no error, as for nft). nullopt
// when a file cannot be read.
struct Included {
  std::string path, text;
};
using IncludeReader = std::function<std::optional<std::vector<Included>>(const std::string& path)>;

// The most ruleset text read, the files an input includes with the rest.
inline constexpr size_t kMaxTextBytes = size_t{64} << 20;

// The whole input as tokens ending in End. Throws Error.
std::vector<Token> tokenize(const std::string& name, const std::string& text, const IncludeReader& read);

}  // namespace natc::imports::nft_text
