#include "status/render.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/text.h"

namespace natc::status {
namespace {

// Prometheus text format: label values escape \, " and newlines.
std::string label(const std::string& v) {
  std::string out;
  for (char c : base::one_line(v)) out += c == '\\' ? "\\\\" : c == '"' ? "\\\"" : std::string(1, c);
  return "\"" + out + "\"";
}

uint64_t drop(const Report& r, const char* key) {
  auto it = r.drops.find(key);
  return it == r.drops.end() ? 0 : it->second;
}

class Prometheus {
 public:
  explicit Prometheus(const Report& r) : r_(r) {}

  std::string run() {
    conntrack();
    entries();
    if (r_.drift) {
      metric("natc_drift", "gauge", "1 when the kernel differs from the spec.");
      o_ << "natc_drift " << (*r_.drift ? 1 : 0) << "\n";
    }
    metric("natc_pending_confirmation_seconds", "gauge",
           "Seconds left to confirm a change applied with --confirm; 0 when none waits.");
    o_ << "natc_pending_confirmation_seconds " << (r_.pending ? r_.pending->seconds_left : 0) << "\n";
    if (r_.pair) pair(*r_.pair);
    return o_.str();
  }

 private:
  void pair(const Report::Pair& p) {
    metric("natc_ha_primary", "gauge", "1 when keepalived last made this node primary (natc ha notify).");
    o_ << "natc_ha_primary " << (p.state == "primary" ? 1 : 0) << "\n";
    metric("natc_ha_address_held", "gauge", "1 when this node holds the pair's virtual address.");
    for (const auto& i : p.instances)
      o_ << "natc_ha_address_held{vrid=\"" << int(i.vrid) << "\",address=" << label(i.address)
         << ",interface=" << label(i.interface) << "} " << (i.held ? 1 : 0) << "\n";
    metric("natc_ha_keepalived_up", "gauge", "1 when keepalived runs.");
    o_ << "natc_ha_keepalived_up " << (p.keepalived_running ? 1 : 0) << "\n";
    if (!p.state_sync) return;
    metric("natc_ha_conntrackd_up", "gauge", "1 when conntrackd answers on its socket.");
    o_ << "natc_ha_conntrackd_up " << (p.sync ? 1 : 0) << "\n";
    metric("natc_ha_peer_seen", "gauge", "1 when conntrackd has received sync messages from the peer.");
    o_ << "natc_ha_peer_seen " << (p.peer_seen() ? 1 : 0) << "\n";
    if (!p.sync) return;
    const ha::SyncStats& s = *p.sync;
    metric("natc_ha_sync_flows", "gauge",
           "Flows in conntrackd's caches: internal (this node's), external (the peer's).");
    o_ << "natc_ha_sync_flows{cache=\"internal\"} " << s.internal << "\n";
    o_ << "natc_ha_sync_flows{cache=\"external\"} " << s.external << "\n";
    metric("natc_ha_sync_packets_total", "counter", "conntrackd's sync packets.");
    o_ << "natc_ha_sync_packets_total{direction=\"sent\"} " << s.sent << "\n";
    o_ << "natc_ha_sync_packets_total{direction=\"received\"} " << s.received << "\n";
    metric("natc_ha_sync_errors_total", "counter", "conntrackd's send and receive errors and lost messages.");
    o_ << "natc_ha_sync_errors_total{kind=\"send\"} " << s.send_errors << "\n";
    o_ << "natc_ha_sync_errors_total{kind=\"receive\"} " << s.receive_errors << "\n";
    o_ << "natc_ha_sync_errors_total{kind=\"lost\"} " << s.lost << "\n";
  }

  void metric(const char* name, const char* type, const char* help) {
    o_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }

  void conntrack() {
    if (r_.count)
      metric("natc_conntrack_entries", "gauge", "Conntrack entries in use."),
          o_ << "natc_conntrack_entries " << *r_.count << "\n";
    if (r_.max)
      metric("natc_conntrack_max", "gauge", "Conntrack table ceiling (nf_conntrack_max)."),
          o_ << "natc_conntrack_max " << *r_.max << "\n";
    metric("natc_conntrack_usage_ratio", "gauge", "Conntrack entries in use over the ceiling.");
    o_ << "natc_conntrack_usage_ratio " << r_.usage() << "\n";
    metric("natc_conntrack_alert_ratio", "gauge", "Usage above which natc alerts (conntrack.alert_percent).");
    o_ << "natc_conntrack_alert_ratio " << r_.alert_ratio << "\n";
    metric("natc_conntrack_alert", "gauge", "1 when conntrack usage is above the alert ratio.");
    o_ << "natc_conntrack_alert " << (r_.alert() ? 1 : 0) << "\n";
    if (!r_.timeouts.empty()) {
      metric("natc_conntrack_timeout_seconds", "gauge", "Conntrack timeouts in force.");
      for (const auto& t : r_.timeouts)
        o_ << "natc_conntrack_timeout_seconds{key=" << label(t.key) << "} " << t.live << "\n";
    }
    if (!r_.drops.empty()) {
      metric("natc_conntrack_drops_total", "counter", "Conntrack insert failures and drops, summed over CPUs.");
      for (const char* k : {"insert_failed", "drop", "early_drop"})
        if (r_.drops.count(k)) o_ << "natc_conntrack_drops_total{reason=" << label(k) << "} " << r_.drops.at(k) << "\n";
    }
  }

