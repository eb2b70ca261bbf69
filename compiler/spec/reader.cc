#include "spec/reader.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <unordered_map>

#include "base/spell.h"
#include "spec/yaml_tree.h"

namespace natc::spec {
namespace {

using base::Code;
using Keys = std::initializer_list<std::string_view>;
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

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

class Reader {
 public:
  Reader(const Tree& t, base::Diagnostics& d) : t_(t), d_(d) {}
  Spec read();

 private:
  // --- shapes -------------------------------------------------------------
  const Tree::Node& n(uint32_t i) const { return t_.node(i); }
  Loc loc(uint32_t i) const { return n(i).loc; }
  std::string_view text(uint32_t i) const { return t_.scalar(i); }
  uint32_t width(uint32_t i) const {
    return n(i).kind == Kind::Scalar && n(i).plain ? uint32_t(text(i).size()) : 1;
  }
  void error(Code c, uint32_t node, std::string msg, std::string help = {}) {
    d_.report(c, loc(node), std::move(msg), std::move(help), width(node));
  }
  bool expect(uint32_t i, Kind k, std::string_view what) {
    if (n(i).kind == k) return true;
    error(Code::WrongType, i,
          "expected " + std::string(what) + ", found " + std::string(kind_name(n(i).kind)));
    return false;
  }
  bool scalar(uint32_t i, std::string_view what) {
    return expect(i, Kind::Scalar, what);
  }
  // Calls on_field(key, value) for each known key; returns the keys seen.
  template <class F>
  std::vector<std::string_view> fields(uint32_t map, std::string_view where, Keys keys,
                                       F&& on_field);
  template <class F>
  void items(uint32_t seq, std::string_view what, F&& on_item);
  void require(uint32_t map, const std::vector<std::string_view>& seen, Keys keys,
               std::string_view where) {
    std::vector<std::string> absent;
    for (std::string_view key : keys)
      if (std::find(seen.begin(), seen.end(), key) == seen.end()) absent.push_back("'" + std::string(key) + "'");
    if (absent.empty()) return;
    std::string list = absent[0];
    for (size_t i = 1; i < absent.size(); ++i)
      list += (i + 1 == absent.size() ? " and " : ", ") + absent[i];
    d_.report(Code::MissingKey, loc(map), std::string(where) + " needs " + list);
  }
  // Later stages see only entries that read cleanly, so one typo does not
  // cascade into checks that report its consequences.
  template <class T>
  void keep_if_clean(std::vector<T>& list, T&& item, size_t errors_before) {
    if (d_.errors() == errors_before) list.push_back(std::move(item));
  }

  // --- values -------------------------------------------------------------
  At<std::string> name(uint32_t i, std::string_view section,
                       std::unordered_map<std::string_view, Loc>& seen);
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
  void docker(uint32_t i, Spec& s);
  void conntrack(uint32_t i, Spec& s);

