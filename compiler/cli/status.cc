// natc status [SPEC]: the ops guide's Count / Max / Timeouts at a glance,
// the kernel's drop counters, flows per spec entry, and drift from a spec.
// --format prometheus writes node_exporter's textfile-collector format.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/session.h"
#include "conntrack/conntrack.h"
#include "ir/lower.h"
#include "kernel/snapshot.h"

namespace natc::cli {
namespace {

constexpr size_t kTopPorts = 10;

struct Options {
  std::string spec;
  Format format = Format::Text;
  bool prometheus = false;
  KernelOptions k;
};

struct Count {
  std::string name, detail;
  uint64_t flows = 0;
  std::optional<nft::Counter> traffic;  // packets and bytes, both directions
};

struct Status {
  std::optional<uint64_t> count, max;
  double alert_ratio = 0.8;
  std::vector<std::tuple<std::string, std::string, std::optional<std::string>>> timeouts;  // key, live, spec
  std::map<std::string, uint64_t> drops;
  std::vector<Count> forwards, subnets, pool_addresses, ports;
  std::optional<bool> drift;
  std::string drift_summary;
  double usage() const { return count && max && *max ? double(*count) / double(*max) : 0; }
  bool alert() const { return usage() > alert_ratio; }
};

// What natc's live table says about its entries: DNAT elements, subnet
// set elements and pool ranges, each with its spec name.
void entries_from_table(const kernel::Live& live, const std::vector<conntrack::Flow>& flows, Status& st) {
  // Packets and bytes per entry: the counters of natc's counting sets
  // (dnat_accept*, and the subnet sets), summed by element name.
  std::map<std::string, nft::Counter> traffic;
  for (const auto& ls : live.sets)
    if (ls.set.counter)
      for (const auto& e : ls.set.elements)
        if (e.counter) traffic[e.comment].packets += e.counter->packets, traffic[e.comment].bytes += e.counter->bytes;
  auto with_traffic = [&](Count& c) {
    if (auto it = traffic.find(c.name); it != traffic.end()) c.traffic = it->second;
  };
  std::map<std::string, Count> forwards, subnets;
  std::vector<std::pair<std::string, ir::AddrRange>> pool_ranges;
  conntrack::FlowIndex index(flows);
  std::set<conntrack::Translation> counted;  // one per allow_from range would count twice
  for (const auto& ls : live.sets) {
    for (const auto& e : ls.set.elements) {
      if (auto t = plan::translation_of(ls.set, e)) {
        Count& c = forwards[t->entry];
        c.name = t->entry;
        if (counted.insert(*t).second) c.flows += index.count(*t);
        continue;
      }
      // Subnet sets are natc's counting sets keyed on one address.
      if (!ls.set.counter || ls.set.key.size() != 1) continue;
      const auto& r = std::get<ir::AddrRange>(e.key[0]);
      Count& c = subnets[e.comment];
      c.name = e.comment;
      c.detail = base::to_string(r);
      for (const auto& f : flows) c.flows += r.contains(f.orig.src) && f.reply.dst != f.orig.src;
    }
  }
  for (const auto& lc : live.chains)
    for (const auto& lr : lc.rules)
      if (lr.rule && lr.rule->comment.starts_with("pool "))
        for (const auto& s : lr.rule->stmts)
          if (auto* n = std::get_if<nft::Nat>(&s); n && !n->map) {
            std::string pool = lr.rule->comment.substr(5, lr.rule->comment.find(" via ") - 5);
            if (std::none_of(pool_ranges.begin(), pool_ranges.end(), [&](auto& p) { return p.first == pool; }))
              pool_ranges.push_back({pool, n->addr});
          }
  // Flows per pool address: the address a flow was translated to is the
  // destination of its reply.
  std::map<std::pair<std::string, ir::Addr>, uint64_t> per_address;
  for (const auto& f : flows)
    for (const auto& [pool, range] : pool_ranges)
      if (range.contains(f.reply.dst)) ++per_address[{pool, f.reply.dst}];
  for (const auto& [k, n] : per_address) st.pool_addresses.push_back({k.first, base::to_string(k.second), n});
  for (auto& [k, c] : forwards) with_traffic(c), st.forwards.push_back(c);
  for (auto& [k, c] : subnets) with_traffic(c), st.subnets.push_back(c);
  std::map<std::pair<uint8_t, uint16_t>, uint64_t> ports;
  for (const auto& f : flows)
    if (f.orig.dport) ++ports[{f.proto, f.orig.dport}];
  std::vector<std::pair<std::pair<uint8_t, uint16_t>, uint64_t>> sorted(ports.begin(), ports.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (size_t i = 0; i < sorted.size() && i < kTopPorts; ++i) {
    auto [proto, port] = sorted[i].first;
    std::string p = proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 132 ? "sctp" : std::to_string(proto);
    st.ports.push_back({p, std::to_string(port), sorted[i].second});
  }
}

// Prometheus text format: label values escape \, " and newlines.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) out += c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : std::string(1, c);
  return "\"" + out + "\"";
}

void prometheus(const Status& st) {
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  if (st.count) metric("natc_conntrack_entries", "gauge", "Conntrack entries in use."), o << "natc_conntrack_entries " << *st.count << "\n";
  if (st.max) metric("natc_conntrack_max", "gauge", "Conntrack table ceiling (nf_conntrack_max)."), o << "natc_conntrack_max " << *st.max << "\n";
  metric("natc_conntrack_usage_ratio", "gauge", "Conntrack entries in use over the ceiling.");
  o << "natc_conntrack_usage_ratio " << st.usage() << "\n";
  metric("natc_conntrack_alert_ratio", "gauge", "Usage above which natc alerts (conntrack.alert_percent).");
  o << "natc_conntrack_alert_ratio " << st.alert_ratio << "\n";
  metric("natc_conntrack_alert", "gauge", "1 when conntrack usage is above the alert ratio.");
  o << "natc_conntrack_alert " << (st.alert() ? 1 : 0) << "\n";
  if (!st.timeouts.empty()) {
    metric("natc_conntrack_timeout_seconds", "gauge", "Conntrack timeouts in force.");
    for (const auto& [k, live, spec] : st.timeouts) o << "natc_conntrack_timeout_seconds{key=" << label(k) << "} " << live << "\n";
  }
  if (!st.drops.empty()) {
    metric("natc_conntrack_drops_total", "counter", "Conntrack insert failures and drops, summed over CPUs.");
    for (const char* k : {"insert_failed", "drop", "early_drop"})
      if (st.drops.count(k)) o << "natc_conntrack_drops_total{reason=" << label(k) << "} " << st.drops.at(k) << "\n";
  }
  metric("natc_port_forward_flows", "gauge", "Conntrack entries translated by each port forward.");
  for (const auto& c : st.forwards) o << "natc_port_forward_flows{entry=" << label(c.name) << "} " << c.flows << "\n";
  metric("natc_subnet_flows", "gauge", "Translated conntrack entries from each subnet.");
  for (const auto& c : st.subnets) o << "natc_subnet_flows{entry=" << label(c.name) << "} " << c.flows << "\n";
  metric("natc_entry_packets_total", "counter", "Packets through each port forward and subnet, both directions.");
  for (const auto* list : {&st.forwards, &st.subnets})
    for (const auto& c : *list)
      if (c.traffic) o << "natc_entry_packets_total{entry=" << label(c.name) << "} " << c.traffic->packets << "\n";
  metric("natc_entry_bytes_total", "counter", "Bytes through each port forward and subnet, both directions.");
  for (const auto* list : {&st.forwards, &st.subnets})
    for (const auto& c : *list)
      if (c.traffic) o << "natc_entry_bytes_total{entry=" << label(c.name) << "} " << c.traffic->bytes << "\n";
  metric("natc_snat_pool_address_flows", "gauge", "Conntrack entries per SNAT pool address.");
  for (const auto& c : st.pool_addresses)
    o << "natc_snat_pool_address_flows{pool=" << label(c.name) << ",address=" << label(c.detail) << "} " << c.flows << "\n";
  metric("natc_destination_port_flows", "gauge", "Conntrack entries for the busiest destination ports.");
  for (const auto& c : st.ports)
    o << "natc_destination_port_flows{protocol=" << label(c.name) << ",port=" << label(c.detail) << "} " << c.flows << "\n";
  if (st.drift) {
    metric("natc_drift", "gauge", "1 when the kernel differs from the spec.");
    o << "natc_drift " << (*st.drift ? 1 : 0) << "\n";
  }
  std::cout << o.str();
}

nlohmann::json json(const Status& st) {
  auto counts = [](const std::vector<Count>& v, const char* a, const char* b) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : v) {
      nlohmann::json j = {{a, c.name}, {b, c.detail}, {"flows", c.flows}};
      if (c.traffic) j["packets"] = c.traffic->packets, j["bytes"] = c.traffic->bytes;
      out.push_back(std::move(j));
    }
    return out;
  };
  nlohmann::json timeouts = nlohmann::json::array();
  for (const auto& [k, live, spec] : st.timeouts)
    timeouts.push_back({{"key", k}, {"live", live}, {"spec", spec ? nlohmann::json(*spec) : nlohmann::json(nullptr)}});
  nlohmann::json j = {{"conntrack", {{"count", st.count ? nlohmann::json(*st.count) : nullptr},
                                     {"max", st.max ? nlohmann::json(*st.max) : nullptr},
                                     {"usage", st.usage()},
                                     {"alert_ratio", st.alert_ratio},
                                     {"alert", st.alert()}}},
                      {"timeouts", timeouts},
                      {"drops", st.drops},
                      {"port_forwards", counts(st.forwards, "entry", "detail")},
                      {"subnets", counts(st.subnets, "entry", "cidr")},
                      {"snat_pool_addresses", counts(st.pool_addresses, "pool", "address")},
                      {"top_destination_ports", counts(st.ports, "protocol", "port")}};
  if (st.drift) j["drift"] = {{"differs", *st.drift}, {"summary", st.drift_summary}};
  return j;
}

