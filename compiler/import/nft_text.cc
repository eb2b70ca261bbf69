// nft ruleset files: the commands, tables, chains, sets and maps around
// the rules (nft_rules.cc reads those).
#include "import/nft_text.h"

#include <glob.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/source.h"

#include "import/nft_reader.h"

namespace natc::imports {
namespace nft_text {

NftText Reader::run() {
  for (c_.skip_breaks(); c_.peek().kind != Token::Kind::End; c_.skip_breaks()) command();
  return std::move(out_);
}

void Reader::command() {
  const Token& t = c_.peek();
  if (t.is("table")) return c_.next(), table(false);
  if (t.is("add") || t.is("create")) return c_.next(), add(false);
  if (t.is("insert")) return c_.next(), add(true);
  if (t.is("flush")) return c_.next(), flush();
  if (t.is("delete") || t.is("destroy")) return c_.next(), remove();
  throw Error(t.at, "'" + t.text + "' is not a command natc reads in a ruleset file");
}

std::optional<ct::Family> Reader::family_word() {
  const Token& t = c_.peek();
  if (t.is("ip")) return c_.next(), ct::Family::Ip;
  if (t.is("ip6")) return c_.next(), ct::Family::Ip6;
  if (t.is("inet")) return c_.next(), ct::Family::Inet;
  if (t.is("arp") || t.is("bridge") || t.is("netdev")) return c_.next(), ct::Family::Other;
  return std::nullopt;
}

Reader::Table Reader::table_name() {
  ct::Family f = family_word().value_or(ct::Family::Ip);  // nft's default family
  return {f, c_.word("a table name")};
}

void Reader::table(bool bare_ok) {
  Table t = table_name();
  if (bare_ok && !c_.peek().punct('{')) return;
  Place open = c_.peek().at;
  c_.expect_punct('{', "after the table's name");
  for (c_.skip_breaks(); !c_.eat_punct('}'); c_.skip_breaks()) {
    const Token& w = c_.peek();
    if (w.kind == Token::Kind::End)
      throw Error(w.at, "the '{' of table '" + t.name + "' (" + open.text() + ") is never closed");
    if (t.family == ct::Family::Other) {
      c_.skip_statement();
    } else if (w.is("chain")) {
      c_.next();
      chain(t, c_.word("a chain name"), true);
    } else if (w.is("set") || w.is("map")) {
      c_.next();
      set(t, c_.word("a set name"));
    } else {
      c_.skip_statement();  // flags, comment, counters, quotas, flowtables, ct helpers: not NAT
    }
  }
}

void Reader::add(bool insert) {
  const Token& what = c_.peek();
  if (what.is("table")) return c_.next(), table(true);
  if (what.is("chain")) {
    c_.next();
    Table t = table_name();
    return chain(t, c_.word("a chain name"), false);
  }
  if (what.is("rule")) {
    c_.next();
    Table t = table_name();
    std::string name = c_.word("a chain name");
    if (c_.eat("position") || c_.eat("handle") || c_.eat("index"))
      throw Error(c_.peek().at, "a rule placed by handle or index: natc reads rules in file order");
    if (t.family == ct::Family::Other) return c_.skip_statement();
    return rule(t, find_chain(t, name, what.at), insert);
  }
  if (what.is("set") || what.is("map")) {
    c_.next();
    Table t = table_name();
    return set(t, c_.word("a set name"));
  }
  if (what.is("element")) {
    c_.next();
    Table t = table_name();
    return element_command(t, c_.word("a set name"));
  }
  c_.skip_statement();  // counters, quotas, helpers, flowtables: not NAT
}

void Reader::flush() {
  if (c_.eat("ruleset")) return out_.rules = {}, decls_.clear();
  bool chain = c_.peek().is("chain"), table = c_.peek().is("table"), set = c_.peek().is("set") || c_.peek().is("map");
  if (!chain && !table && !set) return c_.skip_statement();
  c_.next();
  Table t = table_name();
  std::string name = table ? "" : c_.word("a name");
  for (ct::Chain& ch : out_.rules.chains)
    if (ch.family == t.family && ch.table == t.name && (table || (chain && ch.name == name))) ch.rules.clear();
  for (ct::Set& s : out_.rules.sets)
    if (s.family == t.family && s.table == t.name && (table || (set && s.name == name))) s.elements.clear();
}

void Reader::remove() {
  if (!c_.eat("table")) throw Error(c_.peek().at, "natc reads 'delete table' in a ruleset file, nothing else");
  Table t = table_name();
  auto& chains = out_.rules.chains;
  auto& sets = out_.rules.sets;
  chains.erase(std::remove_if(chains.begin(), chains.end(),
                              [&](const ct::Chain& c) { return c.family == t.family && c.table == t.name; }),
               chains.end());
  sets.erase(std::remove_if(sets.begin(), sets.end(),
                            [&](const ct::Set& s) { return s.family == t.family && s.table == t.name; }),
             sets.end());
}

ct::Chain& Reader::find_chain(const Table& t, const std::string& name, const Place& at) {
  for (ct::Chain& c : out_.rules.chains)
    if (c.family == t.family && c.table == t.name && c.name == name) return c;
  if (t.family == ct::Family::Other) throw Error(at, "not an ip, ip6 or inet table");
  out_.rules.chains.push_back({t.family, t.name, name});
  return out_.rules.chains.back();
}

void Reader::chain(const Table& t, const std::string& name, bool block_required) {
  if (t.family == ct::Family::Other) return c_.skip_statement();
  ct::Chain& c = find_chain(t, name, c_.peek().at);
  size_t index = size_t(&c - out_.rules.chains.data());
  if (!block_required && !c_.peek().punct('{')) return;
  Place open = c_.peek().at;
  c_.expect_punct('{', "after the chain's name");
  for (c_.skip_breaks(); !c_.eat_punct('}'); c_.skip_breaks()) {
    const Token& w = c_.peek();
    if (w.kind == Token::Kind::End)
      throw Error(w.at, "the '{' of chain '" + name + "' (" + open.text() + ") is never closed");
    if (w.is("type")) {
      chain_type(out_.rules.chains[index]);
    } else if (w.is("policy")) {
      c_.next();
      std::string p = c_.word("a policy");
      if (p != "accept" && p != "drop") throw Error(w.at, "policy '" + p + "' is neither accept nor drop");
      out_.rules.chains[index].policy_drop = p == "drop";
    } else if (w.is("comment") || w.is("devices") || w.is("device")) {
      c_.skip_statement();
    } else {
      rule(t, out_.rules.chains[index], false);
    }
  }
}

void Reader::chain_type(ct::Chain& c) {
  c_.next();
  std::string type = c_.word("a chain type");
  if (type != "filter" && type != "nat" && type != "route")
    throw Error(c_.peek().at, "chain type '" + type + "' is not filter, nat or route");
  c.type = type == "nat" ? ct::ChainType::Nat : type == "route" ? ct::ChainType::Route : ct::ChainType::Filter;
  if (!c_.eat("hook")) throw Error(c_.peek().at, "expected 'hook' after the chain type");
  std::string hook = c_.word("a hook");
  constexpr std::pair<std::string_view, ct::Hook> kHooks[] = {{"prerouting", ct::Hook::Prerouting},
                                                              {"input", ct::Hook::Input},
                                                              {"forward", ct::Hook::Forward},
                                                              {"output", ct::Hook::Output},
                                                              {"postrouting", ct::Hook::Postrouting}};
  c.hook = ct::Hook::Other;
  for (const auto& [n, h] : kHooks)
    if (n == hook) c.hook = h;
  if (c_.eat("device")) c_.word("a device");
  if (!c_.eat("priority")) throw Error(c_.peek().at, "expected 'priority' after the hook");
  c.priority = priority();
}

int32_t Reader::priority() {
  constexpr std::pair<std::string_view, int32_t> kNamed[] = {{"raw", -300}, {"mangle", -150}, {"dstnat", -100},
                                                             {"filter", 0}, {"security", 50}, {"srcnat", 100}};
  Place at = c_.peek().at;
  std::string text;
  while (!c_.peek().ends_statement()) text += c_.next().text;
  size_t op = text.find_first_of("+-", 1);
  std::string name = text.substr(0, op);
  long base = 0;
  bool found = false;
  for (const auto& [n, v] : kNamed)
    if (n == name) base = v, found = true;
  try {
    if (!found) return int32_t(std::stol(text));
    long delta = op == std::string::npos ? 0 : std::stol(text.substr(op + 1));
    return int32_t(text[op == std::string::npos ? 0 : op] == '-' ? base - delta : base + delta);
  } catch (const std::exception&) {
    throw Error(at, "priority '" + text + "' is neither a number nor a named priority");
  }
}

void Reader::set(const Table& t, const std::string& name) {
  if (t.family == ct::Family::Other) return c_.skip_statement();
  Place at = c_.peek().at;
  c_.expect_punct('{', "after the set's name");
  ct::Set s{t.family, t.name, name};
  Decl d;
  bool typed = false;
  for (c_.skip_breaks(); !c_.eat_punct('}'); c_.skip_breaks()) {
    const Token& w = c_.peek();
    if (w.kind == Token::Kind::End)
      throw Error(w.at, "the '{' of set '" + name + "' (" + at.text() + ") is never closed");
    if (w.is("type") || w.is("typeof")) {
      typed = set_type(d);
      if (!typed) return skip_block(), unreadable_.insert(key(t, name)), void();
    } else if (w.is("flags")) {
      c_.next();
      while (!c_.peek().ends_statement()) s.interval |= c_.next().text.find("interval") != std::string::npos;
    } else if (w.text.rfind("elements", 0) == 0) {
      if (!typed) throw Error(w.at, "elements before the set's type");
      c_.next();
      c_.eat("=");
      fill(s, d, declared_elements(d));
    } else {
      c_.skip_statement();
    }
  }
  if (!typed) throw Error(at, "set '" + name + "' has no type");
  decls_[key(t, name)] = d;
  s.map = !d.data.empty();
  s.vmap = s.map && d.data.front() == Type::Verdict;
  if (out_.rules.set(t.family, t.name, name)) return;  // declared twice: nft keeps one
  out_.rules.sets.push_back(std::move(s));
}

void Reader::skip_block() {
  for (int depth = 1; depth > 0 && c_.peek().kind != Token::Kind::End; c_.next()) {
    if (c_.peek().punct('{')) ++depth;
    if (c_.peek().punct('}')) --depth;
  }
}

std::string Reader::key(const Table& t, const std::string& name) {
  return std::string(ct::family_name(t.family)) + " " + t.name + " " + name;
}

bool Reader::set_type(Decl& d) {
  bool of = c_.next().is("typeof");
  std::vector<Type>* into = &d.key;
  while (!c_.peek().ends_statement()) {
    if (c_.eat(".")) continue;
    if (c_.eat(":")) {
      into = &d.data;
      continue;
    }
    std::optional<Type> t;
    if (of) {
      size_t p = c_.pos();
      try {
        if (auto f = field()) t = f->type;
      } catch (const Unread&) {
        c_.seek(p);
      }
      if (c_.eat("verdict")) t = Type::Verdict;
    } else {
      t = nft_text::type_named(c_.next().text);
    }
    if (!t) return false;
    into->push_back(*t);
  }
  return !d.key.empty();
}

void Reader::element_command(const Table& t, const std::string& name) {
  auto it = decls_.find(key(t, name));
  if (it == decls_.end()) throw Error(c_.peek().at, "elements of set '" + name + "', which is not declared");
  for (ct::Set& s : out_.rules.sets)
    if (s.family == t.family && s.table == t.name && s.name == name)
      return fill(s, it->second, declared_elements(it->second));
}

std::vector<Elem> Reader::declared_elements(const Decl& d) {
  try {
    return elements(d);
  } catch (const Unread& u) {
    throw Error(c_.last().at, u.what);
  }
}

std::vector<Elem> Reader::elements(const Decl& d) {
  c_.expect_punct('{', "before the elements");
  std::vector<Elem> out;
  // A set inside a set (`{ $LAN, 10.9.0.0/24 }` with LAN a set) is its
  // elements, as nft flattens it; `depth` counts the braces still open.
  for (int depth = 1; depth > 0;) {
    c_.skip_newlines();
    if (c_.peek().kind == Token::Kind::End) throw Error(c_.peek().at, "unclosed element list");
    if (c_.eat_punct('{')) {
      ++depth;
      continue;
    }
    if (!c_.eat_punct('}'))
      out.push_back(element(d));
    else if (--depth == 0)
      break;
    c_.skip_newlines();
    if (!c_.peek().punct('}')) c_.expect_punct(',', "between elements");
  }
  return out;
}

Elem Reader::element(const Decl& d) {
  Elem e;
  std::string pending;  // "8080:10.0.0.5": the data after a key's ':'
  for (size_t i = 0; i < d.key.size(); ++i) {
    if (i > 0 && !c_.eat(".")) throw Error(c_.peek().at, "expected '.' between the parts of a key");
    std::string w = c_.word("an element");
    if (size_t colon = w.find(':'); !d.data.empty() && i + 1 == d.key.size() && d.key[i] != Type::Addr6 &&
                                    colon != std::string::npos && colon + 1 < w.size())
      pending = w.substr(colon + 1), w = w.substr(0, colon);
    else if (colon != std::string::npos && colon + 1 == w.size() && d.key[i] != Type::Addr6)
      w.pop_back(), pending = ":";
    e.key.push_back(value(d.key[i], w));
  }
  if (!d.data.empty()) {
    if (const Token& t = c_.peek();
        pending.empty() && t.kind == Token::Kind::Word && t.text.size() > 1 && t.text[0] == ':')
      pending = c_.next().text.substr(1);
    if (pending.empty() && !c_.eat(":")) throw Error(c_.peek().at, "expected ':' before the element's value");
    if (pending == ":") pending.clear();
    element_data(d, e, pending);
  }
  while (!c_.peek().punct(',') && !c_.peek().punct('}') && c_.peek().kind != Token::Kind::End) {
    if (c_.eat("comment")) {
      e.comment = c_.word("a comment");
    } else {
      c_.next();  // timeout, expires, counter packets N bytes N
    }
  }
  return e;
}

void Reader::element_data(const Decl& d, Elem& e, const std::string& first) {
  if (d.data.front() == Type::Verdict) {
    std::string v = first.empty() ? c_.word("a verdict") : first;
    e.verdict = verdict_of(v);
    if (e.verdict == ct::Verdict::Jump || e.verdict == ct::Verdict::Goto) e.chain = c_.word("a chain name");
    if (e.verdict == ct::Verdict::Other) throw Error(c_.peek().at, "'" + v + "' is not a verdict");
    return;
  }
  for (size_t i = 0; i < d.data.size(); ++i) {
    if (i > 0 && !c_.eat(".")) throw Error(c_.peek().at, "expected '.' between the parts of a value");
    std::string w = i == 0 && !first.empty() ? first : c_.word("an element's value");
    e.data.push_back(value(d.data[i], w));
  }
  if (d.port_may_follow && c_.eat(".")) e.data.push_back(value(Type::Port, c_.word("a port")));
}

ct::Verdict Reader::verdict_of(const std::string& v) {
  if (v == "accept") return ct::Verdict::Accept;
  if (v == "drop") return ct::Verdict::Drop;
  if (v == "return") return ct::Verdict::Return;
  if (v == "continue") return ct::Verdict::Continue;
  if (v == "jump") return ct::Verdict::Jump;
  if (v == "goto") return ct::Verdict::Goto;
  return ct::Verdict::Other;
}

std::string Reader::bits_word(std::string w) {
  while (c_.peek().punct(',') && c_.peek(1).kind == Token::Kind::Word &&
         nft_text::parse_bits(Type::CtState, c_.peek(1).text))
    c_.next(), w += "," + c_.next().text;
  return w;
}

Value Reader::value(Type t, const std::string& w) {
  auto v = nft_text::parse_value(t, w);
  if (!v) throw Unread{"'" + w + "', which natc does not read as a value here"};
  return *v;
}

Bytes Reader::pad4(Bytes b) {
  b.resize(round4(uint32_t(b.size())), 0);
  return b;
}

void Reader::fill(ct::Set& s, const Decl& d, const std::vector<Elem>& els) {
  bool concat = d.key.size() > 1;
  if (concat)
    for (Type t : d.key) s.fields.push_back(uint8_t(nft_text::type_len(t)));
  auto cat = [&](const std::vector<Value>& vs, bool hi) {
    if (vs.size() == 1 && !concat) return hi ? vs[0].hi : vs[0].lo;
    Bytes out;
    for (const Value& v : vs) {
      Bytes p = pad4(hi ? v.hi : v.lo);
      out.insert(out.end(), p.begin(), p.end());
    }
    return out;
  };
  for (const Elem& e : els)  // anonymous sets: nft makes one an interval set when it needs to
    s.interval |= std::any_of(e.key.begin(), e.key.end(), [](const Value& v) { return v.range; });
  for (const Elem& e : els) {
    ct::Element el{cat(e.key, false)};
    if (!e.data.empty()) el.data = d.data.size() == 1 ? e.data[0].lo : cat(e.data, false);
    el.verdict = e.verdict, el.chain = e.chain, el.comment = e.comment;
    if (s.interval && concat) el.key_end = cat(e.key, true);
    if (s.interval && !concat && s.elements.empty() &&
        std::any_of(el.key.begin(), el.key.end(), [](uint8_t b) { return b; }))
      s.elements.push_back({Bytes(el.key.size(), 0), {}, true});
    s.elements.push_back(el);
    Bytes end = cat(e.key, true);
    if (s.interval && !concat && nft_text::plus_one(end)) s.elements.push_back({end, {}, true});
  }
}

}  // namespace nft_text

NftText read_nft_text(const std::string& name, const std::string& text, const nft_text::IncludeReader& read) {
  return nft_text::Reader(nft_text::tokenize(name, text, read)).run();
}

namespace {

// What an `include` names on the disk: the file, or a pattern's matches.
std::optional<std::vector<nft_text::Included>> read_included(const std::string& name) {
  std::vector<std::string> paths;
  if (name.find_first_of("*?[") == std::string::npos) {
    paths.push_back(name);
  } else {
    glob_t g{};
    int rc = glob(name.c_str(), 0, nullptr, &g);  // sorted, as nft reads them
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH) return std::nullopt;
  }
  std::vector<nft_text::Included> out;
  for (const std::string& p : paths) {
    std::string text;
    if (!base::read_file(p, &text, nft_text::kMaxTextBytes)) return std::nullopt;
    out.push_back({p, std::move(text)});
  }
  return out;
}

}  // namespace

NftText read_nft_file(const std::string& path) {
  std::string text;
  bool in = path == "-";  // `nft list ruleset | natc import --from -`
  if (!base::read_file(in ? "/dev/stdin" : path, &text, nft_text::kMaxTextBytes))
    throw std::runtime_error("cannot read '" + path + "': " + std::strerror(errno));
  return read_nft_text(in ? "stdin" : path, text, read_included);
}

}  // namespace natc::imports
