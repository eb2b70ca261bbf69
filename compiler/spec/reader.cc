#include "spec/reader.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <unordered_map>

#include "base/spell.h"
#include "base/text.h"
#include "spec/yaml_tree.h"

namespace natc::spec {
namespace {

using base::Code;
constexpr uint32_t kNone = Tree::kNone;

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::Null: return "nothing";
    case Kind::Scalar: return "a scalar";
    case Kind::Seq: return "a list";
    case Kind::Map: return "a mapping";
  }
  return "?";
}

// A value of the spec inside a message: clipped, so a 100 MB scalar is not
// echoed whole (and escaped when printed).
std::string quote(std::string_view s) { return "'" + base::clip(s, 80) + "'"; }

class Reader {
 public:
  Reader(const Tree& t, base::Diagnostics& d, const base::SourceFile::Lines& files) : t_(t), d_(d), files_(files) {}
  Spec read();

 private:
  // --- shapes -------------------------------------------------------------
  const Tree::Node& n(uint32_t i) const { return t_.node(i); }
  Loc loc(uint32_t i) const { return n(i).loc; }
  std::string_view text(uint32_t i) const { return t_.scalar(i); }
  uint32_t width(uint32_t i) const { return n(i).kind == Kind::Scalar && n(i).plain ? uint32_t(text(i).size()) : 1; }
  void error(Code c, uint32_t node, std::string msg, std::string help = {}) {
    d_.report(c, loc(node), std::move(msg), std::move(help), width(node));
  }
  bool expect(uint32_t i, Kind k, std::string_view what) {
    if (n(i).kind == k) return true;
    error(Code::WrongType, i, "expected " + std::string(what) + ", found " + std::string(kind_name(n(i).kind)));
    return false;
  }
  bool scalar(uint32_t i, std::string_view what) { return expect(i, Kind::Scalar, what); }
  // One row per key a mapping may hold: whether it must be there, and how
  // its value is read into the entry. A key not in the table is unknown by
  // construction (wireguard-tools' parse_<key>, one per key).
  template <class T>
  struct Key {
    std::string_view name;
    bool required;
    void (*read)(Reader& r, uint32_t value, T& out);
  };
  // Reads the mapping at `map` through `keys`: unknown, repeated and
  // missing keys are reported; false when `map` is not a mapping.
  template <class T, size_t N>
  bool fields(uint32_t map, std::string_view where, const Key<T> (&keys)[N], T& out);
  template <class F>
  void items(uint32_t seq, std::string_view what, F&& on_item);
  // A list's entries, each read through `keys`, kept when they read cleanly.
  template <class T, size_t N>
  void entries(uint32_t seq, std::string_view what, std::string_view one, const Key<T> (&keys)[N], std::vector<T>& out);
  // Later stages see only entries that read cleanly, so one typo does not
  // cascade into checks that report its consequences.
  template <class T>
  void keep_if_clean(std::vector<T>& list, T item, size_t errors_before) {
    if (d_.errors() == errors_before) list.push_back(std::move(item));
  }

  // An empty list where an empty list would quietly widen or drop what the
  // entry means ("from: []" read as "from anywhere"): an error saying so.
  bool listed(uint32_t i, std::string_view would, std::string_view instead) {
    if (n(i).kind != Kind::Seq || n(i).len) return true;
    error(Code::BadValue, i, "an empty list here would " + std::string(would), std::string(instead));
    return false;
  }

  // --- values -------------------------------------------------------------
  // A name, unique within its section (the section's word: "subnet").
  At<std::string> name(uint32_t i, std::string_view section);
  At<std::string> string(uint32_t i, std::string_view what);
  At<std::string> interface(uint32_t i);
  At<uint64_t> integer(uint32_t i, std::string_view what);
  At<bool> boolean(uint32_t i);
  At<base::Addr> addr(uint32_t i);
  At<base::Prefix> prefix(uint32_t i);
  std::vector<At<base::Prefix>> prefixes(uint32_t i);
  At<base::PortRange> ports(uint32_t i, std::string_view text, Loc at);
  At<base::PortRange> ports(uint32_t i);
  std::vector<At<base::AddrRange>> addr_ranges(uint32_t i);
  std::vector<At<Proto>> protocols(uint32_t i);
  Target target(uint32_t i);
  template <class E>
  At<E> choice(uint32_t i, std::initializer_list<std::pair<std::string_view, E>> options);

  // --- sections -----------------------------------------------------------
  void interfaces(uint32_t i, Spec& s);
  void forwarding(uint32_t i, Forwarding& f);
  void subnets(uint32_t i, Spec& s);
  Snat snat(uint32_t i);
  void snat_pools(uint32_t i, Spec& s);
  void port_forwards(uint32_t i, Spec& s);
  void redirects(uint32_t i, Spec& s);
  void static_nat(uint32_t i, Spec& s);
  void nptv6(uint32_t i, Spec& s);
  void helpers(uint32_t i, Spec& s);
  At<ForwardAccept> forward_accept(uint32_t i);
  void docker(uint32_t i, Spec& s);
  void publish(uint32_t i, Bridge& b);
  void conntrack(uint32_t i, Spec& s);
  void timeouts(uint32_t i, Conntrack& c);
  void safety(uint32_t i, Spec& s);
  void ha(uint32_t i, Spec& s);
  void virtual_address(uint32_t i, VirtualAddress& out);
  At<uint64_t> bounded(uint32_t i, std::string_view what, uint64_t lo, uint64_t hi);
  At<uint64_t> interval_ms(uint32_t i);

