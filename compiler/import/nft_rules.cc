// The expressions each statement becomes are nft's own (nftables'
// src/netlink_linearize.c, as `nft --debug=netlink` shows them), so that
// what this reads equals what kernel/foreign.cc decodes from a dump of the
// same file loaded with `nft -f`: tests/kernel/import_test.py compares the
// two for every nft file of tests/import/.
#include <algorithm>

#include "import/nft_reader.h"

namespace natc::imports::nft_text {

// --- rules ---------------------------------------------------------------------

void Reader::rule(const Table& t, ct::Chain& chain, bool insert) {
  Place at = c_.peek().at;
  size_t start = c_.pos();
  ct::Rule r;
  r.handle = next_handle_++;
  table_ = t;
  try {
    while (!c_.peek().ends_statement()) statement(r);
  } catch (const Unread& u) {
    unread(r, u.what, start);
  } catch (const Error& e) {
    unread(r, e.reason, start);  // an unclosed brace shows again where the chain ends
  }
  if (r.exprs.empty() && r.comment.empty()) return --next_handle_, void();
  out_.places[r.handle] = at.text();
  if (insert)
    chain.rules.insert(chain.rules.begin(), std::move(r));
  else
    chain.rules.push_back(std::move(r));
}

void Reader::unread(ct::Rule& r, const std::string& what, size_t start) {
  r.exprs = {ct::Unknown{what, ct::Unknown::Role::Opaque}, ct::Unknown{what, ct::Unknown::Role::Decides}};
  c_.seek(start);
  c_.skip_statement();
}

void Reader::statement(ct::Rule& r) {
  const Token& t = c_.peek();
  if (t.kind != Token::Kind::Word) throw Unread{"'" + t.text + "' where a statement starts"};
  std::string w = t.text;
  using U = ct::Unknown;
  if (ct::Verdict v = verdict_of(w); v != ct::Verdict::Other) {
    c_.next();
    ct::Immediate i{std::nullopt, {}, v};
    if (v == ct::Verdict::Jump || v == ct::Verdict::Goto) i.chain = c_.word("a chain name");
    return r.exprs.push_back(i);
  }
  if (w == "counter" || w == "log" || w == "notrack") {
    c_.next();
    r.exprs.push_back(U{"expression '" + w + "'", U::Role::NoEffect});
    return options(w);
  }
  if (w == "limit" || w == "quota") {
    c_.next();
    r.exprs.push_back(U{"expression '" + w + "'", U::Role::Opaque});
    return options(w);
  }
  if (w == "reject") {
    c_.next();
    if (c_.eat("with")) c_.next(), c_.eat("type"), c_.next();
    return r.exprs.push_back(ct::Reject{});
  }
  if (w == "comment") return c_.next(), void(r.comment = c_.word("a comment"));
  if (w == "snat" || w == "dnat" || w == "masquerade" || w == "redirect") return nat(r);
  if (w == "xt" && (c_.peek(1).is("match") || c_.peek(1).is("target")))  // what nft lists of iptables-nft's xt
    throw Unread{"xt " + c_.peek(1).text + " '" + c_.peek(2).text + "'"};
  if (setter()) return r.exprs.push_back(U{"meta set", U::Role::NoEffect});
  match(r);
}

void Reader::options(const std::string& w) {
  static const std::set<std::string> kWords = {"packets", "bytes",           "prefix", "level", "group",
                                               "snaplen", "queue-threshold", "flags",  "rate",  "over",
                                               "burst",   "until",           "used",   "name"};
  while (!c_.peek().ends_statement()) {
    const Token& t = c_.peek();
    bool option = kWords.count(t.text) > 0;
    bool argument = t.kind == Token::Kind::String || (!t.text.empty() && std::isdigit(uint8_t(t.text[0]))) ||
                    (w == "log" && (t.is("all") || t.is("ip") || t.is("tcp") || t.is("skuid") || t.is("ether")));
    if (!option && !argument && !t.punct(',')) return;
    c_.next();
    if (t.is("level") || t.is("prefix") || t.is("name")) c_.next();
  }
}

bool Reader::setter() {
  for (size_t k = 1; k <= 2; ++k)
    if (c_.peek(k).is("set") && (c_.peek().is("meta") || c_.peek().is("ct") || c_.peek().is("mark"))) {
      for (size_t j = 0; j <= k; ++j) c_.next();
      c_.next();  // the value
      return true;
    }
  return false;
}

// --- matches -----------------------------------------------------------------

// Packet metadata natc has no key for but reads as a number, as the kernel
// holds it: import then leaves the rule out in the words it uses for the
// live ruleset's.
static bool numeric_meta(const std::string& key) {
  static const std::set<std::string> kKeys = {"mark",   "priority", "skuid",    "skgid",   "length",    "cpu",
                                              "cgroup", "iifgroup", "oifgroup", "secmark", "rtclassid", "nftrace"};
  return kKeys.count(key) > 0;
}

// The field the next words name, or nullopt (nothing read) when they name none.
std::optional<Field> Reader::field() {
  const Token& t = c_.peek();
  using M = ct::MetaKey;
  auto meta = [&](M k, Type ty) { return Field{ty, ct::Meta{k, 0}}; };
  std::string w = t.text, w2 = c_.peek(1).text;
  if (t.kind != Token::Kind::Word) return std::nullopt;
  if (w == "iifname" || w == "oifname" || w == "iif" || w == "oif")
    return c_.next(), meta(w[0] == 'i' ? M::IifName : M::OifName, Type::Ifname);
  if (w == "meta") {
    if (w2 == "iifname" || w2 == "iif") return c_.next(), c_.next(), meta(M::IifName, Type::Ifname);
    if (w2 == "oifname" || w2 == "oif") return c_.next(), c_.next(), meta(M::OifName, Type::Ifname);
    if (w2 == "l4proto") return c_.next(), c_.next(), meta(M::L4Proto, Type::Proto);
    if (w2 == "nfproto") return c_.next(), c_.next(), meta(M::NfProto, Type::NfProto);
    if (!numeric_meta(w2)) throw Unread{"a match on 'meta " + w2 + "'"};
    return c_.next(), c_.next(), meta(M::Other, Type::Number);
  }
  if (w == "mark") return c_.next(), meta(M::Other, Type::Number);
  bool v4 = w == "ip", v6 = w == "ip6";
  if (v4 || v6) {
    Field f{v4 ? Type::Addr4 : Type::Addr6, ct::Payload{ct::Base::Network, 0, v4 ? 4u : 16u, 0}};
    auto& p = std::get<ct::Payload>(f.load);
    if (w2 == "saddr" || w2 == "daddr")
      p.offset = v4 ? (w2 == "saddr" ? 12 : 16) : (w2 == "saddr" ? 8 : 24);
    else if ((v4 && w2 == "protocol") || (v6 && w2 == "nexthdr"))
      p.offset = v4 ? 9 : 6, p.len = 1, f.type = Type::Proto;
    else
      throw Unread{"a match on '" + w + " " + w2 + "'"};
    if (table_.family == ct::Family::Inet) f.nfdep = v4 ? kNfIpv4 : kNfIpv6;
    return c_.next(), c_.next(), f;
  }
  constexpr std::pair<std::string_view, uint8_t> kL4[] = {{"tcp", 6},   {"udp", 17},      {"sctp", 132},
                                                          {"dccp", 33}, {"udplite", 136}, {"th", 0}};
  for (const auto& [name, proto] : kL4)
    if (w == name) {
      if (w2 != "sport" && w2 != "dport") throw Unread{"a match on '" + w + " " + w2 + "'"};
      Field f{Type::Port, ct::Payload{ct::Base::Transport, w2 == "sport" ? 0u : 2u, 2, 0}};
      if (proto) f.l4dep = proto;
      return c_.next(), c_.next(), f;
    }
  if (w == "ct") {
    if (w2 == "mark" || w2 == "zone" || w2 == "secmark")
      return c_.next(), c_.next(), Field{Type::Number, ct::Ct{ct::CtKey::Other, 0}};
    if (w2 != "state" && w2 != "status") throw Unread{"a match on 'ct " + w2 + "'"};
    c_.next(), c_.next();
    return Field{w2 == "state" ? Type::CtState : Type::CtStatus,
                 ct::Ct{w2 == "state" ? ct::CtKey::State : ct::CtKey::Status, 0}};
  }
  if (w == "fib") {
    if ((w2 != "daddr" && w2 != "saddr") || !c_.peek(2).is("type")) throw Unread{"a fib lookup"};
    c_.next(), c_.next(), c_.next();
    return Field{Type::FibType, ct::FibAddrType{w2 == "daddr", 0}};
  }
  return std::nullopt;
}

std::vector<Field> Reader::fields() {
  std::vector<Field> out;
  do {
    auto f = field();
    if (!f) throw Unread{"an expression natc does not read ('" + c_.peek().text + "')"};
    out.push_back(*f);
  } while (c_.eat("."));
  return out;
}

// nft checks each field's protocol and family first, then loads the
// fields one after another into 32-bit registers from register 1 on.
void Reader::load(ct::Rule& r, const std::vector<Field>& fs) {
  auto dep = [&](ct::MetaKey k, uint8_t v) {
    r.exprs.push_back(ct::Meta{k, kReg1});
    r.exprs.push_back(ct::Cmp{kReg1, ct::CmpOp::Eq, Bytes{v}});
  };
  for (const Field& f : fs) {
    if (f.nfdep) dep(ct::MetaKey::NfProto, *f.nfdep);
    if (f.l4dep) dep(ct::MetaKey::L4Proto, *f.l4dep);
  }
  Reg at = kReg1;
  for (const Field& f : fs) {
    r.exprs.push_back(at_reg(f.load, at));
    at += round4(nft_text::type_len(f.type));
  }
}

void Reader::match(ct::Rule& r) {
  std::vector<Field> fs = fields();
  ct::CmpOp op = ct::CmpOp::Eq;
  constexpr std::pair<std::string_view, ct::CmpOp> kOps[] = {
      {"==", ct::CmpOp::Eq},  {"eq", ct::CmpOp::Eq},  {"!=", ct::CmpOp::Neq}, {"ne", ct::CmpOp::Neq},
      {"<", ct::CmpOp::Lt},   {"lt", ct::CmpOp::Lt},  {">", ct::CmpOp::Gt},   {"gt", ct::CmpOp::Gt},
      {"<=", ct::CmpOp::Lte}, {"le", ct::CmpOp::Lte}, {">=", ct::CmpOp::Gte}, {"ge", ct::CmpOp::Gte}};
  for (const auto& [w, o] : kOps)
    if (c_.eat(w)) {
      op = o;
      break;
    }
  Decl d;
  for (const Field& f : fs) d.key.push_back(f.type);
  const Token& t = c_.peek();
  bool lookup = t.punct('{') || t.text.rfind('@', 0) == 0 || t.is("vmap");
  if (!lookup) {
    if (fs.size() > 1) throw Unread{"a concatenation compared with one value"};
    std::string text = c_.word("a value");
    if (fs[0].type == Type::CtState || fs[0].type == Type::CtStatus) text = bits_word(text);
    return compare(r, fs[0], op, text);
  }
  if (op != ct::CmpOp::Eq && op != ct::CmpOp::Neq) throw Unread{"a set compared with '<' or '>'"};
  bool vmap = c_.eat("vmap");
  if (vmap) d.data = {Type::Verdict};
  std::string name;
  if (c_.peek().punct('{')) {
    name = anonymous(d, elements(d), vmap);
  } else {
    Decl declared;
    name = named(c_.word("a set"), &declared);
    if (declared.key.size() != d.key.size() || (vmap && declared.data != d.data))
      throw Unread{"set '@" + name + "' of another type"};
  }
  load(r, fs);
  ct::Lookup l{kReg1, name};
  if (vmap) l.dreg = 0;
  l.invert = op == ct::CmpOp::Neq;
  r.exprs.push_back(l);
}

// One field against one value: nft's comparisons. An exact interface name
// is compared whole (16 bytes), a wildcard by its prefix; a byte-aligned
// prefix loads only its bytes; a range is two comparisons.
void Reader::compare(ct::Rule& r, const Field& f, ct::CmpOp op, const std::string& text) {
  Value v = value(f.type, text);
  Field g = f;
  bool masked = v.prefix >= 0 && v.prefix % 8 != 0, neq = op == ct::CmpOp::Neq;
  if (v.prefix >= 0 && !masked) {
    std::get<ct::Payload>(g.load).len = uint32_t(v.prefix / 8);
    v.lo.resize(size_t(v.prefix / 8)), v.hi = v.lo, v.range = false;
    if (v.lo.empty()) return;  // a /0 matches every address of the family: nft writes nothing but the family
  }
  load(r, {g});
  if (f.type == Type::CtState || f.type == Type::CtStatus) {
    r.exprs.push_back(ct::Bitwise{kReg1, kReg1, v.lo, Bytes(4, 0)});
    r.exprs.push_back(ct::Cmp{kReg1, neq ? ct::CmpOp::Eq : ct::CmpOp::Neq, Bytes(4, 0)});
  } else if (masked) {
    Bytes mask(v.lo.size(), 0);
    for (int i = 0; i < v.prefix; ++i) mask[size_t(i / 8)] |= uint8_t(0x80 >> (i % 8));
    r.exprs.push_back(ct::Bitwise{kReg1, kReg1, mask, Bytes(mask.size(), 0)});
    r.exprs.push_back(ct::Cmp{kReg1, op, v.lo});
  } else if (v.range) {
    if (op != ct::CmpOp::Eq && op != ct::CmpOp::Neq) throw Unread{"a range compared with '<' or '>'"};
    if (neq) return r.exprs.push_back(ct::Range{kReg1, true, v.lo, v.hi});
    r.exprs.push_back(ct::Cmp{kReg1, ct::CmpOp::Gte, v.lo});
    r.exprs.push_back(ct::Cmp{kReg1, ct::CmpOp::Lte, v.hi});
  } else {
    r.exprs.push_back(ct::Cmp{kReg1, op, v.lo});
  }
}

std::string Reader::anonymous(const Decl& d, const std::vector<Elem>& els, bool vmap) {
  for (const Elem& e : els)
    for (const Value& v : e.key)
      if (v.wildcard) throw Unread{"an interface wildcard in a set"};
  ct::Set s{table_.family, table_.name,
            "__" + std::string(d.data.empty() ? "set" : "map") + std::to_string(anonymous_++)};
  s.map = !d.data.empty(), s.vmap = vmap;
  fill(s, d, els);
  out_.rules.sets.push_back(std::move(s));
  return out_.rules.sets.back().name;
}

std::string Reader::named(const std::string& ref, Decl* d) {
  if (ref.size() < 2 || ref[0] != '@') throw Unread{"'" + ref + "'"};
  std::string name = ref.substr(1);
  std::string k = key(table_, name);
  if (unreadable_.count(k)) throw Unread{"set '@" + name + "' of a type natc does not read"};
  auto it = decls_.find(k);
  if (it == decls_.end()) throw Unread{"set '@" + name + "', not declared before the rule"};
  *d = it->second;
  return name;
}

// --- NAT -------------------------------------------------------------------------

void Reader::nat(ct::Rule& r) {
  std::string w = c_.next().text;
  using K = ct::NatAction::Kind;
  ct::NatAction a{w == "snat" ? K::Snat : w == "dnat" ? K::Dnat : w == "masquerade" ? K::Masquerade : K::Redirect};
  bool addresses = a.kind == K::Snat || a.kind == K::Dnat;
  if (addresses && (c_.peek().is("ip") || c_.peek().is("ip6")) && c_.peek(1).is("to"))
    a.family = c_.next().is("ip") ? kNfIpv4 : kNfIpv6;
  if (!a.family && table_.family != ct::Family::Inet && addresses)
    a.family = table_.family == ct::Family::Ip ? kNfIpv4 : kNfIpv6;
  if (c_.eat("to")) {
    size_t p = c_.pos();
    std::optional<std::vector<Field>> keys;
    try {
      if (addresses && field()) c_.seek(p), keys = fields();
    } catch (const Unread&) {
      keys.reset();
    }
    if (keys && c_.eat("map")) {
      nat_map(r, a, *keys);
    } else {
      c_.seek(p);
      Place at = c_.peek().at;
      nat_target(r, a, c_.word("an address or port"), at);
    }
  } else {
    if (addresses) throw Unread{"'" + w + "' without 'to'"};
    r.exprs.push_back(ct::Nat{a});
  }
  // Flags: `persistent`, `random`, `fully-random`, with commas between.
  auto& n = std::get<ct::Nat>(r.exprs.back()).action;
  for (;; c_.next()) {
    const Token& f = c_.peek();
    if (f.is("persistent"))
      n.persistent = true;
    else if (f.is("random"))
      n.random = true;
    else if (f.is("fully-random"))
      n.fully_random = true;
    else if (!f.punct(','))
      break;
  }
}

void Reader::nat_map(ct::Rule& r, ct::NatAction a, const std::vector<Field>& keys) {
  Decl d;
  for (const Field& f : keys) d.key.push_back(f.type);
  std::string name;
  if (c_.peek().punct('{')) {
    // The values' types: an address of the NAT's family, and a port when
    // the values go on after a '.'.
    d.data = {a.family == kNfIpv6 ? Type::Addr6 : Type::Addr4};
    d.port_may_follow = true;
    std::vector<Elem> els = elements(d);
    size_t with_port = size_t(std::count_if(els.begin(), els.end(), [](const Elem& e) { return e.data.size() > 1; }));
    if (with_port != 0 && with_port != els.size()) throw Unread{"a NAT map with and without ports"};
    if (with_port) d.data.push_back(Type::Port);
    name = anonymous(d, els, false);
  } else {
    name = named(c_.word("a map"), &d);
  }
  if (d.data.empty() || (d.data[0] != Type::Addr4 && d.data[0] != Type::Addr6))
    throw Unread{"a NAT map whose values are not addresses"};
  if (!a.family) a.family = d.data[0] == Type::Addr4 ? kNfIpv4 : kNfIpv6;
  load(r, keys);
  r.exprs.push_back(ct::Lookup{kReg1, name, kReg1});
  a.reg_addr = kReg1;
  if (d.data.size() > 1) a.reg_port = kReg1 + round4(nft_text::type_len(d.data[0]));
  r.exprs.push_back(ct::Nat{a});
}

// `10.0.0.5`, `10.0.0.5:80`, `10.0.0.5-10.0.0.9:1000-2000`, `[fd00::5]:80`,
// `fd00::5`, `:8080`: immediates into registers 1 on, then the statement.
void Reader::nat_target(ct::Rule& r, ct::NatAction a, const std::string& text, const Place& at) {
  try {
    nat_values(r, a, text, at);
  } catch (const Unread&) {
    throw Unread{"a NAT target natc does not read ('" + text + "')"};
  }
}

void Reader::nat_values(ct::Rule& r, ct::NatAction a, const std::string& text, const Place& at) {
  std::string addr = text, ports;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) throw Error(at, "unclosed '[' in '" + text + "'");
    addr = text.substr(1, close - 1);
    if (close + 1 < text.size() && text[close + 1] == ':') ports = text.substr(close + 2);
  } else if (size_t colon = text.find(':');
             colon != std::string::npos &&
             (colon == 0 || text.find('.') < colon || text.find(':', colon + 1) == std::string::npos)) {
    addr = text.substr(0, colon), ports = text.substr(colon + 1);
  }
  if (a.kind == ct::NatAction::Kind::Masquerade || a.kind == ct::NatAction::Kind::Redirect) {
    if (ports.empty() && !addr.empty()) ports = addr;  // `redirect to 8080`
    addr.clear();
  }
  Reg next = kReg1;
  auto imm = [&](Bytes b) {
    r.exprs.push_back(ct::Immediate{next, std::move(b)});
    Reg at_ = next;
    next += kReg2 - kReg1;
    return at_;
  };
  if (!addr.empty()) {
    bool v6 = addr.find(':') != std::string::npos;
    if (a.family && (*a.family == kNfIpv6) != v6) throw Error(at, "'" + addr + "' is not of the NAT's family");
    Value v = value(v6 ? Type::Addr6 : Type::Addr4, addr);
    a.family = v6 ? kNfIpv6 : kNfIpv4;
    a.reg_addr = imm(v.lo);
    if (v.range) a.reg_addr_max = imm(v.hi);
  }
  if (!ports.empty()) {
    Value p = value(Type::Port, ports);
    a.reg_port = imm(p.lo);
    if (p.range) a.reg_port_max = imm(p.hi);
  }
  if (addr.empty() && ports.empty()) throw Error(at, "no address or port in '" + text + "'");
  r.exprs.push_back(ct::Nat{a});
}

}  // namespace natc::imports::nft_text
