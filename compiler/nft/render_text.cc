#include "base/overload.h"
#include "nft/render.h"

namespace natc::nft {
namespace {

std::string field(Field k, Family f) {
  switch (k) {
    case Field::Saddr: return ip_keyword(f) + " saddr";
    case Field::Daddr: return ip_keyword(f) + " daddr";
    case Field::L4Proto: return "meta l4proto";
    case Field::Dport: return "th dport";
    case Field::Sport: return "th sport";
  }
  return "";
}

template <class T, class F>
std::string join(const std::vector<T>& v, std::string_view sep, F&& each) {
  std::string out;
  for (const T& x : v) out += (out.empty() ? "" : std::string(sep)) + each(x);
  return out;
}

std::string lookup(const Lookup& l) {
  return join(l.key, " . ", [&](Field k) {
    if (k == Field::Dport && l.transport) return std::string(ir::proto_name(*l.transport)) + " dport";
    return field(k, l.family);
  });
}

// An address with a port: IPv6 needs brackets to keep its colons apart.
std::string nat_target(const Nat& n) {
  auto addr = [&](const ir::Addr& a) {
    return n.family == Family::V6 && n.ports ? "[" + base::to_string(a) + "]" : base::to_string(a);
  };
  std::string s = n.addr.first == n.addr.last      ? addr(n.addr.first)
                  : n.addr.as_prefix() && !n.ports ? base::to_string(*n.addr.as_prefix())
                                                   : addr(n.addr.first) + "-" + addr(n.addr.last);
  if (n.ports) s += ":" + base::to_string(*n.ports);
  return s;
}

}  // namespace

std::string to_text(const Part& p) {
  return std::visit(base::Overload{[](const AddrRange& r) { return base::to_string(r); },
                                   [](Proto proto) { return std::string(ir::proto_name(proto)); },
                                   [](uint16_t port) { return std::to_string(port); }},
                    p);
}

std::string to_text(const Element& e) {
  std::string s = join(e.key, " . ", [](const Part& p) { return to_text(p); });
  if (!e.entry.empty()) s += " comment \"" + e.entry + "\"";
  if (!e.data.empty()) s += " : " + join(e.data, " . ", [](const Part& p) { return to_text(p); });
  return s;
}

std::string to_text(const Stmt& stmt) {
  return std::visit(
      base::Overload{
          [](const IfName& m) {
            return std::string(m.out ? "oifname " : "iifname ") + (m.negate ? "!= " : "") + "\"" + m.name + "\"";
          },
          [](const L4Proto& m) { return "meta l4proto " + std::string(ir::proto_name(m.proto)); },
          [](const AddrMatch& m) {
            return ip_keyword(m.family) + (m.source ? " saddr " : " daddr ") + base::to_string(m.range);
          },
          [](const PortMatch& m) {
            return std::string(ir::proto_name(m.proto)) + " dport " + base::to_string(m.ports);
          },
          [](const CtEstablished&) { return std::string("ct state established,related"); },
          [](const CtDnat&) { return std::string("ct status dnat"); },
          [](const CtInvalid&) { return std::string("ct state invalid"); },
          [](const TcpNotSyn&) { return std::string("tcp flags & (fin|syn|rst|ack) != syn"); },
          [](const Drop&) { return std::string("drop"); },
          [](const FibLocal&) { return std::string("fib daddr type local"); },
          [](const Lookup& l) { return lookup(l) + " @" + l.set; },
          [](const Accept&) { return std::string("accept"); },
          [](const Masquerade&) { return std::string("masquerade"); },
          [](const Redirect& r) { return r.port ? "redirect to :" + std::to_string(r.port) : std::string("redirect"); },
          [](const FibOif& f) { return "fib daddr oifname \"" + f.name + "\""; },
          [](const PrefixRewrite& r) {
            std::string field = ip_keyword(r.to.addr.family) + (r.source ? " saddr" : " daddr");
            return field + " set " + field + " & " + base::to_string(host_mask(r.to)) + " | " +
                   base::to_string(r.to.addr);
          },
          [](const Notrack&) { return std::string("notrack"); },
          [](const HelperSet& h) { return "ct helper set \"" + h.name + "\""; },
          [](const Nat& n) {
            std::string s = std::string(n.source ? "snat " : "dnat ") + ip_keyword(n.family) + " to ";
            s += n.map ? lookup(*n.map) + " map @" + n.map->set : nat_target(n);
            std::vector<std::string> flags;
            if (n.persistent) flags.push_back("persistent");
            if (n.fully_random) flags.push_back("fully-random");
            if (!flags.empty()) s += " " + join(flags, ",", [](const std::string& f) { return f; });
            return s;
          },
      },
      stmt);
}

std::string render_text(const Table& t) {
  std::string out = "table inet natc {}\ndelete table inet natc\ntable inet natc {\n";
  for (const CtHelper& h : t.helpers)
    out += "\tct helper " + h.name + " {\n\t\ttype \"" + h.type + "\" protocol " +
           std::string(ir::proto_name(h.proto)) + "\n\t\tl3proto inet\n\t}\n\n";
  for (const Set& s : t.sets) {
    out += std::string("\t") + (s.is_map() ? "map " : "set ") + s.name + " {\n\t\ttype " +
           join(s.key, " . ", [&](Field k) { return std::string(field_type(k, s.family)); });
    if (s.is_map()) out += " : " + join(s.data, " . ", [&](Data d) { return std::string(data_type(d, s.family)); });
    out += "\n";
    if (s.interval) out += "\t\tflags interval\n";
    if (s.counter) out += "\t\tcounter\n";
    if (!s.elements.empty()) {
      out += "\t\telements = {\n";
      for (size_t i = 0; i < s.elements.size(); ++i)
        out += "\t\t\t" + to_text(s.elements[i]) + (i + 1 < s.elements.size() ? ",\n" : "\n");
      out += "\t\t}\n";
    }
    out += "\t}\n\n";
  }
  for (size_t c = 0; c < t.chains.size(); ++c) {
    const Chain& ch = t.chains[c];
    out += "\tchain " + ch.name + " {\n\t\ttype " + (ch.nat() ? "nat" : "filter") + " hook " +
           (ch.hook == Hook::Prerouting    ? "prerouting priority dstnat"
            : ch.hook == Hook::Raw         ? "prerouting priority raw"
            : ch.hook == Hook::Output      ? "output priority -100"
            : ch.hook == Hook::Postrouting ? "postrouting priority srcnat"
                                           : "forward priority filter") +
           "; policy " + (ch.drop_policy ? "drop" : "accept") + ";\n";
    for (const Rule& r : ch.rules) {
      out += "\t\t" + join(r.stmts, " ", [](const Stmt& s) { return to_text(s); });
      if (!r.comment.empty()) out += " comment \"" + r.comment + "\"";
      out += "\n";
    }
    out += c + 1 < t.chains.size() ? "\t}\n\n" : "\t}\n";
  }
  return out + "}\n";
}

}  // namespace natc::nft