  const Tree& t_;
  base::Diagnostics& d_;
};

template <class F>
std::vector<std::string_view> Reader::fields(uint32_t map, std::string_view where, Keys keys,
                                             F&& on_field) {
  std::vector<std::string_view> seen;
  if (!expect(map, Kind::Map, where == "the spec" ? "a mapping of sections"
                                                  : "a mapping for " + std::string(where)))
    return seen;
  for (uint32_t k = n(map).first; k != kNone; k = n(n(k).next).next) {
    uint32_t v = n(k).next;
    if (n(k).kind != Kind::Scalar) {
      error(Code::WrongType, k, "keys must be plain words, found " + std::string(kind_name(n(k).kind)));
      continue;
    }
    std::string_view key = text(k);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string help = base::closest(key, keys);
      if (help.empty()) {
        help = "known keys: ";
        for (std::string_view known : keys) help += std::string(known) + ", ";
        help.resize(help.size() - 2);
      } else {
        help = "did you mean '" + help + "'?";
      }
      error(Code::UnknownKey, k, "unknown key " + quote(key) + " in " + std::string(where), help);
      continue;
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      error(Code::DuplicateKey, k, "key " + quote(key) + " appears twice in " + std::string(where));
      continue;
    }
    seen.push_back(key);
    on_field(key, v);
  }
  return seen;
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

At<std::string> Reader::name(uint32_t i, std::string_view section,
                             std::unordered_map<std::string_view, Loc>& seen) {
  At<std::string> out = string(i, "a name");
  if (!out.set) return out;
  if (!is_identifier(out.v)) {
    error(Code::BadName, i, std::string(section) + " name " + quote(out.v) + " is not an identifier",
          "names are letters, digits, '_', '.' and '-', start with a letter or digit, "
          "and have at most 64 characters");
    out.set = false;
    return out;
  }
  auto [it, fresh] = seen.emplace(text(i), loc(i));
  if (!fresh) {
    error(Code::DuplicateName, i, "duplicate " + std::string(section) + " name " + quote(out.v),
          "first defined at line " + std::to_string(it->second.line));
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
  std::string guess = base::closest(s, {"true", "false"});
  error(Code::BadBool, i, quote(s) + " is not a boolean",
        guess.empty() ? "write true or false" : "did you mean '" + guess + "'?");
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
    case base::PrefixError::Syntax:
      error(Code::BadCidr, i, quote(text(i)) + " is not an address or CIDR");
      break;
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
            quote(s) + (a->family != b->family ? " mixes IPv4 and IPv6"
                                               : " ends before it starts"));
    } else {
      out.push_back({{*a, *b}, loc(item), true});
    }
  };
  if (n(i).kind == Kind::Seq) items(i, "address ranges", one);
  else one(i);
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
  std::string guess = base::closest(text(i), words);
  error(Code::BadValue, i, quote(text(i)) + " is not one of " + all,
        guess.empty() ? "" : "did you mean '" + guess + "'?");
  return {};
}

std::vector<At<Proto>> Reader::protocols(uint32_t i) {
  std::vector<At<Proto>> out;
  auto one = [&](uint32_t item) {
    auto p = choice<Proto>(item, {{"tcp", Proto::Tcp}, {"udp", Proto::Udp}});
    if (!p.set) return;
    if (std::any_of(out.begin(), out.end(), [&](auto& q) { return q.v == p.v; }))
      error(Code::BadValue, item, "protocol " + quote(text(item)) + " is listed twice");
    else out.push_back(p);
  };
  if (n(i).kind == Kind::Seq) items(i, "protocols", one);
  else one(i);
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
    error(Code::BadAddress, i, quote(s) + " is not address[:port]",
          "e.g. 10.0.0.5:80, 10.0.0.5, or [2001:db8::5]:80");
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
  std::unordered_map<std::string_view, Loc> seen;
  for (uint32_t k = n(i).first; k != kNone; k = n(n(k).next).next) {
    Alias a;
    a.name = name(k, "interface alias", seen);
    a.kernel = interface(n(k).next);
    if (a.name.set && a.kernel.set) s.interfaces.push_back(std::move(a));
  }
}

void Reader::forwarding(uint32_t i, Forwarding& f) {
  fields(i, "forwarding", {"policy", "rules"}, [&](std::string_view key, uint32_t v) {
    if (key == "policy") {
      f.policy = choice<Policy>(v, {{"accept", Policy::Accept}, {"drop", Policy::Drop}});
      if (!f.policy.set) f.policy.v = Policy::Accept;
      return;
    }
    std::unordered_map<std::string_view, Loc> seen;
    items(v, "forward rules", [&](uint32_t item) {
      ForwardRule r;
      r.loc = loc(item);
      size_t errors = d_.errors();
      auto seen_keys = fields(item, "a forward rule", {"name", "protocol", "to", "port", "from"},
             [&](std::string_view k, uint32_t val) {
               if (k == "name") r.name = name(val, "forward rule", seen);
               else if (k == "protocol") r.protocols = protocols(val);
               else if (k == "to") r.to = prefixes(val);
               else if (k == "port") r.port = ports(val);
               else r.from = prefixes(val);
             });
      if (n(item).kind != Kind::Map) return;
      require(item, seen_keys, {"name", "to"}, "a forward rule");
      keep_if_clean(f.rules, std::move(r), errors);
    });
  });
}