  const Tree& t_;
  base::Diagnostics& d_;
  const base::SourceFile::Lines& files_;
  // Names seen so far, per section: where each was first defined.
  std::unordered_map<std::string_view, std::unordered_map<std::string_view, Loc>> names_;
};

template <class T, size_t N>
bool Reader::fields(uint32_t map, std::string_view where, const Key<T> (&keys)[N], T& out) {
  if (!expect(map, Kind::Map, where == "the spec" ? "a mapping of sections" : "a mapping for " + std::string(where)))
    return false;
  std::string_view names[N];
  for (size_t k = 0; k < N; ++k) names[k] = keys[k].name;
  bool seen[N] = {};
  bool misspelt[N] = {};  // a required key an unknown one is one typo from: reported once, as the typo
  for (uint32_t k = n(map).first; k != kNone; k = n(n(k).next).next) {
    if (n(k).kind != Kind::Scalar) {
      error(Code::WrongType, k, "keys must be plain words, found " + std::string(kind_name(n(k).kind)));
      continue;
    }
    std::string_view key = text(k);
    size_t row = std::find(names, names + N, key) - names;
    if (row == N) {
      std::string known = "known keys: ";
      for (size_t i = 0; i < N; ++i) known += std::string(names[i]) + (i + 1 < N ? ", " : "");
      error(Code::UnknownKey, k, "unknown key " + quote(key) + " in " + std::string(where),
            base::did_you_mean(key, names, known));
      std::string near = base::closest(key, names);
      if (!near.empty()) misspelt[std::find(names, names + N, near) - names] = true;
    } else if (seen[row]) {
      error(Code::DuplicateKey, k, "key " + quote(key) + " appears twice in " + std::string(where));
    } else {
      seen[row] = true;
      keys[row].read(*this, n(k).next, out);
    }
  }
  std::vector<std::string> absent;
  for (size_t i = 0; i < N; ++i)
    if (keys[i].required && !seen[i] && !misspelt[i]) absent.push_back(quote(names[i]));
  if (!absent.empty()) {
    std::string list = absent[0];
    for (size_t i = 1; i < absent.size(); ++i) list += (i + 1 == absent.size() ? " and " : ", ") + absent[i];
    d_.report(Code::MissingKey, loc(map), std::string(where) + " needs " + list);
  }
  return true;
}

template <class T, size_t N>
void Reader::entries(uint32_t seq, std::string_view what, std::string_view one, const Key<T> (&keys)[N],
                     std::vector<T>& out) {
  size_t count = 0;
  if (n(seq).kind == Kind::Seq)
    for (uint32_t i = n(seq).first; i != kNone; i = n(i).next) ++count;
  out.reserve(out.size() + count);  // 100k forwards: no copies as the list grows
  items(seq, what, [&](uint32_t item) {
    T entry;
    entry.loc = loc(item);
    size_t errors = d_.errors();
    if (fields(item, one, keys, entry)) keep_if_clean(out, std::move(entry), errors);
  });
}

template <class F>
void Reader::items(uint32_t seq, std::string_view what, F&& on_item) {
  if (n(seq).kind == Kind::Null) return;  // "port_forwards:" with nothing under it
  if (!expect(seq, Kind::Seq, "a list of " + std::string(what))) return;
  for (uint32_t i = n(seq).first; i != kNone; i = n(i).next) on_item(i);
}

At<std::string> Reader::string(uint32_t i, std::string_view what) {
  At<std::string> out;
  if (!scalar(i, what)) return out;
  out = {std::string(text(i)), loc(i), true};
  return out;
}

At<std::string> Reader::name(uint32_t i, std::string_view section) {
  At<std::string> out = string(i, "a name");
  if (!out.set) return out;
  if (!is_identifier(out.v)) {
    error(Code::BadName, i, std::string(section) + " name " + quote(out.v) + " is not an identifier",
          "names are letters, digits, '_', '.' and '-', start with a letter or digit, "
          "and have at most 64 characters");
    out.set = false;
    return out;
  }
  auto [it, fresh] = names_[section].emplace(text(i), loc(i));
  if (!fresh) {
    error(Code::DuplicateName, i, "duplicate " + std::string(section) + " name " + quote(out.v),
          "first defined at " + line_ref(files_, it->second));
    out.set = false;
  }
  return out;
}

At<std::string> Reader::interface(uint32_t i) { return string(i, "an interface name"); }

At<uint64_t> Reader::integer(uint32_t i, std::string_view what) {
  At<uint64_t> out;
  if (!scalar(i, what)) return out;
  std::string_view s = text(i);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    error(Code::BadInteger, i, quote(s) + " is not a whole number", "expected " + std::string(what));
    return out;
  }
  return {v, loc(i), true};
}

