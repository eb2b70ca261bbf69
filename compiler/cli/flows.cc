// natc flows [ENTRY]: the conntrack entries natc's rules translated, in
// spec terms; --watch streams new and ended ones; `natc flows reset ENTRY`
// deletes one entry's flows (the ops guide's targeted delete, never a flush).
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/spell.h"
#include "base/text.h"
#include "cli/common.h"
#include "status/flows.h"

namespace natc::cli {
namespace {

struct Options {
  std::string entry, src, dst;
  bool watch = false;
  int64_t count = 0;  // --watch: stop after this many events (0: never)
  Format format = Format::Text;
  KernelOptions k;
};

uint64_t now_ns() {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// --src/--dst: an address or a CIDR; false (said) when it is neither.
bool prefix_option(const std::string& name, const std::string& text, std::optional<base::Prefix>* out) {
  if (text.empty()) return true;
  base::Prefix p;
  if (base::parse_prefix(text, &p) != base::PrefixError::None)
    return fail("--" + name + " takes an address or a CIDR like 10.0.0.0/24 (not '" + text + "')"), false;
  *out = p;
  return true;
}

std::optional<status::FlowFilter> filter_of(const Options& o) {
  status::FlowFilter f{o.entry, {}, {}};
  if (!prefix_option("src", o.src, &f.src) || !prefix_option("dst", o.dst, &f.dst)) return std::nullopt;
  return f;
}

// An ENTRY natc's table does not have: said, with the nearest one.
bool known_entry(const status::Attribution& a, const std::string& entry) {
  const auto& names = a.entries();
  if (entry.empty() || std::find(names.begin(), names.end(), entry) != names.end()) return true;
  std::vector<std::string_view> views(names.begin(), names.end());
  std::string near = base::closest(entry, views);
  fail("natc's table has no port forward or subnet '" + entry + "'" +
       (near.empty() ? names.empty() ? std::string(" (it has none)") : "" : "; did you mean '" + near + "'?"));
  return false;
}

int watch(const Options& o, const status::FlowFilter& filter, system::System& sys) {
  auto attribution = std::make_unique<status::Attribution>(sys.kernel.read());
  int64_t seen = 0;
  auto last_read = std::chrono::steady_clock::now();
  sys.conntrack.watch([&](conntrack::Event event, const conntrack::Flow& f) {
    auto t = attribution->of(f);
    // A NAT'd flow natc cannot name: its table may have changed since.
    if (!t && (f.status & (conntrack::kSrcNat | conntrack::kDstNat)) &&
        std::chrono::steady_clock::now() - last_read > std::chrono::seconds(1)) {
      attribution = std::make_unique<status::Attribution>(sys.kernel.read());
      last_read = std::chrono::steady_clock::now();
      t = attribution->of(f);
    }
    if (!t || !filter.passes(*t)) return true;
    const char* word = event == conntrack::Event::New ? "new" : "destroy";
    if (o.format == Format::Json) {
      nlohmann::json j = status::flow_json(*t, now_ns());
      j["event"] = word;
      std::cout << j.dump() << "\n" << std::flush;
    } else {
      std::cout << "[" << word << "] " << base::terminal_safe(status::flow_line(*t, now_ns())) << "\n" << std::flush;
    }
    return !o.count || ++seen < o.count;
  });
  return 0;
}

int list(const Options& o) {
  auto filter = filter_of(o);
  if (!filter) return 1;
  try {
    if (o.watch) {
      auto machine = system::open(o.k.system);  // no lock: a watch may run for days
      status::Attribution a(machine->get().kernel.read());
      if (!known_entry(a, o.entry)) return 1;
      return watch(o, *filter, machine->get());
    }
    auto machine = system::open_for_reading(o.k.system);
    status::Attribution a(machine->get().kernel.read());
    if (!known_entry(a, o.entry)) return 1;
    auto flows = status::translated(a, machine->get().conntrack.flows(), *filter);
    if (o.format == Format::Json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& t : flows) j.push_back(status::flow_json(t, now_ns()));
      std::cout << base::json_text({{"flows", j}, {"count", flows.size()}}) << "\n";
    } else {
      std::cout << base::terminal_safe(status::render_flows(flows, now_ns()));
    }
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

int reset(const Options& o) {
  auto filter = filter_of(o);
  if (!filter) return 1;
  try {
    auto machine = system::open(o.k.system);
    system::System& sys = machine->get();
    auto held = sys.host.lock();  // as apply, which resets flows too
    status::Attribution a(sys.kernel.read());
    if (!known_entry(a, o.entry)) return 1;
    auto flows = status::translated(a, sys.conntrack.flows(), *filter);
    if (flows.empty()) {
      std::cout << "No flows of '" << base::terminal_safe(o.entry) << "' to reset.\n";
      return 0;
    }
    std::cout << base::terminal_safe(status::render_flows(flows, now_ns()));
    std::string what = std::to_string(flows.size()) + (flows.size() == 1 ? " flow" : " flows") + " of '" +
                       base::one_line(o.entry) + "'";
    if (!confirm(o.k, "Delete these " + what + "?", std::cout)) return 1;
    std::vector<conntrack::Flow> doomed;
    doomed.reserve(flows.size());
    for (const auto& t : flows) doomed.push_back(t.flow);
    size_t n = sys.conntrack.remove_flows(doomed);
    sys.host.log("natc: reset " + std::to_string(n) + " flows of '" + o.entry + "'");
    std::cout << "Reset " << n << (n == 1 ? " flow" : " flows") << " of '" << base::terminal_safe(o.entry)
              << "'. New connections take the current rules.\n";
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

void add_filters(CLI::App& cmd, Options* o) {
  cmd.add_option("--src", o->src, "only flows from this address or CIDR (the original source)");
  cmd.add_option("--dst", o->dst, "only flows to this address or CIDR (the original destination or the target)");
}

}  // namespace

void add_flows(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("flows", "list the conntrack flows natc's rules translated, per spec entry");
  add_examples(*cmd, {{"natc flows", "every flow a port forward or subnet of natc translated"},
                      {"natc flows web --src 198.51.100.0/24", "the flows of port forward 'web' from one network"},
                      {"natc flows --watch", "new and ended translations as they happen (like conntrack -E)"},
                      {"natc flows reset web", "delete the flows of 'web' only, after asking"}});
  cmd->add_option("ENTRY", o->entry, "a port forward or subnet of the spec (default: all)");
  add_filters(*cmd, o.get());
  cmd->add_flag("--watch", o->watch, "stream new and destroyed translations until interrupted");
  cmd->add_option("--count", o->count, "with --watch: stop after N events")->check(CLI::NonNegativeNumber);
  add_format_option(*cmd, &o->format);
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code, cmd] {
    if (cmd->get_subcommands().empty()) *exit_code = list(*o);
  });

  auto r = std::make_shared<Options>();
  CLI::App* rs = cmd->add_subcommand("reset", "delete the flows of one spec entry (never a flush), after asking");
  add_examples(*rs, {{"natc flows reset web", "delete the flows port forward 'web' translated"},
                     {"natc flows reset office --dst 198.51.100.7 --yes", "one subnet's flows to one host"}});
  rs->add_option("ENTRY", r->entry, "the port forward or subnet whose flows go")->required();
  add_filters(*rs, r.get());
  rs->add_flag("-y,--yes", r->k.yes, "delete without asking");
  add_kernel_options(*rs, &r->k);
  rs->callback([r, exit_code] { *exit_code = reset(*r); });
}

}  // namespace natc::cli