Snat Reader::snat(uint32_t i) {
  Snat out;
  out.loc = loc(i);
  if (n(i).kind == Kind::Scalar) {
    if (text(i) == "masquerade") return out;
    std::string guess = base::closest(text(i), {"masquerade"});
    error(Code::BadValue, i, "unknown snat mode " + quote(text(i)),
          guess.empty() ? "write masquerade, {to: ADDRESS} or {pool: NAME}"
                        : "did you mean '" + guess + "'?");
    return out;
  }
  if (!expect(i, Kind::Map, "masquerade, {to: ADDRESS} or {pool: NAME}")) return out;
  fields(i, "snat", {"to", "pool"}, [&](std::string_view key, uint32_t v) {
    if (key == "to") out.kind = SnatKind::To, out.to = addr(v);
    else out.kind = SnatKind::Pool, out.pool = string(v, "a pool name");
  });
  if (n(i).len == 4) error(Code::BadValue, i, "snat takes either 'to' or 'pool', not both");
  return out;
}

void Reader::subnets(uint32_t i, Spec& s) {
  std::unordered_map<std::string_view, Loc> seen;
  items(i, "subnets", [&](uint32_t item) {
    Subnet sub;
    sub.loc = loc(item);
    size_t errors = d_.errors();
    auto keys = fields(item, "a subnet", {"name", "cidr", "egress", "snat"}, [&](std::string_view k, uint32_t v) {
      if (k == "name") sub.name = name(v, "subnet", seen);
      else if (k == "cidr") sub.cidr = prefix(v);
      else if (k == "egress") sub.egress = interface(v);
      else sub.snat = snat(v);
    });
    if (n(item).kind != Kind::Map) return;
    require(item, keys, {"name", "cidr", "egress", "snat"}, "a subnet");
    keep_if_clean(s.subnets, std::move(sub), errors);
  });
}

void Reader::snat_pools(uint32_t i, Spec& s) {
  std::unordered_map<std::string_view, Loc> seen;
  items(i, "SNAT pools", [&](uint32_t item) {
    SnatPool p;
    p.loc = loc(item);
    size_t errors = d_.errors();
    auto keys = fields(item, "a SNAT pool", {"name", "addresses", "ports", "persistent", "fully_random"},
           [&](std::string_view k, uint32_t v) {
             if (k == "name") p.name = name(v, "SNAT pool", seen);
             else if (k == "addresses") p.addresses = addr_ranges(v);
             else if (k == "ports") p.ports = ports(v);
             else if (k == "persistent") p.persistent = boolean(v);
             else p.fully_random = boolean(v);
           });
    if (n(item).kind != Kind::Map) return;
    require(item, keys, {"name", "addresses"}, "a SNAT pool");
    keep_if_clean(s.snat_pools, std::move(p), errors);
  });
}

void Reader::port_forwards(uint32_t i, Spec& s) {
  std::unordered_map<std::string_view, Loc> seen;
  seen.reserve(n(i).len);
  items(i, "port forwards", [&](uint32_t item) {
    PortForward f;
    f.loc = loc(item);
    size_t errors = d_.errors();
    auto keys = fields(item, "a port forward",
           {"name", "ingress", "protocol", "port", "to", "destination", "allow_from", "hairpin",
            "forward_accept"},
           [&](std::string_view k, uint32_t v) {
             if (k == "name") f.name = name(v, "port forward", seen);
             else if (k == "ingress") f.ingress = interface(v);
             else if (k == "protocol") f.protocols = protocols(v);
             else if (k == "port") f.port = ports(v);
             else if (k == "to") f.to = target(v);
             else if (k == "destination") f.destination = addr(v);
             else if (k == "allow_from") f.allow_from = prefixes(v);
             else if (k == "hairpin") f.hairpin = boolean(v);
             else {
               f.forward_accept = choice<ForwardAccept>(
                   v, {{"auto", ForwardAccept::Auto}, {"manual", ForwardAccept::Manual}});
               if (!f.forward_accept.set) f.forward_accept.v = ForwardAccept::Auto;
             }
           });
    if (n(item).kind != Kind::Map) return;
    require(item, keys, {"name", "ingress", "protocol", "port", "to"}, "a port forward");
    keep_if_clean(s.port_forwards, std::move(f), errors);
  });
}