At<bool> Reader::boolean(uint32_t i) {
  At<bool> out;
  if (!scalar(i, "true or false")) return out;
  std::string_view s = text(i);
  if (s == "true" || s == "false") return {s == "true", loc(i), true};
  error(Code::BadBool, i, quote(s) + " is not a boolean",
        base::did_you_mean(s, {"true", "false"}, "write true or false"));
  return out;
}

At<base::Addr> Reader::addr(uint32_t i) {
  At<base::Addr> out;
  if (!scalar(i, "an IP address")) return out;
  if (auto a = base::parse_addr(text(i))) return {*a, loc(i), true};
  error(Code::BadAddress, i, quote(text(i)) + " is not an IP address");
  return out;
}

At<base::Prefix> Reader::prefix(uint32_t i) {
  At<base::Prefix> out;
  if (!scalar(i, "an address or CIDR")) return out;
  base::Prefix p;
  switch (base::parse_prefix(text(i), &p)) {
    case base::PrefixError::None: return {p, loc(i), true};
    case base::PrefixError::Syntax: error(Code::BadCidr, i, quote(text(i)) + " is not an address or CIDR"); break;
    case base::PrefixError::Length:
      error(Code::BadCidr, i, quote(text(i)) + " has a prefix length out of range",
            "IPv4 prefixes are /0 to /32, IPv6 /0 to /128");
      break;
    case base::PrefixError::HostBits:
      error(Code::BadCidr, i, quote(text(i)) + " has host bits set",
            "did you mean '" + base::to_string(p.addr) + "/" + std::to_string(p.len) + "'?");
      break;
  }
  return out;
}

std::vector<At<base::Prefix>> Reader::prefixes(uint32_t i) {
  std::vector<At<base::Prefix>> out;
  if (n(i).kind == Kind::Seq) {
    items(i, "addresses", [&](uint32_t item) {
      if (auto p = prefix(item); p.set) out.push_back(p);
    });
  } else if (auto p = prefix(i); p.set) {
    out.push_back(p);
  }
  return out;
}

At<base::PortRange> Reader::ports(uint32_t i, std::string_view s, Loc at) {
  if (auto r = base::parse_port_range(s)) return {*r, at, true};
  error(Code::BadPort, i, quote(s) + " is not a port or port range",
        "ports are 1-65535; a range is written \"8000-8010\" with the smaller port first");
  return {};
}

At<base::PortRange> Reader::ports(uint32_t i) {
  if (!scalar(i, "a port or port range")) return {};
  return ports(i, text(i), loc(i));
}

std::vector<At<base::AddrRange>> Reader::addr_ranges(uint32_t i) {
  std::vector<At<base::AddrRange>> out;
  auto one = [&](uint32_t item) {
    if (!scalar(item, "an address, range or CIDR")) return;
    std::string_view s = text(item);
    size_t dash = s.find('-');
    if (dash == std::string_view::npos) {
      if (auto p = prefix(item); p.set) out.push_back({base::to_range(p.v), p.loc, true});
      return;
    }
    auto a = base::parse_addr(s.substr(0, dash)), b = base::parse_addr(s.substr(dash + 1));
    if (!a || !b) {
      error(Code::BadRange, item, quote(s) + " is not an address range",
            "write 'FIRST-LAST', e.g. 203.0.113.60-203.0.113.63");
    } else if (a->family != b->family || *b < *a) {
      error(Code::BadRange, item,
            quote(s) + (a->family != b->family ? " mixes IPv4 and IPv6" : " ends before it starts"));
    } else {
      out.push_back({{*a, *b}, loc(item), true});
    }
  };
  if (n(i).kind == Kind::Seq)
    items(i, "address ranges", one);
  else
    one(i);
  return out;
}

template <class E>
At<E> Reader::choice(uint32_t i, std::initializer_list<std::pair<std::string_view, E>> options) {
  std::vector<std::string_view> words;
  for (auto& [w, e] : options) words.push_back(w);
  std::string all;
  for (auto w : words) all += (all.empty() ? "" : " | ") + std::string(w);
  if (!scalar(i, all)) return {};
  for (auto& [w, e] : options)
    if (text(i) == w) return {e, loc(i), true};
  error(Code::BadValue, i, quote(text(i)) + " is not one of " + all, base::did_you_mean(text(i), words));
  return {};
}

std::vector<At<Proto>> Reader::protocols(uint32_t i) {
  std::vector<At<Proto>> out;
  auto one = [&](uint32_t item) {
    auto p = choice<Proto>(item, {{"tcp", Proto::Tcp}, {"udp", Proto::Udp}});
    if (!p.set) return;
    if (std::any_of(out.begin(), out.end(), [&](auto& q) { return q.v == p.v; }))
      error(Code::BadValue, item, "protocol " + quote(text(item)) + " is listed twice");
    else
      out.push_back(p);
  };
  if (n(i).kind == Kind::Seq)
    items(i, "protocols", one);
  else
    one(i);
  return out;
}