  void entries() {
    metric("natc_port_forward_flows", "gauge", "Conntrack entries translated by each port forward.");
    for (const auto& c : r_.forwards)
      o_ << "natc_port_forward_flows{entry=" << label(c.name) << "} " << c.flows << "\n";
    metric("natc_subnet_flows", "gauge", "Translated conntrack entries from each subnet.");
    for (const auto& c : r_.subnets) o_ << "natc_subnet_flows{entry=" << label(c.name) << "} " << c.flows << "\n";
    metric("natc_static_nat_flows", "gauge", "Conntrack entries from and to each static NAT's hosts.");
    for (const auto& c : r_.statics) o_ << "natc_static_nat_flows{entry=" << label(c.name) << "} " << c.flows << "\n";
    metric("natc_redirect_flows", "gauge", "Conntrack entries each redirect sent to the gateway itself.");
    for (const auto& c : r_.redirects) o_ << "natc_redirect_flows{entry=" << label(c.name) << "} " << c.flows << "\n";
    metric("natc_entry_packets_total", "counter", "Packets through each counted entry, both directions.");
    for (const auto* list : {&r_.forwards, &r_.subnets, &r_.statics, &r_.npts})
      for (const auto& c : *list)
        if (c.traffic) o_ << "natc_entry_packets_total{entry=" << label(c.name) << "} " << c.traffic->packets << "\n";
    metric("natc_entry_bytes_total", "counter", "Bytes through each counted entry, both directions.");
    for (const auto* list : {&r_.forwards, &r_.subnets, &r_.statics, &r_.npts})
      for (const auto& c : *list)
        if (c.traffic) o_ << "natc_entry_bytes_total{entry=" << label(c.name) << "} " << c.traffic->bytes << "\n";
    metric("natc_snat_pool_address_flows", "gauge", "Conntrack entries per SNAT pool address.");
    for (const auto& c : r_.pool_addresses)
      o_ << "natc_snat_pool_address_flows{pool=" << label(c.name) << ",address=" << label(c.detail) << "} " << c.flows
         << "\n";
    metric("natc_destination_port_flows", "gauge", "Conntrack entries for the busiest destination ports.");
    for (const auto& c : r_.ports)
      o_ << "natc_destination_port_flows{protocol=" << label(c.name) << ",port=" << label(c.detail) << "} " << c.flows
         << "\n";
  }

  const Report& r_;
  std::ostringstream o_;
};

nlohmann::json counts(const std::vector<Count>& v, const char* a, const char* b) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : v) {
    nlohmann::json j = {{a, c.name}, {b, c.detail}, {"flows", c.flows}};
    if (c.traffic) j["packets"] = c.traffic->packets, j["bytes"] = c.traffic->bytes;
    out.push_back(std::move(j));
  }
  return out;
}

void section(std::ostringstream& o, const char* title, const std::vector<Count>& v, const char* sep) {
  if (v.empty()) return;
  o << title << "\n";
  for (const auto& c : v) {
    o << "  " << base::one_line(c.name) << (c.detail.empty() ? "" : sep + base::one_line(c.detail)) << ": " << c.flows
      << " flows";
    if (c.traffic) o << ", " << c.traffic->packets << " packets, " << c.traffic->bytes << " bytes";
    o << "\n";
  }
}

}  // namespace

std::string render_prometheus(const Report& r) { return Prometheus(r).run(); }

namespace {

nlohmann::json pair_json(const Report::Pair& p) {
  nlohmann::json addresses = nlohmann::json::array();
  for (const auto& i : p.instances)
    addresses.push_back({{"vrid", i.vrid}, {"address", i.address}, {"interface", i.interface}, {"held", i.held}});
  nlohmann::json j = {{"state", p.state.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.state)},
                      {"state_age_seconds", p.state_age_s},
                      {"virtual_addresses", std::move(addresses)},
                      {"keepalived_running", p.keepalived_running},
                      {"state_sync", p.state_sync}};
  if (p.state_sync) {
    j["conntrackd_running"] = p.sync.has_value();
    j["peer_seen"] = p.peer_seen();
  }
  if (p.sync)
    j["sync"] = {{"internal_flows", p.sync->internal},
                 {"external_flows", p.sync->external},
                 {"packets_sent", p.sync->sent},
                 {"packets_received", p.sync->received},
                 {"send_errors", p.sync->send_errors},
                 {"receive_errors", p.sync->receive_errors},
                 {"lost", p.sync->lost}};
  return j;
}

