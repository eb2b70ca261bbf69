#include <nlohmann/json.hpp>

#include "base/overload.h"
#include "nft/render.h"

namespace natc::nft {
namespace {

using nlohmann::json;

json payload(std::string proto, std::string fld) {
  return {{"payload", {{"protocol", std::move(proto)}, {"field", std::move(fld)}}}};
}
json meta(std::string key) { return {{"meta", {{"key", std::move(key)}}}}; }
json match(json left, json right, std::string op = "==") {
  return {{"match", {{"op", std::move(op)}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}

json field(Field k, Family f) {
  switch (k) {
    case Field::Saddr: return payload(ip_keyword(f), "saddr");
    case Field::Daddr: return payload(ip_keyword(f), "daddr");
    case Field::L4Proto: return meta("l4proto");
    case Field::Dport: return payload("th", "dport");
    case Field::Sport: return payload("th", "sport");
  }
  return nullptr;
}

json key(const Lookup& l) {
  auto one = [&](Field k) {
    if (k == Field::Dport && l.transport) return payload(std::string(ir::proto_name(*l.transport)), "dport");
    return field(k, l.family);
  };
  if (l.key.size() == 1) return one(l.key[0]);
  json parts = json::array();
  for (Field k : l.key) parts.push_back(one(k));
  return {{"concat", std::move(parts)}};
}

json addr(const AddrRange& r) {
  if (r.first == r.last) return base::to_string(r.first);
  if (auto p = r.as_prefix()) return {{"prefix", {{"addr", base::to_string(p->addr)}, {"len", p->len}}}};
  return {{"range", {base::to_string(r.first), base::to_string(r.last)}}};
}

json port(const PortRange& r) {
  if (r.first == r.last) return r.first;
  return {{"range", {r.first, r.last}}};
}

json part(const Part& p) {
  return std::visit(base::Overload{[](const AddrRange& r) { return addr(r); },
                                   [](Proto proto) { return json(std::string(ir::proto_name(proto))); },
                                   [](uint16_t n) { return json(n); }},
                    p);
}

json parts(const std::vector<Part>& ps) {
  if (ps.size() == 1) return part(ps[0]);
  json a = json::array();
  for (const Part& p : ps) a.push_back(part(p));
  return {{"concat", std::move(a)}};
}

json rewrite(const PrefixRewrite& r) {
  json field = payload(ip_keyword(r.to.addr.family), r.source ? "saddr" : "daddr");
  json masked = {{"&", {field, base::to_string(host_mask(r.to))}}};
  return json{{"mangle", {{"key", field}, {"value", {{"|", {masked, base::to_string(r.to.addr)}}}}}}};
}

json nat(const Nat& n) {
  json body = {{"family", ip_keyword(n.family)}};
  if (n.map) {
    body["addr"] = {{"map", {{"key", key(*n.map)}, {"data", "@" + n.map->set}}}};
  } else {
    body["addr"] = addr(n.addr);
    if (n.ports) body["port"] = port(*n.ports);
  }
  json flags = json::array();
  if (n.persistent) flags.push_back("persistent");
  if (n.fully_random) flags.push_back("fully-random");
  if (!flags.empty()) body["flags"] = flags.size() == 1 ? flags[0] : flags;
  return json{{n.source ? "snat" : "dnat", std::move(body)}};
}

json stmt(const Stmt& s) {
  return std::visit(
      base::Overload{
          [](const IfName& m) { return match(meta(m.out ? "oifname" : "iifname"), m.name, m.negate ? "!=" : "=="); },
          [](const L4Proto& m) { return match(meta("l4proto"), std::string(ir::proto_name(m.proto))); },
          [](const AddrMatch& m) {
            return match(payload(ip_keyword(m.family), m.source ? "saddr" : "daddr"), addr(m.range));
          },
          [](const PortMatch& m) {
            return match(payload(std::string(ir::proto_name(m.proto)), "dport"), port(m.ports));
          },
          [](const CtEstablished&) {
            return match({{"ct", {{"key", "state"}}}}, {"established", "related"}, "in");
          },
          [](const CtDnat&) {
            return match({{"ct", {{"key", "status"}}}}, "dnat", "in");
          },
          [](const CtInvalid&) {
            return match({{"ct", {{"key", "state"}}}}, "invalid", "in");
          },
          [](const TcpNotSyn&) {
            json flags = {{"&", {payload("tcp", "flags"), {"fin", "syn", "rst", "ack"}}}};
            return match(flags, "syn", "!=");
          },
          [](const Drop&) {
            return json{{"drop", nullptr}};
          },
          [](const FibLocal&) {
            return match({{"fib", {{"result", "type"}, {"flags", {"daddr"}}}}}, "local");
          },
          [](const Lookup& l) { return match(key(l), "@" + l.set); },
          [](const Accept&) {
            return json{{"accept", nullptr}};
          },
          [](const Masquerade&) {
            return json{{"masquerade", nullptr}};
          },
          [](const Redirect& r) {
            return r.port ? json{{"redirect", {{"port", r.port}}}} : json{{"redirect", nullptr}};
          },
          [](const FibOif& f) {
            return match({{"fib", {{"result", "oifname"}, {"flags", {"daddr"}}}}}, f.name);
          },
          [](const PrefixRewrite& r) { return rewrite(r); },
          [](const Notrack&) {
            return json{{"notrack", nullptr}};
          },
          [](const HelperSet& h) {
            return json{{"ct helper", h.name}};
          },
          [](const Nat& n) { return nat(n); },
      },
      s);
}

json type_of(const Set& s) {
  if (s.key.size() == 1) return std::string(field_type(s.key[0], s.family));
  json a = json::array();
  for (Field k : s.key) a.push_back(std::string(field_type(k, s.family)));
  return a;
}

json set(const Set& s) {
  json body = {{"family", "inet"}, {"table", kTable}, {"name", s.name}, {"type", type_of(s)}};
  if (s.is_map()) {
    // nft lists concatenated map data as one "a . b" string; this is its
    // own form (nft 1.0.6 cannot parse it back, see docs/compiled-ruleset.md).
    std::string data;
    for (Data d : s.data) data += (data.empty() ? "" : " . ") + std::string(data_type(d, s.family));
    body["map"] = data;
  }
  if (s.interval) body["flags"] = {"interval"};
  if (s.counter) body["stmt"] = json::array({json{{"counter", nullptr}}});
  if (!s.elements.empty()) {
    json elems = json::array();
    for (const Element& e : s.elements) {
      json el = {{"elem", {{"val", parts(e.key)}, {"comment", e.entry}}}};
      // nft lists a counting set's elements with their counts: fresh, zero.
      if (s.counter) el["elem"]["counter"] = {{"packets", 0}, {"bytes", 0}};
      elems.push_back(s.is_map() ? json::array({el, parts(e.data)}) : el);
    }
    body["elem"] = std::move(elems);
  }
  return {{s.is_map() ? "map" : "set", std::move(body)}};
}

json add(json object) { return {{"add", std::move(object)}}; }

}  // namespace

json render_json(const Table& t) {
  json table = {{"table", {{"family", "inet"}, {"name", kTable}}}};
  json cmds =
      json::array({json{{"metainfo", {{"json_schema_version", 1}}}}, add(table), json{{"delete", table}}, add(table)});
  for (const CtHelper& h : t.helpers)
    cmds.push_back(add({{"ct helper",
                         {{"family", "inet"},
                          {"table", kTable},
                          {"name", h.name},
                          {"type", h.type},
                          {"protocol", ir::proto_name(h.proto)},
                          {"l3proto", "inet"}}}}));
  for (const Set& s : t.sets) cmds.push_back(add(set(s)));
  // nft's own order: sets and maps, then every chain, then every rule.
  for (const Chain& c : t.chains)
    cmds.push_back(add({{"chain",
                         {{"family", "inet"},
                          {"table", kTable},
                          {"name", c.name},
                          {"type", c.nat() ? "nat" : "filter"},
                          {"hook", c.hook == Hook::Prerouting || c.hook == Hook::Raw ? "prerouting"
                                   : c.hook == Hook::Output                          ? "output"
                                   : c.hook == Hook::Postrouting                     ? "postrouting"
                                                                                     : "forward"},
                          {"prio", c.priority()},
                          {"policy", c.drop_policy ? "drop" : "accept"}}}}));
  for (const Chain& c : t.chains) {
    for (const Rule& r : c.rules) {
      json expr = json::array();
      for (const Stmt& s : r.stmts) expr.push_back(stmt(s));
      json body = {{"family", "inet"}, {"table", kTable}, {"chain", c.name}, {"expr", std::move(expr)}};
      if (!r.comment.empty()) body["comment"] = r.comment;
      cmds.push_back(add({{"rule", std::move(body)}}));
    }
  }
  return {{"nftables", std::move(cmds)}};
}

}  // namespace natc::nft
