// natc explain PROTO SRC[:PORT] -> DST[:PORT] --in IF [SPEC]: what the
// gateway does with one packet. Against the live ruleset (natc's table and
// every other), a snapshot, or a spec alone (no root needed).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/common.h"
#include "explain/explain.h"
#include "kernel/foreign.h"
#include "kernel/preview.h"
#include "nft/build.h"

namespace natc::cli {
namespace {

namespace ct = cotenancy;

struct Options {
  std::vector<std::string> words;  // PROTO SRC -> DST [SPEC]
  std::string in, out, state;
  Format format = Format::Text;
  KernelOptions k;
};

std::optional<std::pair<base::Addr, std::optional<uint16_t>>> endpoint(const std::string& s, bool port) {
  std::string addr = s;
  std::optional<uint16_t> p;
  if (port) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    addr = s.substr(0, colon);
    auto r = base::parse_port_range(s.substr(colon + 1));
    if (!r || r->first != r->last) return std::nullopt;
    p = r->first;
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  }
  auto a = base::parse_addr(addr);
  if (!a) return std::nullopt;
  return std::pair{*a, p};
}

// The packet from the words; an error message otherwise.
std::variant<explain::Packet, std::string> packet(const Options& o) {
  const auto& w = o.words;
  if (w.size() < 4 || w[2] != "->")
    return std::string("expected PROTO SRC:PORT -> DST:PORT (tcp 198.51.100.7:40000 -> 203.0.113.50:8080)");
  explain::Packet p;
  const std::map<std::string, uint8_t> protos{{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}};
  auto it = protos.find(w[0]);
  if (it == protos.end()) return "unknown protocol '" + base::one_line(w[0]) + "' (tcp, udp, icmp or icmpv6)";
  p.tuple.proto = it->second;
  bool ports = it->second == 6 || it->second == 17;
  auto s = endpoint(w[1], ports), d = endpoint(w[3], ports);
  if (!s) return "'" + base::one_line(w[1]) + "' is not an address" + (ports ? ":port" : "");
  if (!d) return "'" + base::one_line(w[3]) + "' is not an address" + (ports ? ":port" : "");
  if (s->first.family != d->first.family) return std::string("the two addresses are of different families");
  p.tuple.saddr = s->first, p.tuple.sport = s->second;
  p.tuple.daddr = d->first, p.tuple.dport = d->second;
  p.iif = o.in;
  return p;
}

std::string kernel_name(const frontend::Frontend* fe, const std::string& name) {
  if (!fe || !fe->spec) return name;
  for (const spec::Alias& a : fe->spec->interfaces)
    if (a.name.v == name) return a.kernel.v;
  return name;
}

// The gateway's addresses a spec names: SNAT addresses, pools, forward
// destinations, virtual addresses.
std::vector<base::AddrRange> spec_addresses(const ir::Ir& ir) {
  std::vector<base::AddrRange> out;
  for (const ir::Subnet& s : ir.subnets)
    if (s.snat == ir::SnatKind::To) out.push_back({s.to, s.to});
  for (const ir::Pool& p : ir.pools) out.insert(out.end(), p.addresses.begin(), p.addresses.end());
  for (const ir::Forward& f : ir.forwards)
    if (f.destination) out.push_back({*f.destination, *f.destination});
  if (ir.ha)
    for (const ir::Vip& v : ir.ha->vips) out.push_back({v.addr, v.addr});
  return out;
}

// Where the rules come from, and what is known of the machine.
struct Sources {
  ct::Ruleset rules;
  std::unique_ptr<system::Machine> machine;                     // live
  std::vector<base::AddrRange> mine;                            // the spec's addresses (no machine)
  std::map<base::Addr, std::optional<kernel::RouteTo>> routes;  // looked up so far (live)
  std::string out_if;
};

void append(ct::Ruleset& into, ct::Ruleset more) {
  for (auto& c : more.chains) into.chains.push_back(std::move(c));
  for (auto& s : more.sets) into.sets.push_back(std::move(s));
}

// false when a snapshot cannot be used (the reason is printed).
bool load_sources(const Options& o, const frontend::Frontend* fe, Sources& src) {
  std::string state = o.state.empty() ? (fe ? "" : "live") : o.state;
  if (state == "live") {
    src.machine = system::open_for_reading(o.k.system);
    kernel::Kernel& k = src.machine->get().kernel;
    src.rules = k.others();
    append(src.rules, kernel::decode_foreign(k.dump()));
  } else if (!state.empty()) {
    auto m = open_snapshot_file(state);
    if (!m) return false;
    src.rules = kernel::decode_foreign(m->get().kernel.dump());
  } else {
    src.rules = kernel::preview(nft::build(fe->ir));
  }
  if (fe && !src.machine) src.mine = spec_addresses(fe->ir);
  src.out_if = kernel_name(fe, o.out);
  return true;
}

explain::World world(Sources& src) {
  explain::World w{src.rules, {}, {}, {}};
  if (src.machine) {
    kernel::Kernel& k = src.machine->get().kernel;
    auto ifs = k.interfaces();
    // One route lookup per address, for both questions asked of it.
    auto lookup = [&k, &routes = src.routes](const base::Addr& a) -> std::optional<kernel::RouteTo> {
      auto it = routes.find(a);
      if (it == routes.end()) {
        auto r = k.routes_to({a});
        auto found = r.find(a);
        it = routes.emplace(a, found == r.end() ? std::nullopt : std::optional(found->second)).first;
      }
      return it->second;
    };
    w.local = [lookup](const base::Addr& a) -> std::optional<bool> {
      auto r = lookup(a);
      return r ? std::optional(r->local) : std::nullopt;
    };
    w.route = [lookup](const base::Addr& a) -> std::optional<std::string> {
      auto r = lookup(a);
      if (!r || r->oif.empty()) return std::nullopt;
      return r->oif;
    };
    w.routes_known = true;
    w.address_of = [ifs](const std::string& name, base::Family f) -> std::optional<base::Addr> {
      for (const auto& i : ifs.value_or(std::vector<kernel::Interface>{}))
        if (i.name == name)
          for (const auto& a : i.addresses)
            if (a.addr.family == f) return a.addr;
      return std::nullopt;
    };
    return w;
  }
  w.local = [&src](const base::Addr& a) -> std::optional<bool> {
    for (const auto& r : src.mine)
      if (r.contains(a)) return true;
    return std::nullopt;
  };
  w.route = [&src](const base::Addr&) -> std::optional<std::string> {
    return src.out_if.empty() ? std::nullopt : std::optional(src.out_if);
  };
  w.address_of = [](const std::string&, base::Family) -> std::optional<base::Addr> { return std::nullopt; };
  return w;
}

// "port_forwards 'web' (gateway.yaml:45:5)", or the entry's name alone.
std::string entry_ref(const frontend::Frontend* fe, const std::string& entry) {
  if (entry.empty()) return "";
  if (!fe) return "natc entry '" + entry + "'";
  base::Loc at = fe->locate(entry);
  if (at.line == 0) return "natc entry '" + entry + "'";
  auto place = fe->file.place(at.line);
  return "natc entry '" + entry + "' (" + std::string(place.file) + ":" + std::to_string(place.line) + ":" +
         std::to_string(at.col) + ")";
}

nlohmann::json decision_json(const ct::Decision& d, const frontend::Frontend* fe) {
  nlohmann::json j;
  if (d.chain) {
    j["family"] = std::string(ct::family_name(d.chain->family));
    j["table"] = d.chain->table;
    j["chain"] = d.chain->name;
  }
  j["handle"] = d.rule ? nlohmann::json(d.rule->handle) : nlohmann::json(nullptr);
  j["policy"] = d.rule == nullptr;
  if (!d.entry.empty()) j["entry"] = d.entry, j["spec"] = entry_ref(fe, d.entry);
  return j;
}

nlohmann::json tuple_json(const explain::Tuple& t) {
  nlohmann::json j{{"protocol", t.proto}, {"saddr", base::to_string(t.saddr)}, {"daddr", base::to_string(t.daddr)}};
  j["sport"] = t.sport ? nlohmann::json(*t.sport) : nlohmann::json(nullptr);
  j["dport"] = t.dport ? nlohmann::json(*t.dport) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json to_json(const explain::Explanation& e, const frontend::Frontend* fe) {
  nlohmann::json steps = nlohmann::json::array();
  for (const explain::Step& s : e.steps) {
    nlohmann::json j{{"hook", s.hook}, {"action", s.action}};
    if (s.decision) j["decided_by"] = decision_json(*s.decision, fe);
    if (!s.note.empty()) j["note"] = s.note;
    if (s.tuple) j["tuple"] = tuple_json(*s.tuple);
    nlohmann::json maybes = nlohmann::json::array();
    for (const ct::Maybe& m : s.maybes)
      maybes.push_back(
          {{"if", m.unknown}, {"rule", ct::describe(m.decision)}, {"would", explain::action_text(m.decision)}});
    j["maybe"] = maybes;
    steps.push_back(j);
  }
  nlohmann::json j{{"packet", tuple_json(e.packet.tuple)},
                   {"in", e.packet.iif},
                   {"steps", steps},
                   {"verdict", explain::verdict_name(e.verdict)},
                   {"maybe", e.maybe()}};
  j["out"] = e.oif.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.oif);
  j["translated"] = e.translated_known ? tuple_json(e.out) : nlohmann::json(nullptr);
  j["reply"] = e.reply ? nlohmann::json(explain::verdict_name(*e.reply)) : nlohmann::json(nullptr);
  return j;
}

// Each line is printed as one line: tables, chains, comments and
// interfaces come from other tools and may hold control characters.
void text(const explain::Explanation& e, const frontend::Frontend* fe, std::ostream& out) {
  auto line = [&out](const std::string& l) { out << base::one_line(l) << "\n"; };
  line(explain::to_string(e.packet.tuple) + ", in " + e.packet.iif);
  for (const explain::Step& s : e.steps) {
    std::string l = "  " + s.hook + ": " + s.action;
    if (s.decision && s.decision->chain) l += "  [" + ct::describe(*s.decision) + "]";
    if (s.decision && !s.decision->entry.empty()) l += "  " + entry_ref(fe, s.decision->entry);
    line(l);
    if (s.tuple) line("      now " + explain::to_string(*s.tuple));
    if (!s.note.empty()) line("      (" + s.note + ")");
    for (const ct::Maybe& m : s.maybes)
      line("      maybe: " + ct::describe(m.decision) + " would decide if " + m.unknown + " matched");
  }
  std::string l = "verdict: " + std::string(explain::verdict_name(e.verdict));
  if (e.verdict == explain::Explanation::Verdict::Forwarded)
    l += (e.oif.empty() ? "" : " out " + e.oif) + " as " +
         (e.translated_known ? explain::to_string(e.out) : "a translation natc cannot tell");
  if (e.reply) l += "; the reply is " + std::string(explain::verdict_name(*e.reply));
  line(l + (e.maybe() ? " (maybe: a step depends on what natc cannot evaluate)" : ""));
}

int run(const Options& o) {
  auto p = packet(o);
  if (auto* err = std::get_if<std::string>(&p)) return fail(*err);
  std::optional<frontend::Frontend> fe;
  if (o.words.size() > 5) return fail("unexpected '" + base::one_line(o.words[5]) + "'");
  if (o.words.size() == 5) {
    fe.emplace();
    if (!load_spec(o.words[4], &*fe)) return 1;
  }
  const frontend::Frontend* spec = fe ? &*fe : nullptr;
  auto& packet = std::get<explain::Packet>(p);
  packet.iif = kernel_name(spec, o.in);
  Sources src;
  explain::Explanation e;
  try {
    if (!load_sources(o, spec, src)) return 1;
    explain::World w = world(src);
    e = explain::run(w, packet);
  } catch (const std::exception& ex) {
    return fail(ex.what());
  }
  if (o.format == Format::Json)
    std::cout << base::json_text(to_json(e, spec)) << "\n";
  else
    text(e, spec, std::cout);
  return 0;
}

}  // namespace

void add_explain(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "explain", "show what the gateway does with one packet: PROTO SRC[:PORT] -> DST[:PORT] [SPEC]");
  add_examples(*cmd, {{"natc explain tcp 198.51.100.7:40000 -> 203.0.113.50:8080 --in eth0",
                       "the live ruleset's answer, hook by hook"},
                      {"natc explain udp 10.0.0.5:5000 -> 198.51.100.9:53 --in lan --out wan gateway.yaml",
                       "what the spec alone would do (no root needed)"}});
  // The packet's words are taken in order, as written: CLI11 would read
  // "->" as an option, so they arrive as extras.
  cmd->allow_extras();
  cmd->positionals_at_end(false);
  cmd->add_option("--in", o->in, "the interface the packet arrives on (kernel name or the spec's alias)")->required();
  cmd->add_option("--out", o->out, "the interface the route takes (without --state live)");
  cmd->add_option("--state", o->state, "live (the machine), or a snapshot file; default: the spec alone, or live");
  add_format_option(*cmd, &o->format);
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code, cmd] {
    o->words = cmd->remaining();
    *exit_code = run(*o);
  });
}

}  // namespace natc::cli
