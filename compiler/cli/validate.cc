// natc validate SPEC: parse, lower and check; print every diagnostic.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "check/check.h"
#include "cli/session.h"
#include "conntrack/conntrack.h"

namespace natc::cli {
namespace {

struct Options {
  std::string spec;
  Format format = Format::Text;
  bool live = false;
  KernelOptions k;
};

std::optional<uint64_t> mem_total() {
  std::string text;
  if (!base::read_file("/proc/meminfo", &text)) return std::nullopt;
  size_t at = text.find("MemTotal:");
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(text.substr(at + 9)) * 1024;  // kB
}

// The machine's side of the live lints: memory, conntrack sizes, and for
// each pool the busiest destination of the flows translated to it.
check::LiveFacts read_facts(const Frontend& fe, const KernelOptions& k) {
  check::LiveFacts f;
  f.mem_total = mem_total();
  if (!k.netns.empty()) kernel::enter_netns(k.netns);
  f.max = sysctl::read_number(k.paths, "net.netfilter.nf_conntrack_max");
  f.buckets = sysctl::read_number(k.paths, "net.netfilter.nf_conntrack_buckets");
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
  return f;
}

int validate(const Options& o) {
  Frontend fe;
  if (!run_frontend(o.spec, &fe)) return 1;
  if (o.live && fe.ok()) {
    try {
      check::live_lints(*fe.spec, fe.ir, read_facts(fe, o.k), fe.diags);
      fe.diags.sort();
    } catch (const std::exception& e) {
      std::cerr << "natc: " << e.what() << "\n";
      return 1;
    }
  }
  if (o.format == Format::Json) {
    std::cout << base::render_json(fe.diags, fe.file).dump(2) << "\n";
  } else {
    print_diagnostics_text(fe);
    std::cout << o.spec << ": " << base::summary(fe.diags) << "\n";
  }
  return fe.diags.errors() ? 1 : 0;
}

}  // namespace

void add_validate(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("validate", "check a spec and print its diagnostics");
  cmd->add_option("SPEC", o->spec, "the spec file")->required();
  add_format_option(*cmd, &o->format);
  cmd->add_flag("--live", o->live, "also check the spec against this machine (memory, conntrack, pool load)");
  cmd->add_option("--netns", o->k.netns, "with --live: the network namespace /run/netns/NAME");
  cmd->add_option("--proc-sys", o->k.paths.proc_sys, "with --live: the live sysctl tree")->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = validate(*o); });
}

}  // namespace natc::cli