void text(const Status& st) {
  std::cout << "conntrack: " << (st.count ? std::to_string(*st.count) : "?") << " of "
            << (st.max ? std::to_string(*st.max) : "?") << " entries (" << int(st.usage() * 1000) / 10.0 << "%)";
  if (st.alert()) std::cout << "  ALERT: above " << int(st.alert_ratio * 100) << "%";
  std::cout << "\n";
  if (!st.timeouts.empty()) {
    std::cout << "timeouts:\n";
    for (const auto& [k, live, spec] : st.timeouts)
      std::cout << "  " << k << " " << live << "s" << (spec ? (*spec == live ? "" : "  (spec says " + *spec + "s)") : "") << "\n";
  }
  if (!st.drops.empty())
    std::cout << "drops: insert_failed " << st.drops.at("insert_failed") << ", drop " << st.drops.at("drop")
              << ", early_drop " << st.drops.at("early_drop") << "\n";
  auto section = [](const char* title, const std::vector<Count>& v, const char* sep) {
    if (v.empty()) return;
    std::cout << title << "\n";
    for (const auto& c : v) {
      std::cout << "  " << c.name << (c.detail.empty() ? "" : sep + c.detail) << ": " << c.flows << " flows";
      if (c.traffic) std::cout << ", " << c.traffic->packets << " packets, " << c.traffic->bytes << " bytes";
      std::cout << "\n";
    }
  };
  section("port forwards:", st.forwards, " ");
  section("subnets:", st.subnets, " ");
  section("SNAT pool addresses:", st.pool_addresses, " ");
  section("top destination ports:", st.ports, "/");
  if (st.drift) std::cout << "drift: " << (*st.drift ? st.drift_summary : "none") << "\n";
}