Target Reader::target(uint32_t i) {
  Target out;
  if (!scalar(i, "a target address[:port]")) return out;
  std::string_view s = text(i);
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {  // [2001:db8::5]:80
    size_t close = s.find(']');
    if (close == std::string_view::npos || (close + 1 < s.size() && s[close + 1] != ':')) {
      error(Code::BadAddress, i, quote(s) + " is not address[:port]",
            "IPv6 targets with a port are written [2001:db8::5]:80");
      return out;
    }
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) port = s.substr(close + 2);
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    host = s.substr(0, s.find(':'));
    port = s.substr(s.find(':') + 1);
  }
  auto a = base::parse_addr(host);
  if (!a) {
    error(Code::BadAddress, i, quote(s) + " is not address[:port]", "e.g. 10.0.0.5:80, 10.0.0.5, or [2001:db8::5]:80");
    return out;
  }
  out.addr = {*a, loc(i), true};
  if (!port.empty() || s.ends_with(":")) {
    Loc at = loc(i);
    if (n(i).plain) at.col += uint32_t(port.data() - s.data());
    out.port = ports(i, port, at);
  }
  return out;
}

// --- sections --------------------------------------------------------------

void Reader::interfaces(uint32_t i, Spec& s) {
  if (n(i).kind == Kind::Null) return;
  if (!expect(i, Kind::Map, "a mapping of alias: kernel-name")) return;
  for (uint32_t k = n(i).first; k != kNone; k = n(n(k).next).next) {
    Alias a;
    a.name = name(k, "interface alias");
    a.kernel = interface(n(k).next);
    if (a.name.set && a.kernel.set) s.interfaces.push_back(std::move(a));
  }
}

void Reader::forwarding(uint32_t i, Forwarding& f) {
  static constexpr Key<ForwardRule> kRule[] = {
      {"name", true, [](Reader& r, uint32_t v, ForwardRule& x) { x.name = r.name(v, "forward rule"); }},
      {"protocol", false,
       [](Reader& r, uint32_t v, ForwardRule& x) {
         if (r.listed(v, "mean every protocol", "leave 'protocol' out for every protocol"))
           x.protocols = r.protocols(v);
       }},
      {"to", true,
       [](Reader& r, uint32_t v, ForwardRule& x) {
         if (r.listed(v, "make the rule accept nothing", "name the addresses it accepts, or remove the rule"))
           x.to = r.prefixes(v);
       }},
      {"port", false, [](Reader& r, uint32_t v, ForwardRule& x) { x.port = r.ports(v); }},
      {"from", false,
       [](Reader& r, uint32_t v, ForwardRule& x) {
         if (r.listed(v, "mean from anywhere", "leave 'from' out for anywhere")) x.from = r.prefixes(v);
       }},
  };
  static constexpr Key<Forwarding> kForwarding[] = {
      {"policy", false,
       [](Reader& r, uint32_t v, Forwarding& x) {
         x.policy = r.choice<Policy>(v, {{"accept", Policy::Accept}, {"drop", Policy::Drop}});
         if (!x.policy.set) x.policy.v = Policy::Accept;
       }},
      {"rules", false,
       [](Reader& r, uint32_t v, Forwarding& x) { r.entries(v, "forward rules", "a forward rule", kRule, x.rules); }},
  };
  fields(i, "forwarding", kForwarding, f);
}

Snat Reader::snat(uint32_t i) {
  static constexpr Key<Snat> kSnat[] = {
      {"to", false, [](Reader& r, uint32_t v, Snat& x) { x.kind = SnatKind::To, x.to = r.addr(v); }},
      {"pool", false,
       [](Reader& r, uint32_t v, Snat& x) { x.kind = SnatKind::Pool, x.pool = r.string(v, "a pool name"); }},
  };
  Snat out;
  out.loc = loc(i);
  if (n(i).kind == Kind::Scalar) {
    if (text(i) == "masquerade") return out;
    if (text(i) == "none") return out.kind = SnatKind::None, out;
    error(Code::BadValue, i, "unknown snat mode " + quote(text(i)),
          base::did_you_mean(text(i), {"masquerade", "none"}, "write masquerade, none, {to: ADDRESS} or {pool: NAME}"));
    return out;
  }
  if (!expect(i, Kind::Map, "masquerade, none, {to: ADDRESS} or {pool: NAME}")) return out;
  fields(i, "snat", kSnat, out);
  if (n(i).len == 4) error(Code::BadValue, i, "snat takes either 'to' or 'pool', not both");
  return out;
}

void Reader::subnets(uint32_t i, Spec& s) {
  static constexpr Key<Subnet> kSubnet[] = {
      {"name", true, [](Reader& r, uint32_t v, Subnet& x) { x.name = r.name(v, "subnet"); }},
      {"cidr", true, [](Reader& r, uint32_t v, Subnet& x) { x.cidr = r.prefix(v); }},
      {"egress", true, [](Reader& r, uint32_t v, Subnet& x) { x.egress = r.interface(v); }},
      {"snat", true, [](Reader& r, uint32_t v, Subnet& x) { x.snat = r.snat(v); }},
  };
  entries(i, "subnets", "a subnet", kSubnet, s.subnets);
}

