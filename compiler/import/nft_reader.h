// The reader of nft ruleset files behind read_nft_text (import/nft_text.h):
// the file's commands, tables, chains and sets are read in nft_text.cc,
// its rules' statements in nft_rules.cc. Internal to import/.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "import/nft_text.h"
#include "import/nft_values.h"

namespace natc::imports::nft_text {

namespace ct = cotenancy;
using ct::Bytes;
using ct::Reg;

constexpr Reg kReg1 = 16, kReg2 = 32;
constexpr uint8_t kNfIpv4 = 2, kNfIpv6 = 10;

// A rule this reader cannot read; the rule is kept as one natc cannot express.
struct Unread {
  std::string what;
};

inline uint32_t round4(uint32_t n) { return (n + 3) / 4 * 4; }

class Cursor {
 public:
  explicit Cursor(std::vector<Token> t) : t_(std::move(t)) {}
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  bool eat(std::string_view w) {
    if (!peek().is(w)) return false;
    next();
    return true;
  }
  bool eat_punct(char c) {
    if (!peek().punct(c)) return false;
    next();
    return true;
  }
  void expect_punct(char c, std::string_view after) {
    if (!eat_punct(c)) throw Error(peek().at, std::string("expected '") + c + "' " + std::string(after));
  }
  // A word or a quoted string.
  std::string word(std::string_view what) {
    const Token& t = peek();
    if (t.kind != Token::Kind::Word && t.kind != Token::Kind::String)
      throw Error(t.at, "expected " + std::string(what));
    return next().text;
  }
  void skip_breaks() {
    while (peek().kind == Token::Kind::Newline || peek().punct(';')) next();
  }
  void skip_newlines() {
    while (peek().kind == Token::Kind::Newline) next();
  }
  const Token& last() const { return t_[i_ ? i_ - 1 : 0]; }
  size_t pos() const { return i_; }
  void seek(size_t p) { i_ = p; }
  // Past one statement and any braces it opens, to where it ends.
  void skip_statement() {
    int depth = 0;
    while (peek().kind != Token::Kind::End && (depth > 0 || !peek().ends_statement())) {
      if (peek().punct('{')) ++depth;
      if (peek().punct('}')) --depth;
      next();
    }
  }

 private:
  std::vector<Token> t_;
  size_t i_ = 0;
};

// A packet field a rule compares: how it is loaded, and what nft checks
// first (the protocol before a port, the family before an address in inet).
struct Field {
  Type type;
  ct::Expr load;
  std::optional<uint8_t> l4dep, nfdep;
};

inline ct::Expr at_reg(ct::Expr e, Reg r) {
  std::visit(
      [r](auto& x) {
        if constexpr (requires { x.dreg = r; }) x.dreg = r;
      },
      e);
  return e;
}

struct Elem {
  std::vector<Value> key, data;
  ct::Verdict verdict = ct::Verdict::Continue;
  std::string chain, comment;
};

struct Decl {  // a set's key and data types
  std::vector<Type> key, data;
  bool port_may_follow = false;  // an anonymous NAT map: `ADDR` or `ADDR . PORT`
};

class Reader {
 public:
  explicit Reader(std::vector<Token> t) : c_(std::move(t)) {}

  NftText run();

 private:
  struct Table {
    ct::Family family;
    std::string name;
  };

  void command();

  std::optional<ct::Family> family_word();
  Table table_name();

  void table(bool bare_ok);

  void add(bool insert);

  void flush();

  void remove();

  ct::Chain& find_chain(const Table& t, const std::string& name, const Place& at);

  void chain(const Table& t, const std::string& name, bool block_required);

  // `type nat hook prerouting [device D] priority dstnat`.
  void chain_type(ct::Chain& c);

  int32_t priority();

  void set(const Table& t, const std::string& name);

  void skip_block();

  static std::string key(const Table& t, const std::string& name);

  // `type ipv4_addr . inet_service : ipv4_addr` or `typeof ip daddr . tcp dport`.
  // False when a type is one natc does not read.
  bool set_type(Decl& d);

  void element_command(const Table& t, const std::string& name);

  // A named set's elements: one natc cannot read makes the file unreadable.
  std::vector<Elem> declared_elements(const Decl& d);

  // `{ KEY [. KEY] [: DATA [. DATA]], ... }`.
  std::vector<Elem> elements(const Decl& d);

  Elem element(const Decl& d);

  void element_data(const Decl& d, Elem& e, const std::string& first);

  static ct::Verdict verdict_of(const std::string& v);

  // `established,related` may come as several words with commas between.
  std::string bits_word(std::string w);

  static Value value(Type t, const std::string& w);

  static Bytes pad4(Bytes b);

  // The elements as the kernel's dump returns them: an interval set's
  // ranges as a start and an end after the last (nft adds an end at zero
  // first), a concatenation's ranges as a key and a key end.
  static void fill(ct::Set& s, const Decl& d, const std::vector<Elem>& els);

  void rule(const Table& t, ct::Chain& chain, bool insert);

  // Kept as a rule that may match anything and decide anything, so that
  // import leaves it out by name and nothing reads past it.
  void unread(ct::Rule& r, const std::string& what, size_t start);

  void statement(ct::Rule& r);

  // What follows counter, log, limit and quota: their options' words.
  void options(const std::string& w);

  // `meta mark set 1`, `ct mark set ...`, `mark set ...`: changes, no match.
  bool setter();

  std::optional<Field> field();
  std::vector<Field> fields();
  void load(ct::Rule& r, const std::vector<Field>& fs);
  void match(ct::Rule& r);
  void compare(ct::Rule& r, const Field& f, ct::CmpOp op, const std::string& text);
  std::string anonymous(const Decl& d, const std::vector<Elem>& els, bool vmap);
  std::string named(const std::string& ref, Decl* d);
  void nat(ct::Rule& r);
  void nat_map(ct::Rule& r, ct::NatAction a, const std::vector<Field>& keys);
  void nat_target(ct::Rule& r, ct::NatAction a, const std::string& text, const Place& at);
  void nat_values(ct::Rule& r, ct::NatAction a, const std::string& text, const Place& at);

  Cursor c_;
  NftText out_;
  Table table_{};
  uint64_t next_handle_ = 1;
  int anonymous_ = 0;
  std::map<std::string, Decl> decls_;
  std::set<std::string> unreadable_;
};

}  // namespace natc::imports::nft_text
