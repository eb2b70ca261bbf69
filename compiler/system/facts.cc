#include "system/facts.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/proto.h"
#include "ha/config.h"
#include "nft/build.h"

namespace natc::system {
namespace {

// For each pool, the busiest destination of the flows translated to it.
void pool_load(const ir::Ir& ir, const std::vector<conntrack::Flow>& flows, check::LiveFacts& f) {
  std::map<std::string, std::map<std::string, uint64_t>> per_destination;
  for (const auto& flow : flows)
    for (const ir::Pool& p : ir.pools)
      for (const auto& r : p.addresses)
        if (r.contains(flow.reply.dst))
          ++per_destination[p.entry.name][base::to_string(flow.orig.dst) + " " + base::proto_name(flow.proto) + "/" +
                                          std::to_string(flow.orig.dport)];
  for (const auto& [pool, dests] : per_destination) {
    auto busiest = std::max_element(dests.begin(), dests.end(), [](auto& a, auto& b) { return a.second < b.second; });
    f.pool_busiest[pool] = {busiest->second, busiest->first};
  }
}

check::LiveFacts::Pair pair_facts(const ir::Ir& ir, System& sys) {
  check::LiveFacts::Pair p;
  ha::Host& h = *sys.ha;
  p.keepalived_installed = h.installed(ha::Daemon::Keepalived);
  p.keepalived_running = p.keepalived_installed && h.running(ha::Daemon::Keepalived);
  if (ir.ha->state_sync) {
    p.conntrackd_installed = h.installed(ha::Daemon::Conntrackd);
    p.conntrackd_running = p.conntrackd_installed && h.running(ha::Daemon::Conntrackd);
  }
  auto routes = sys.kernel.routes_to({ir.ha->peer});
  if (auto it = routes.find(ir.ha->peer); it != routes.end()) p.peer_route = {it->second.oif, it->second.local};
  p.hash = ha::pair_hash(ir);
  if (const std::string& peer = h.paths().peer_conf; !peer.empty()) {
    p.peer_file_name = peer;
    p.peer_file = h.read(peer);
    if (!p.peer_file) throw std::runtime_error("cannot read the peer's file " + peer);
  }
  return p;
}

}  // namespace

check::LiveFacts live_facts(const ir::Ir& ir, System& sys) {
  check::LiveFacts f;
  f.mem_total = sys.host.mem_total();
  f.max = sys.sysctls.number("net.netfilter.nf_conntrack_max");
  f.buckets = sys.sysctls.number("net.netfilter.nf_conntrack_buckets");
  if (!ir.pools.empty()) pool_load(ir, sys.conntrack.flows(), f);
  f.others = sys.kernel.others();
  for (const ir::Helper& h : ir.helpers) {
    std::string module = "nf_conntrack_" + h.kind;
    std::replace(module.begin(), module.end(), '-', '_');
    if (sys.host.has_module(module) == false &&
        std::find(f.missing_helpers.begin(), f.missing_helpers.end(), h.kind) == f.missing_helpers.end())
      f.missing_helpers.push_back(h.kind);
  }
  if (auto ifs = sys.kernel.interfaces()) {
    f.interfaces.emplace();
    for (const auto& i : *ifs) {
      check::LiveFacts::Interface out{i.name, {}, {}};
      for (const auto& a : i.addresses) (a.permanent ? out.configured : out.leased).push_back(a.addr);
      f.interfaces->push_back(std::move(out));
    }
  }
  if (ir.ha && sys.ha) f.pair = pair_facts(ir, sys);
  // Routes only matter when some other table has a chain natc's traffic
  // passes; a spec of 100k forwards would otherwise ask 100k of them.
  if (check::cotenancy_relevant(f.others))
    for (const auto& [addr, r] : sys.kernel.routes_to(check::cotenancy_addresses(ir)))
      f.routes[addr] = {r.oif, r.local};
  return f;
}

base::Diagnostics captures(const ir::Ir& ir, System& sys) {
  base::Diagnostics d;
  guard::captures(ir, sys.kernel.listeners(), d);
  return d;
}

std::vector<std::string> cuts(const ir::Ir& ir, const plan::Plan& p, System& sys,
                              const std::optional<guard::Session>& caller) {
  std::vector<conntrack::Flow> flows;
  try {
    flows = sys.conntrack.flows();
  } catch (const conntrack::Error&) {
    // Unreadable: the caller's own session is still checked.
  }
  auto sessions = guard::sessions(caller, flows, ir.management_ports);
  if (sessions.empty()) return {};
  guard::Facts f;
  f.next = sys.kernel.others();
  cotenancy::Ruleset mine = sys.kernel.preview(nft::build(ir));
  f.next.chains.insert(f.next.chains.end(), mine.chains.begin(), mine.chains.end());
  f.next.sets.insert(f.next.sets.end(), mine.sets.begin(), mine.sets.end());
  f.routes = sys.kernel.routes_to(guard::addresses(sessions));
  return guard::cuts(sessions, f, p);
}

LiveLints live_lints(const spec::Spec& spec, const ir::Ir& ir, System& sys) {
  LiveLints out;
  try {
    check::live_lints(spec, ir, live_facts(ir, sys), out.diags);
  } catch (const std::exception& e) {
    out.diags = {};
    out.skipped = e.what();
  }
  out.diags.sort();
  // The errors move to their own list; the warnings keep their counts.
  std::set<base::Code> errors;
  for (const base::Diagnostic& x : out.diags.all())
    if (base::code_severity(x.code) == base::Severity::Error) {
      out.errors.report(x.code, x.loc, x.message, x.help, x.width);
      errors.insert(x.code);
    }
  out.diags.forget(errors);
  return out;
}

}  // namespace natc::system