void Reader::snat_pools(uint32_t i, Spec& s) {
  static constexpr Key<SnatPool> kPool[] = {
      {"name", true, [](Reader& r, uint32_t v, SnatPool& x) { x.name = r.name(v, "SNAT pool"); }},
      {"addresses", true,
       [](Reader& r, uint32_t v, SnatPool& x) {
         if (r.listed(v, "leave the subnets behind this pool untranslated", "list at least one address"))
           x.addresses = r.addr_ranges(v);
       }},
      {"ports", false, [](Reader& r, uint32_t v, SnatPool& x) { x.ports = r.ports(v); }},
      {"persistent", false, [](Reader& r, uint32_t v, SnatPool& x) { x.persistent = r.boolean(v); }},
      {"fully_random", false, [](Reader& r, uint32_t v, SnatPool& x) { x.fully_random = r.boolean(v); }},
  };
  size_t before = s.snat_pools.size();
  entries(i, "SNAT pools", "a SNAT pool", kPool, s.snat_pools);
  // The pools that did not read cleanly, by name (every name read is in names_).
  for (const auto& seen : names_["SNAT pool"]) {
    std::string_view name = seen.first;
    bool kept = std::any_of(s.snat_pools.begin() + long(before), s.snat_pools.end(),
                            [&](const SnatPool& p) { return p.name.v == name; });
    if (!kept) s.broken_pools.emplace_back(name);
  }
}

void Reader::port_forwards(uint32_t i, Spec& s) {
  using F = PortForward;
  static constexpr Key<F> kForward[] = {
      {"name", true, [](Reader& r, uint32_t v, F& x) { x.name = r.name(v, "port forward"); }},
      {"ingress", true, [](Reader& r, uint32_t v, F& x) { x.ingress = r.interface(v); }},
      {"protocol", true,
       [](Reader& r, uint32_t v, F& x) {
         if (r.listed(v, "make the forward forward nothing", "name tcp, udp or both")) x.protocols = r.protocols(v);
       }},
      {"port", true, [](Reader& r, uint32_t v, F& x) { x.port = r.ports(v); }},
      {"to", true, [](Reader& r, uint32_t v, F& x) { x.to = r.target(v); }},
      {"destination", false, [](Reader& r, uint32_t v, F& x) { x.destination = r.addr(v); }},
      {"allow_from", false,
       [](Reader& r, uint32_t v, F& x) {
         if (r.listed(v, "mean from anywhere", "leave 'allow_from' out for anywhere")) x.allow_from = r.prefixes(v);
       }},
      {"hairpin", false, [](Reader& r, uint32_t v, F& x) { x.hairpin = r.boolean(v); }},
      {"allow_capture", false, [](Reader& r, uint32_t v, F& x) { x.allow_capture = r.boolean(v); }},
      {"from_gateway", false, [](Reader& r, uint32_t v, F& x) { x.from_gateway = r.boolean(v); }},
      {"forward_accept", false, [](Reader& r, uint32_t v, F& x) { x.forward_accept = r.forward_accept(v); }},
  };
  names_["port forward"].reserve(n(i).len);
  entries(i, "port forwards", "a port forward", kForward, s.port_forwards);
}

void Reader::redirects(uint32_t i, Spec& s) {
  static constexpr Key<Redirect> kRedirect[] = {
      {"name", true, [](Reader& r, uint32_t v, Redirect& x) { x.name = r.name(v, "redirect"); }},
      {"ingress", true, [](Reader& r, uint32_t v, Redirect& x) { x.ingress = r.interface(v); }},
      {"protocol", true,
       [](Reader& r, uint32_t v, Redirect& x) {
         if (r.listed(v, "make the redirect catch nothing", "name tcp, udp or both")) x.protocols = r.protocols(v);
       }},
      {"port", true, [](Reader& r, uint32_t v, Redirect& x) { x.port = r.ports(v); }},
      {"to_port", false,
       [](Reader& r, uint32_t v, Redirect& x) {
         x.to_port = r.ports(v);
         if (x.to_port.set && x.to_port.v.first != x.to_port.v.last) {
           r.error(Code::BadPort, v, "to_port is one port on the gateway, not a range",
                   "leave to_port out to keep each port as it is");
           x.to_port.set = false;
         }
       }},
      {"from", false,
       [](Reader& r, uint32_t v, Redirect& x) {
         if (r.listed(v, "mean from anywhere", "leave 'from' out for anywhere")) x.from = r.prefixes(v);
       }},
      {"except", false,
       [](Reader& r, uint32_t v, Redirect& x) {
         if (r.listed(v, "except nothing", "leave 'except' out")) x.except = r.prefixes(v);
       }},
  };
  entries(i, "redirects", "a redirect", kRedirect, s.redirects);
}

At<ForwardAccept> Reader::forward_accept(uint32_t i) {
  auto out = choice<ForwardAccept>(i, {{"auto", ForwardAccept::Auto}, {"manual", ForwardAccept::Manual}});
  if (!out.set) out.v = ForwardAccept::Auto;
  return out;
}

