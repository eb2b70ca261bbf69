#include "cli/common.h"

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apply/window.h"
#include "base/files.h"
#include "base/text.h"
#include "plan/render.h"
#include "sysctl/conf.h"
#include "system/snapshot.h"

namespace natc::cli {
namespace {

long long now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace {

const char* format_name(Format f) {
  switch (f) {
    case Format::Text: return "text";
    case Format::Json: return "json";
    case Format::Markdown: return "markdown";
    case Format::Prometheus: return "prometheus";
    case Format::SpecJson: return "spec-json";
  }
  return "text";
}

// "a, b or c"
std::string either(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  return out;
}

}  // namespace

void add_format_option(CLI::App& cmd, Format* format, const std::vector<Format>& formats) {
  std::vector<std::string> names;
  std::string type;
  for (Format f : formats) {
    names.push_back(format_name(f));
    type += (type.empty() ? "" : "|") + names.back();
  }
  auto check = [names](const std::string& value) -> std::string {
    if (std::find(names.begin(), names.end(), value) != names.end()) return "";
    return "unknown format '" + base::one_line(value) + "' (choose " + either(names) + ")";
  };
  auto set = [format, formats, names](const std::string& value) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == value) *format = formats[i];
  };
  cmd.add_option_function<std::string>("--format", set, "output format: " + either(names))
      ->type_name(type)
      ->default_str(format_name(*format))
      ->check(CLI::Validator(check, "", "format"));
}

void add_examples(CLI::App& cmd, const std::vector<std::pair<std::string, std::string>>& examples) {
  std::string text = "Examples:";
  for (const auto& [line, what] : examples) text += "\n  " + line + "\n      " + what;
  cmd.footer(text);
}

void add_kernel_options(CLI::App& cmd, KernelOptions* o) {
  cmd.add_flag("-v,--verbose", o->verbose, "print how long each phase took");
  cmd.add_option("--netns", o->system.netns, "act on network namespace /run/netns/NAME");
  cmd.add_option("--proc-sys", o->system.paths.proc_sys, "the live sysctl tree")->capture_default_str();
  cmd.add_option("--lock", o->system.lock, "lock file serialising natc processes (reads hold it shared)")
      ->capture_default_str();
  cmd.add_option("--lock-wait", o->system.lock_wait, "seconds to wait for the lock (0 to 3600)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd.add_option("--sysctl-dir", o->system.paths.sysctl_dir, "where " + std::string(sysctl::kFileName) + " lives")
      ->capture_default_str();
  cmd.add_option("--state-dir", o->system.state_dir, "where natc keeps its history and pending confirmations")
      ->capture_default_str();
  // A gateway pair's daemons (spec `ha:`): where their files are.
  ha::Paths& ha = o->system.ha;
  cmd.add_option("--keepalived-conf", ha.keepalived_conf, "natc's keepalived file (spec ha:)")
      ->type_name("FILE")
      ->capture_default_str();
  cmd.add_option("--conntrackd-conf", ha.conntrackd_conf, "natc's conntrackd file (spec ha:)")
      ->type_name("FILE")
      ->capture_default_str();
  cmd.add_option("--keepalived-pid", ha.keepalived_pid, "keepalived's pid file, to reload it")
      ->type_name("FILE")
      ->capture_default_str();
  cmd.add_option("--ha-dir", ha.run_dir, "conntrackd's socket, lock and log, and the state keepalived reported")
      ->type_name("DIR")
      ->capture_default_str();
}

void print_diagnostics(const base::Diagnostics& d, const base::SourceFile& file) {
  std::cerr << base::render_text(d, file);
}

void add_warning_options(CLI::App& cmd, WarningOptions* w) {
  cmd.add_flag("--warnings-as-errors", w->as_errors, "exit 1 on a warning, as on an error (nothing is changed)");
  auto allow = [w](const std::vector<std::string>& ids) {
    for (const auto& id : ids)
      if (auto code = base::code_named(id)) w->allow.insert(*code);
  };
  auto check = [](const std::string& id) -> std::string {
    auto code = base::code_named(id);
    if (code && base::code_severity(*code) == base::Severity::Warning) return "";
    return "'" + base::one_line(id) + "' is not a warning code (docs/diagnostics.md lists them)";
  };
  cmd.add_option_function<std::vector<std::string>>("--allow", allow,
                                                    "take warning CODE out of the output and the exit code")
      ->type_name("CODE")
      ->delimiter(',')
      ->check(CLI::Validator(check, "", "code"));
}

int warnings_stop() { return fail("stopped: warnings count as errors here (--warnings-as-errors)"); }

bool stops(base::Diagnostics& d, const WarningOptions& w) {
  d.forget(w.allow);
  return d.errors() || (w.as_errors && d.warnings());
}

std::string SpecCache::phase() const {
  size_t files = cache.hits + cache.misses;
  if (!files) return "spec";
  return "spec (" + std::to_string(cache.hits) + " of " + std::to_string(files) + " files from the parse cache)";
}

bool load_spec(const std::string& path, frontend::Frontend* fe, const WarningOptions& w, spec::ParseCache* cache) {
  if (!frontend::load_file(path, fe, cache)) {
    fail("cannot read '" + path + "': " + std::strerror(errno));
    return false;
  }
  bool stop = stops(fe->diags, w);
  print_diagnostics(fe->diags, fe->file);
  if (stop && !fe->diags.errors()) warnings_stop();
  return !stop;
}

int fail(const std::string& what) {
  std::cerr << "natc: " << base::terminal_safe(what) << "\n";
  return 1;
}

std::unique_ptr<system::Machine> open_snapshot_file(const std::string& path) {
  std::string text;
  if (!base::read_file(path, &text)) {
    fail("cannot read snapshot '" + path + "': " + std::strerror(errno));
    return nullptr;
  }
  base::SourceFile file(path, std::move(text));
  base::Diagnostics diags;
  auto machine = system::open_snapshot(file, diags);
  if (!machine) print_diagnostics(diags, file);
  return machine;
}

std::optional<int64_t> parse_duration(const std::string& text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, size_t(text.data() + text.size() - end));
  int64_t scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (!scale || n < 1 || n * scale > 86400) return std::nullopt;
  return n * scale;
}