void Reader::docker(uint32_t i, Spec& s) {
  fields(i, "docker", {"bridges"}, [&](std::string_view, uint32_t v) {
    std::unordered_map<std::string_view, Loc> bridges, publishes;
    items(v, "Docker bridges", [&](uint32_t item) {
      Bridge b;
      b.loc = loc(item);
      size_t errors = d_.errors();
      auto keys = fields(item, "a Docker bridge", {"name", "cidr", "masquerade", "publish"},
             [&](std::string_view k, uint32_t val) {
               if (k == "name") b.name = name(val, "Docker bridge", bridges);
               else if (k == "cidr") b.cidr = prefix(val);
               else if (k == "masquerade") b.masquerade = boolean(val);
               else items(val, "published ports", [&](uint32_t p_item) {
                 Publish p;
                 p.loc = loc(p_item);
                 size_t errors = d_.errors();
                 auto pkeys = fields(p_item, "a published port", {"name", "protocol", "port", "to"},
                        [&](std::string_view pk, uint32_t pv) {
                          if (pk == "name") p.name = name(pv, "published port", publishes);
                          else if (pk == "protocol") p.protocols = protocols(pv);
                          else if (pk == "port") p.port = ports(pv);
                          else p.to = target(pv);
                        });
                 if (n(p_item).kind != Kind::Map) return;
                 require(p_item, pkeys, {"name", "protocol", "port", "to"}, "a published port");
                 keep_if_clean(b.publish, std::move(p), errors);
               });
             });
      if (n(item).kind != Kind::Map) return;
      require(item, keys, {"name", "cidr"}, "a Docker bridge");
      if (!b.masquerade.set) b.masquerade.v = true;
      keep_if_clean(s.bridges, std::move(b), errors);
    });
  });
}

void Reader::conntrack(uint32_t i, Spec& s) {
  Conntrack c;
  c.loc = loc(i);
  fields(i, "conntrack", {"max", "buckets", "timeouts", "alert_percent"},
         [&](std::string_view k, uint32_t v) {
           if (k == "max") c.max = integer(v, "an entry count");
           else if (k == "buckets") c.buckets = integer(v, "a bucket count");
           else if (k == "alert_percent") c.alert_percent = integer(v, "a percentage");
           else if (n(v).kind != Kind::Null && expect(v, Kind::Map, "a mapping of key: seconds")) {
             std::unordered_map<std::string_view, Loc> seen;
             for (uint32_t tk = n(v).first; tk != kNone; tk = n(n(tk).next).next) {
               Timeout t{string(tk, "a timeout key"), integer(n(tk).next, "seconds")};
               if (t.key.set && !seen.emplace(text(tk), loc(tk)).second) {
                 error(Code::DuplicateKey, tk, "timeout " + quote(text(tk)) + " appears twice");
                 continue;
               }
               if (t.key.set && t.seconds.set) c.timeouts.push_back(std::move(t));
             }
           }
         });
  if (!c.alert_percent.set) c.alert_percent.v = kAlertPercent;
  if (n(i).kind == Kind::Map) s.conntrack = std::move(c);
}

Spec Reader::read() {
  Spec s;
  uint32_t root = t_.root();
  bool has_version = false;
  fields(root, "the spec",
         {"version", "interfaces", "forwarding", "subnets", "snat_pools", "port_forwards", "docker",
          "conntrack"},
         [&](std::string_view k, uint32_t v) {
           if (k == "version") {
             has_version = true;
             s.version = integer(v, "the spec version (1)");
             if (s.version.set && s.version.v != 1)
               error(Code::BadVersion, v, "unsupported spec version " + quote(text(v)),
                     "this natc reads version 1");
           } else if (k == "interfaces") interfaces(v, s);
           else if (k == "forwarding") forwarding(v, s.forwarding);
           else if (k == "subnets") subnets(v, s);
           else if (k == "snat_pools") snat_pools(v, s);
           else if (k == "port_forwards") port_forwards(v, s);
           else if (k == "docker") docker(v, s);
           else conntrack(v, s);
         });
  if (n(root).kind == Kind::Map && !has_version)
    d_.report(Code::BadVersion, loc(root), "the spec has no 'version'",
              "add 'version: 1' at the top");
  return s;
}

}  // namespace

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

std::optional<Spec> read_spec(const base::SourceFile& file, base::Diagnostics& diags) {
  Tree tree = Tree::parse(file, diags);
  if (tree.root() == Tree::kNone) return std::nullopt;
  Spec spec = Reader(tree, diags).read();
  diags.sort();
  return spec;
}

}  // namespace natc::spec