void Reader::static_nat(uint32_t i, Spec& s) {
  static constexpr Key<StaticNat> kStatic[] = {
      {"name", true, [](Reader& r, uint32_t v, StaticNat& x) { x.name = r.name(v, "static NAT"); }},
      {"public", true, [](Reader& r, uint32_t v, StaticNat& x) { x.public_addr = r.prefix(v); }},
      {"private", true, [](Reader& r, uint32_t v, StaticNat& x) { x.private_addr = r.prefix(v); }},
      {"interface", true, [](Reader& r, uint32_t v, StaticNat& x) { x.interface = r.interface(v); }},
      {"allow_from", false,
       [](Reader& r, uint32_t v, StaticNat& x) {
         if (r.listed(v, "mean from anywhere", "leave 'allow_from' out for anywhere")) x.allow_from = r.prefixes(v);
       }},
      {"hairpin", false, [](Reader& r, uint32_t v, StaticNat& x) { x.hairpin = r.boolean(v); }},
      {"forward_accept", false, [](Reader& r, uint32_t v, StaticNat& x) { x.forward_accept = r.forward_accept(v); }},
  };
  entries(i, "static NAT entries", "a static NAT entry", kStatic, s.static_nat);
}

void Reader::nptv6(uint32_t i, Spec& s) {
  static constexpr Key<Nptv6> kNpt[] = {
      {"name", true, [](Reader& r, uint32_t v, Nptv6& x) { x.name = r.name(v, "NPTv6 entry"); }},
      {"inside", true, [](Reader& r, uint32_t v, Nptv6& x) { x.inside = r.prefix(v); }},
      {"outside", true, [](Reader& r, uint32_t v, Nptv6& x) { x.outside = r.prefix(v); }},
      {"interface", true, [](Reader& r, uint32_t v, Nptv6& x) { x.interface = r.interface(v); }},
      {"forward_accept", false, [](Reader& r, uint32_t v, Nptv6& x) { x.forward_accept = r.forward_accept(v); }},
  };
  entries(i, "NPTv6 entries", "an NPTv6 entry", kNpt, s.nptv6);
}

void Reader::helpers(uint32_t i, Spec& s) {
  static constexpr Key<Helper> kHelper[] = {
      {"name", true, [](Reader& r, uint32_t v, Helper& x) { x.name = r.name(v, "helper"); }},
      {"helper", false, [](Reader& r, uint32_t v, Helper& x) { x.helper = r.string(v, "a helper's kind"); }},
      {"protocol", true,
       [](Reader& r, uint32_t v, Helper& x) {
         if (r.listed(v, "help nothing", "name tcp, udp or both")) x.protocols = r.protocols(v);
       }},
      {"port", true, [](Reader& r, uint32_t v, Helper& x) { x.port = r.ports(v); }},
  };
  entries(i, "helpers", "a helper", kHelper, s.helpers);
}

void Reader::publish(uint32_t i, Bridge& b) {
  static constexpr Key<Publish> kPublish[] = {
      {"name", true, [](Reader& r, uint32_t v, Publish& x) { x.name = r.name(v, "published port"); }},
      {"protocol", true,
       [](Reader& r, uint32_t v, Publish& x) {
         if (r.listed(v, "publish nothing", "name tcp, udp or both")) x.protocols = r.protocols(v);
       }},
      {"port", true, [](Reader& r, uint32_t v, Publish& x) { x.port = r.ports(v); }},
      {"to", true, [](Reader& r, uint32_t v, Publish& x) { x.to = r.target(v); }},
  };
  entries(i, "published ports", "a published port", kPublish, b.publish);
}

void Reader::docker(uint32_t i, Spec& s) {
  static constexpr Key<Bridge> kBridge[] = {
      {"name", true, [](Reader& r, uint32_t v, Bridge& x) { x.name = r.name(v, "Docker bridge"); }},
      {"cidr", true, [](Reader& r, uint32_t v, Bridge& x) { x.cidr = r.prefix(v); }},
      {"masquerade", false, [](Reader& r, uint32_t v, Bridge& x) { x.masquerade = r.boolean(v); }},
      {"publish", false, [](Reader& r, uint32_t v, Bridge& x) { r.publish(v, x); }},
  };
  static constexpr Key<Spec> kDocker[] = {
      {"bridges", false,
       [](Reader& r, uint32_t v, Spec& x) { r.entries(v, "Docker bridges", "a Docker bridge", kBridge, x.bridges); }},
  };
  fields(i, "docker", kDocker, s);
  for (Bridge& b : s.bridges)
    if (!b.masquerade.set) b.masquerade.v = true;
}

void Reader::timeouts(uint32_t i, Conntrack& c) {
  if (n(i).kind == Kind::Null || !expect(i, Kind::Map, "a mapping of key: seconds")) return;
  std::unordered_map<std::string_view, Loc> seen;
  for (uint32_t tk = n(i).first; tk != kNone; tk = n(n(tk).next).next) {
    Timeout t{string(tk, "a timeout key"), integer(n(tk).next, "seconds")};
    if (t.key.set && !seen.emplace(text(tk), loc(tk)).second) {
      error(Code::DuplicateKey, tk, "timeout " + quote(text(tk)) + " appears twice");
      continue;
    }
    if (t.key.set && t.seconds.set) c.timeouts.push_back(std::move(t));
  }
}