void pair_text(std::ostream& o, const Report::Pair& p) {
  o << "gateway pair: " << (p.state.empty() ? "no state reported yet" : p.state)
    << (p.state_age_s >= 0 ? " for " + std::to_string(p.state_age_s) + "s" : "")
    << (p.keepalived_running ? "" : "  (keepalived is not running)") << "\n";
  for (const auto& i : p.instances)
    o << "  vrid " << int(i.vrid) << " " << i.address << " on " << i.interface << ": "
      << (i.held ? "held here" : "not here") << "\n";
  if (!p.state_sync) return;
  if (!p.sync) {
    o << "  conntrackd: not running (a failover would reset every flow)\n";
    return;
  }
  o << "  conntrackd: " << p.sync->internal << " flows here, " << p.sync->external << " from the peer; " << p.sync->sent
    << " packets sent, " << p.sync->received << " received" << (p.peer_seen() ? "" : " (peer not seen)") << "; errors "
    << p.sync->send_errors + p.sync->receive_errors << ", lost " << p.sync->lost << "\n";
}

}  // namespace

nlohmann::json render_json(const Report& r) {
  nlohmann::json timeouts = nlohmann::json::array();
  for (const auto& t : r.timeouts)
    timeouts.push_back(
        {{"key", t.key}, {"live", t.live}, {"spec", t.spec ? nlohmann::json(*t.spec) : nlohmann::json(nullptr)}});
  nlohmann::json j = {{"conntrack",
                       {{"count", r.count ? nlohmann::json(*r.count) : nullptr},
                        {"max", r.max ? nlohmann::json(*r.max) : nullptr},
                        {"usage", r.usage()},
                        {"alert_ratio", r.alert_ratio},
                        {"alert", r.alert()}}},
                      {"timeouts", timeouts},
                      {"drops", r.drops},
                      {"port_forwards", counts(r.forwards, "entry", "detail")},
                      {"subnets", counts(r.subnets, "entry", "cidr")},
                      {"static_nat", counts(r.statics, "entry", "detail")},
                      {"nptv6", counts(r.npts, "entry", "inside")},
                      {"redirects", counts(r.redirects, "entry", "detail")},
                      {"snat_pool_addresses", counts(r.pool_addresses, "pool", "address")},
                      {"top_destination_ports", counts(r.ports, "protocol", "port")}};
  if (r.drift) j["drift"] = {{"differs", *r.drift}, {"summary", r.drift_summary}};
  if (r.pending) j["pending_confirmation"] = {{"change", r.pending->change}, {"seconds_left", r.pending->seconds_left}};
  if (r.pair) j["pair"] = pair_json(*r.pair);
  return j;
}

std::string render_text(const Report& r) {
  std::ostringstream o;
  o << "conntrack: " << (r.count ? std::to_string(*r.count) : "?") << " of " << (r.max ? std::to_string(*r.max) : "?")
    << " entries (" << int(r.usage() * 1000) / 10.0 << "%)";
  if (r.alert()) o << "  ALERT: above " << int(r.alert_ratio * 100) << "%";
  o << "\n";
  if (!r.timeouts.empty()) {
    o << "timeouts:\n";
    for (const auto& t : r.timeouts)
      o << "  " << t.key << " " << t.live << "s"
        << (t.spec ? (*t.spec == t.live ? "" : "  (spec says " + *t.spec + "s)") : "") << "\n";
  }
  if (!r.drops.empty())
    o << "drops: insert_failed " << drop(r, "insert_failed") << ", drop " << drop(r, "drop") << ", early_drop "
      << drop(r, "early_drop") << "\n";
  section(o, "port forwards:", r.forwards, " ");
  section(o, "subnets:", r.subnets, " ");
  section(o, "static NAT:", r.statics, " ");
  section(o, "NPTv6 (untracked):", r.npts, " ");
  section(o, "redirects:", r.redirects, " ");
  section(o, "SNAT pool addresses:", r.pool_addresses, " ");
  section(o, "top destination ports:", r.ports, "/");
  if (r.drift) o << "drift: " << (*r.drift ? r.drift_summary : "none") << "\n";
  if (r.pending)
    o << "pending confirmation: change #" << r.pending->change << ", " << r.pending->seconds_left
      << "s left (natc confirm keeps it, natc rollback undoes it)\n";
  if (r.pair) pair_text(o, *r.pair);
  return o.str();
}

}  // namespace natc::status