std::optional<guard::Session> caller() { return guard::from_ssh_connection(std::getenv("SSH_CONNECTION")); }

int await_confirmation(system::System& sys, const apply::Result& r, std::ostream& out) {
  int64_t left = (*r.deadline_ms - sys.host.now_ms() + 999) / 1000;
  out << "Change #" << *r.entry << " is applied and waits for confirmation: within " << left
      << "s run `natc confirm` (best from a new session: it proves you can still get in)"
      << (isatty(STDIN_FILENO) ? ", or press Enter here" : "")
      << ". Unconfirmed, it is rolled back, even if this natc is gone.\n"
      << std::flush;
  if (!isatty(STDIN_FILENO)) return 0;  // the guard is in charge
  pollfd in{STDIN_FILENO, POLLIN, 0};
  while (sys.host.now_ms() < *r.deadline_ms) {
    if (poll(&in, 1, 200) <= 0) continue;
    std::string line;
    std::getline(std::cin, line);
    apply::Result c = apply::confirm(sys);
    out << (c.status == apply::Result::Status::Applied ? "Confirmed" : "Not confirmed") << ": " << c.message << ".\n";
    return c.status == apply::Result::Status::Applied ? 0 : 1;
  }
  // The guard rolls back now; say so once it has.
  for (int i = 0; i < 150 && apply::recorded(sys).pending; ++i) sys.host.sleep_ms(200);
  out << "Not confirmed in time: change #" << *r.entry << " was rolled back.\n";
  return 1;
}

bool confirm(const KernelOptions& o, const std::string& question, std::ostream& out) {
  if (o.yes) return true;
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "natc: not a terminal, so nothing was changed; pass --yes to apply without asking\n";
    return false;
  }
  out << question << " Only 'yes' will be accepted: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

Phases::Phases(bool on) : on_(on), last_us_(now_us()) {}

void Phases::done(std::string_view phase) {
  long long t = now_us();
  list_.emplace_back(std::string(phase), double(t - last_us_) / 1000.0);
  last_us_ = t;
}

Phases::~Phases() {
  if (!on_ || list_.empty()) return;
  std::string line;
  for (const auto& [phase, ms] : list_) {
    char buf[96];
    snprintf(buf, sizeof buf, "%s %.1f ms", phase.c_str(), ms);
    line += (line.empty() ? "" : ", ") + std::string(buf);
  }
  std::cerr << "natc: " << line << "\n";
}

std::ostream& Report::words() const { return format == Format::Json ? std::cerr : std::cout; }

void print_warnings(const base::Diagnostics& d, std::string_view skipped, const base::SourceFile& file) {
  if (!skipped.empty())
    std::cerr << "natc: " << base::terminal_safe(skipped) << "; checks against this machine skipped\n";
  std::cerr << base::render_text(d, file);
}

void TerminalObserver::warnings(const base::Diagnostics& d, std::string_view skipped) {
  base::Diagnostics shown = d;
  shown.forget(report_.w.allow);
  print_warnings(shown, skipped, file_);
  seen_.merge(shown);
}

void TerminalObserver::planned(const plan::Plan& p) { report_.words() << plan::render_text(p); }

bool TerminalObserver::approve(const plan::Plan&) {
  if (stopped()) return warnings_stop(), false;
  return confirm(o_, question_, report_.words());
}

void TerminalObserver::replanning() { report_.words() << "The ruleset changed while natc planned; planning again.\n"; }

void TerminalObserver::note(std::string_view what) { std::cerr << "natc: " << base::terminal_safe(what) << "\n"; }

std::string failed_json(const std::string& what) { return base::json_text({{"status", "failed"}, {"message", what}}); }

nlohmann::json result_json(const apply::Result& r, const base::Diagnostics& diags, const base::SourceFile& file,
                           const Phases& phases) {
  using Status = apply::Result::Status;
  nlohmann::json timings = nlohmann::json::object();
  for (const auto& [phase, ms] : phases.list()) timings[phase] = std::round(ms * 10) / 10;
  return {{"status", r.status == Status::Applied     ? "applied"
                     : r.status == Status::Unchanged ? "unchanged"
                     : r.status == Status::Declined  ? "declined"
                                                     : "failed"},
          {"plan", plan::render_json(r.plan)},
          {"operations", r.status == Status::Applied ? r.plan.batch.ops.size() : 0},
          {"flows_reset", r.flows_reset},
          {"entry", r.entry ? nlohmann::json(*r.entry) : nlohmann::json()},
          {"confirm_deadline_ms", r.deadline_ms ? nlohmann::json(*r.deadline_ms) : nlohmann::json()},
          {"message", r.message},
          {"diagnostics", base::render_json(diags, file)["diagnostics"]},
          {"timings_ms", std::move(timings)}};
}

}  // namespace natc::cli