void Reader::conntrack(uint32_t i, Spec& s) {
  static constexpr Key<Conntrack> kConntrack[] = {
      {"max", false, [](Reader& r, uint32_t v, Conntrack& x) { x.max = r.integer(v, "an entry count"); }},
      {"buckets", false, [](Reader& r, uint32_t v, Conntrack& x) { x.buckets = r.integer(v, "a bucket count"); }},
      {"timeouts", false, [](Reader& r, uint32_t v, Conntrack& x) { r.timeouts(v, x); }},
      {"alert_percent", false,
       [](Reader& r, uint32_t v, Conntrack& x) { x.alert_percent = r.integer(v, "a percentage"); }},
  };
  Conntrack c;
  c.loc = loc(i);
  fields(i, "conntrack", kConntrack, c);
  if (!c.alert_percent.set) c.alert_percent.v = kAlertPercent;
  if (n(i).kind == Kind::Map) s.conntrack = std::move(c);
}

void Reader::safety(uint32_t i, Spec& s) {
  static constexpr Key<Safety> kSafety[] = {
      {"management_ports", false,
       [](Reader& r, uint32_t v, Safety& x) {
         auto one = [&](uint32_t item) {
           auto p = r.ports(item);
           if (!p.set) return;
           if (p.v.first != p.v.last)
             r.error(Code::BadPort, item, "a management port is one port, not a range", "list each port: [22, 2222]");
           else
             x.management_ports.push_back(p);
         };
         if (r.n(v).kind != Kind::Seq) return one(v);
         if (r.n(v).first == kNone)
           r.error(Code::BadValue, v, "an empty list here would guard no management session",
                   "leave management_ports out for the default [22]");
         r.items(v, "management ports", one);
       }},
  };
  Safety out;
  out.loc = loc(i);
  if (fields(i, "safety", kSafety, out)) s.safety = std::move(out);
}

At<uint64_t> Reader::bounded(uint32_t i, std::string_view what, uint64_t lo, uint64_t hi) {
  At<uint64_t> v = integer(i, what);
  if (v.set && (v.v < lo || v.v > hi)) {
    error(Code::BadValue, i, std::string(what) + " " + quote(text(i)) + " is out of range",
          "it is " + std::to_string(lo) + " to " + std::to_string(hi));
    v.set = false;
  }
  return v;
}

// "200ms", "1s", "1.5s" or whole seconds; VRRPv3 counts in centiseconds,
// up to 40.95 s.
At<uint64_t> Reader::interval_ms(uint32_t i) {
  if (!scalar(i, "an interval (200ms, 1s)")) return {};
  std::string_view s = text(i);
  uint64_t scale = 1000;
  if (s.ends_with("ms")) {
    scale = 1, s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    s.remove_suffix(1);
  }
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot), frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  uint64_t w = 0, f = 0;
  bool ok = !whole.empty() && whole.size() <= 6 && frac.size() <= 3 && (dot == std::string_view::npos || !frac.empty());
  ok = ok && std::from_chars(whole.data(), whole.data() + whole.size(), w).ptr == whole.data() + whole.size();
  ok = ok &&
       (frac.empty() || std::from_chars(frac.data(), frac.data() + frac.size(), f).ptr == frac.data() + frac.size());
  if (ok && scale == 1 && !frac.empty()) ok = false;
  for (size_t k = frac.size(); k < 3; ++k) f *= 10;
  uint64_t ms = w * scale + (scale == 1 ? 0 : f);
  if (!ok || ms < 10 || ms > 40950 || ms % 10 != 0) {
    error(Code::BadValue, i, quote(text(i)) + " is not an advert interval",
          "VRRP counts in hundredths of a second, from 10ms to 40.95s: e.g. 200ms or 1s");
    return {};
  }
  return {ms, loc(i), true};
}

void Reader::virtual_address(uint32_t i, VirtualAddress& out) {
  if (!scalar(i, "an address with its prefix length (203.0.113.50/24)")) return;
  std::string_view s = text(i);
  size_t slash = s.find('/');
  auto a = base::parse_addr(s.substr(0, slash));
  uint64_t len = 0;
  std::string_view l = slash == std::string_view::npos ? "" : s.substr(slash + 1);
  auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
  if (!a || l.empty() || ec != std::errc() || p != l.data() + l.size() ||
      len > (a->family == base::Family::V4 ? 32 : 128)) {
    error(Code::BadAddress, i, quote(s) + " is not an address with its prefix length",
          "write the address as it goes on the interface, e.g. 203.0.113.50/24");
    return;
  }
  out.address = {*a, loc(i), true};
  out.len = {len, loc(i), true};
}