int run(const Options& o) {
  Status st;
  std::optional<Frontend> fe;
  if (!o.spec.empty()) {
    fe.emplace();
    if (!run_frontend(o.spec, &*fe)) return 1;
    print_diagnostics_text(*fe);
    if (!fe->ok()) return 1;
    st.alert_ratio = double(fe->ir.alert_percent) / 100.0;
  }
  try {
    auto k = open_kernel(o.k);
    State state = live_state(*k, o.k);
    std::vector<conntrack::Flow> flows = conntrack::dump();
    st.count = sysctl::read_number(o.k.paths, "net.netfilter.nf_conntrack_count");
    st.max = sysctl::read_number(o.k.paths, "net.netfilter.nf_conntrack_max");
    for (std::string_view key : ir::timeout_keys()) {
      std::string sysctl = "net.netfilter." + ir::timeout_sysctl(key);
      auto live = sysctl::read_value(o.k.paths, sysctl);
      if (!live) continue;
      std::optional<std::string> spec;
      if (fe)
        for (const auto& s : fe->ir.sysctls)
          if (s.key == sysctl) spec = s.value;
      // Without a spec every timeout is shown; with one, those it sets.
      if (!fe || spec) st.timeouts.push_back({std::string(key), *live, spec});
    }
    st.drops = conntrack::stats();
    entries_from_table(state.live, flows, st);
    if (fe) {
      plan::Plan p = make_plan(*fe, state);
      st.drift = !p.empty();
      st.drift_summary = plan::summary(p);
    }
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "\n";
    return 1;
  }
  if (o.prometheus) prometheus(st);
  else if (o.format == Format::Json) std::cout << json(st).dump(2) << "\n";
  else text(st);
  return 0;
}

}  // namespace

void add_status(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("status", "conntrack usage, timeouts, drops, flows per spec entry, drift");
  cmd->add_option("SPEC", o->spec, "compare timeouts and drift with this spec");
  auto fmt = std::make_shared<std::string>("text");
  cmd->add_option("--format", *fmt, "output format: text, json or prometheus")
      ->check(CLI::IsMember({"text", "json", "prometheus"}))
      ->capture_default_str();
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, fmt, exit_code] {
    o->format = *fmt == "json" ? Format::Json : Format::Text;
    o->prometheus = *fmt == "prometheus";
    *exit_code = run(*o);
  });
}

}  // namespace natc::cli
