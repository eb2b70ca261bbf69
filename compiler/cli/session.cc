#include "cli/session.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <set>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "check/check.h"
#include "conntrack/conntrack.h"
#include "kernel/foreign.h"
#include "kernel/route.h"
#include "nft/build.h"

namespace natc::cli {

namespace {
long long now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Phases::Phases(bool on) : on_(on), last_us_(now_us()) {}

void Phases::done(const char* phase) {
  long long t = now_us();
  char buf[64];
  snprintf(buf, sizeof buf, "%s %.1f ms", phase, double(t - last_us_) / 1000.0);
  line_ += (line_.empty() ? "" : ", ") + std::string(buf);
  last_us_ = t;
}

Phases::~Phases() {
  if (on_ && !line_.empty()) std::cerr << "natc: " << line_ << "\n";
}

void add_kernel_options(CLI::App& cmd, KernelOptions* o) {
  cmd.add_flag("-v,--verbose", o->verbose, "print how long each phase took");
  cmd.add_option("--netns", o->netns, "act on network namespace /run/netns/NAME");
  cmd.add_option("--sysctl-dir", o->paths.sysctl_dir, "where 90-natc.conf lives")->capture_default_str();
  cmd.add_option("--proc-sys", o->paths.proc_sys, "the live sysctl tree")->capture_default_str();
  cmd.add_option("--lock", o->lock, "lock file serialising natc processes")->capture_default_str();
  cmd.add_option("--lock-wait", o->lock_wait, "seconds to wait for the lock")->capture_default_str();
}

std::unique_ptr<kernel::Kernel> open_kernel(const KernelOptions& o) {
  if (!o.netns.empty()) kernel::enter_netns(o.netns);
  return kernel::netlink_kernel();
}

State live_state(kernel::Kernel& k, const KernelOptions& o) {
  return {kernel::decode_live(k.dump()), sysctl::from_system(o.paths)};
}

kernel::Snapshot read_snapshot(const std::string& path) {
  std::string text;
  if (!base::read_file(path, &text)) throw std::runtime_error("cannot read snapshot '" + path + "'");
  try {
    return kernel::snapshot_from_json(nlohmann::json::parse(text));
  } catch (const std::exception& e) {
    throw std::runtime_error("'" + path + "' is not a natc snapshot: " + e.what());
  }
}

State snapshot_state(const kernel::Snapshot& s) {
  auto values = s.sysctls;
  return {kernel::decode_live(s.dump),
          {[values](const std::string& key) -> std::optional<std::string> {
             auto it = values.find(key);
             if (it == values.end()) return std::nullopt;
             return it->second;
           },
           s.sysctl_file}};
}

plan::Plan make_plan(const Frontend& fe, const State& s) {
  plan::Plan p = plan::diff(nft::build(fe.ir), s.live);
  sysctl::plan_sysctls(fe.ir, s.sysctls, p);
  p.batch.genid = s.live.genid;
  return p;
}

void count_resets(plan::Plan& p) {
  if (p.resets.empty()) return;
  std::map<std::string, size_t> per_entry;
  try {
    conntrack::FlowIndex index(conntrack::dump());
    for (const auto& t : std::set(p.resets.begin(), p.resets.end())) per_entry[t.entry] += index.count(t);
  } catch (const conntrack::Error& e) {
    std::cerr << "natc: " << e.what() << "; flow counts unknown\n";
    return;
  }
  for (auto& c : p.changes) {
    bool resets = std::any_of(p.resets.begin(), p.resets.end(), [&](auto& t) { return t.entry == c.entry; });
    if (!resets) continue;
    c.flows_reset = per_entry[c.entry];
  }
}

namespace {

std::optional<uint64_t> mem_total() {
  std::string text;
  if (!base::read_file("/proc/meminfo", &text)) return std::nullopt;
  size_t at = text.find("MemTotal:");
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(text.substr(at + 9)) * 1024;  // kB
}

// For each pool, the busiest destination of the flows translated to it.
void pool_load(const Frontend& fe, check::LiveFacts& f) {
  std::map<std::string, std::map<std::string, uint64_t>> per_destination;
  for (const auto& flow : conntrack::dump())
    for (const ir::Pool& p : fe.ir.pools)
      for (const auto& r : p.addresses)
        if (r.contains(flow.reply.dst)) {
          std::string proto = flow.proto == 6 ? "tcp" : flow.proto == 17 ? "udp" : std::to_string(flow.proto);
          ++per_destination[p.origin.name][base::to_string(flow.orig.dst) + " " + proto + "/" + std::to_string(flow.orig.dport)];
        }
  for (const auto& [pool, dests] : per_destination) {
    auto busiest = std::max_element(dests.begin(), dests.end(), [](auto& a, auto& b) { return a.second < b.second; });
    f.pool_busiest[pool] = {busiest->second, busiest->first};
  }
}

}  // namespace

check::LiveFacts read_live_facts(const Frontend& fe, kernel::Kernel& k, const KernelOptions& o) {
  check::LiveFacts f;
  f.mem_total = mem_total();
  f.max = sysctl::read_number(o.paths, "net.netfilter.nf_conntrack_max");
  f.buckets = sysctl::read_number(o.paths, "net.netfilter.nf_conntrack_buckets");
  if (!fe.ir.pools.empty()) pool_load(fe, f);
  f.others = kernel::decode_foreign(k.dump_others());
  // Routes only matter when some other table has a chain natc's traffic
  // passes; a spec of 100k forwards would otherwise ask 100k of them.
  if (check::cotenancy_relevant(f.others))
    for (const auto& [addr, r] : kernel::routes_to(check::cotenancy_addresses(fe.ir))) f.routes[addr] = {r.oif, r.local};
  return f;
}

void warn_live(const Frontend& fe, kernel::Kernel& k, const KernelOptions& o) {
  base::Diagnostics live;
  try {
    check::live_lints(*fe.spec, fe.ir, read_live_facts(fe, k, o), live);
  } catch (const std::exception& e) {
    std::cerr << "natc: " << e.what() << "; checks against this machine skipped\n";
    return;
  }
  live.sort();
  std::cerr << base::render_text(live, fe.file);
}

void report_at_entry(const Frontend& fe, base::Code code, const std::string& origin, const std::string& message) {
  base::Loc at;
  auto find = [&](const std::string& name, base::Loc loc) {
    if (!at.line && name == origin) at = loc;
  };
  for (const auto& f : fe.ir.forwards) find(f.origin.name, f.origin.loc);
  for (const auto& s : fe.ir.subnets) find(s.origin.name, s.origin.loc);
  for (const auto& p : fe.ir.pools) find(p.origin.name, p.origin.loc);
  for (const auto& r : fe.ir.rules) find(r.origin.name, r.origin.loc);
  base::Diagnostics d;
  d.report(code, at, message);
  std::cerr << base::render_text(d, fe.file);
}

bool confirm(const KernelOptions& o, const std::string& question) {
  if (o.yes) return true;
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "natc: not a terminal, so nothing was changed; pass --yes to apply without asking\n";
    return false;
  }
  std::cout << question << " Only 'yes' will be accepted: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

}  // namespace natc::cli