void Reader::ha(uint32_t i, Spec& s) {
  static constexpr Key<VirtualAddress> kVip[] = {
      {"interface", true, [](Reader& r, uint32_t v, VirtualAddress& x) { x.interface = r.interface(v); }},
      {"address", true, [](Reader& r, uint32_t v, VirtualAddress& x) { r.virtual_address(v, x); }},
      {"vrid", true,
       [](Reader& r, uint32_t v, VirtualAddress& x) { x.vrid = r.bounded(v, "a VRRP router id", 1, 255); }},
  };
  static constexpr Key<Ha> kHa[] = {
      {"peer", true, [](Reader& r, uint32_t v, Ha& x) { x.peer = r.addr(v); }},
      {"sync_interface", true, [](Reader& r, uint32_t v, Ha& x) { x.sync_interface = r.interface(v); }},
      {"priority", true, [](Reader& r, uint32_t v, Ha& x) { x.priority = r.bounded(v, "a VRRP priority", 1, 254); }},
      {"advert_interval", false, [](Reader& r, uint32_t v, Ha& x) { x.advert_ms = r.interval_ms(v); }},
      {"virtual_addresses", true,
       [](Reader& r, uint32_t v, Ha& x) {
         if (r.listed(v, "leave the pair nothing to fail over", "list at least one virtual address"))
           r.entries(v, "virtual addresses", "a virtual address", kVip, x.virtual_addresses);
       }},
      {"state_sync", false, [](Reader& r, uint32_t v, Ha& x) { x.state_sync = r.boolean(v); }},
      {"strict_tcp", false, [](Reader& r, uint32_t v, Ha& x) { x.strict_tcp = r.boolean(v); }},
  };
  Ha out;
  out.loc = loc(i);
  size_t errors = d_.errors();
  // A pair read in part would cascade (a forward to an address no longer
  // virtual): later stages see all of it or none.
  if (!fields(i, "ha", kHa, out) || d_.errors() != errors) return;
  if (!out.advert_ms.set) out.advert_ms.v = 1000;
  if (!out.state_sync.set) out.state_sync.v = true;
  if (!out.strict_tcp.set) out.strict_tcp.v = true;
  s.ha = std::move(out);
}

Spec Reader::read() {
  static constexpr Key<Spec> kSections[] = {
      {"version", false,
       [](Reader& r, uint32_t v, Spec& x) {
         x.version = r.integer(v, "the spec version (1)");
         if (x.version.set && x.version.v != 1)
           r.error(Code::BadVersion, v, "unsupported spec version " + quote(r.text(v)), "this natc reads version 1");
         x.version.loc = r.loc(v);  // there, even when unreadable: not also reported missing
       }},
      {"interfaces", false, [](Reader& r, uint32_t v, Spec& x) { r.interfaces(v, x); }},
      {"forwarding", false, [](Reader& r, uint32_t v, Spec& x) { r.forwarding(v, x.forwarding); }},
      {"subnets", false, [](Reader& r, uint32_t v, Spec& x) { r.subnets(v, x); }},
      {"snat_pools", false, [](Reader& r, uint32_t v, Spec& x) { r.snat_pools(v, x); }},
      {"port_forwards", false, [](Reader& r, uint32_t v, Spec& x) { r.port_forwards(v, x); }},
      {"redirects", false, [](Reader& r, uint32_t v, Spec& x) { r.redirects(v, x); }},
      {"static_nat", false, [](Reader& r, uint32_t v, Spec& x) { r.static_nat(v, x); }},
      {"nptv6", false, [](Reader& r, uint32_t v, Spec& x) { r.nptv6(v, x); }},
      {"helpers", false, [](Reader& r, uint32_t v, Spec& x) { r.helpers(v, x); }},
      {"docker", false, [](Reader& r, uint32_t v, Spec& x) { r.docker(v, x); }},
      {"conntrack", false, [](Reader& r, uint32_t v, Spec& x) { r.conntrack(v, x); }},
      {"safety", false, [](Reader& r, uint32_t v, Spec& x) { r.safety(v, x); }},
      {"ha", false, [](Reader& r, uint32_t v, Spec& x) { r.ha(v, x); }},
  };
  Spec s;
  uint32_t root = t_.root();
  if (fields(root, "the spec", kSections, s) && !s.version.loc.line)
    d_.report(Code::BadVersion, loc(root), "the spec has no 'version'", "add 'version: 1' at the top");
  return s;
}

}  // namespace

std::string line_ref(const base::SourceFile::Lines& files, base::Loc at) {
  auto in = base::place_in(files, at.line);
  return in ? "line " + std::to_string(in->line) + " of " + std::string(in->file) : "line " + std::to_string(at.line);
}

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

std::optional<Spec> read_spec(const base::SourceFile& file, base::Diagnostics& diags, ParseCache* cache) {
  auto files = file.part_lines();
  Tree tree = Tree::read(file, diags, cache);  // *.json: JSON (machine-written specs); anything else YAML
  if (tree.root() == Tree::kNone) return std::nullopt;
  Spec spec = Reader(tree, diags, files).read();
  spec.files = std::move(files);
  diags.sort();
  return spec;
}

}  // namespace natc::spec
