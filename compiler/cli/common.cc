#include "cli/common.h"

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "apply/window.h"
#include "base/text.h"
#include "plan/render.h"
#include "sysctl/conf.h"

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
  cmd.add_option("--sysctl-dir", o->system.paths.sysctl_dir, "where " + std::string(sysctl::kFileName) + " lives")
      ->capture_default_str();
  cmd.add_option("--proc-sys", o->system.paths.proc_sys, "the live sysctl tree")->capture_default_str();
  cmd.add_option("--lock", o->system.lock, "lock file serialising natc processes")->capture_default_str();
  cmd.add_option("--lock-wait", o->system.lock_wait, "seconds to wait for the lock (0 to 3600)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd.add_option("--state-dir", o->system.state_dir, "where natc keeps its history and pending confirmations")
      ->capture_default_str();
}

void print_diagnostics(const base::Diagnostics& d, const base::SourceFile& file) {
  std::cerr << base::render_text(d, file);
}

bool load_spec(const std::string& path, frontend::Frontend* fe) {
  if (!frontend::load_file(path, fe)) {
    fail("cannot read '" + path + "': " + std::strerror(errno));
    return false;
  }
  print_diagnostics(fe->diags, fe->file);
  return fe->ok();
}

int fail(const std::string& what) {
  std::cerr << "natc: " << base::terminal_safe(what) << "\n";
  return 1;
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

int await_confirmation(system::System& sys, const apply::Result& r) {
  int64_t left = (*r.deadline_ms - sys.host.now_ms() + 999) / 1000;
  std::cout << "Change #" << *r.entry << " is applied and waits for confirmation: within " << left
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
    std::cout << (c.status == apply::Result::Status::Applied ? "Confirmed" : "Not confirmed") << ": " << c.message
              << ".\n";
    return c.status == apply::Result::Status::Applied ? 0 : 1;
  }
  // The guard rolls back now; say so once it has.
  for (int i = 0; i < 150 && apply::recorded(sys).pending; ++i) sys.host.sleep_ms(200);
  std::cout << "Not confirmed in time: change #" << *r.entry << " was rolled back.\n";
  return 1;
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

Phases::Phases(bool on) : on_(on), last_us_(now_us()) {}

void Phases::done(std::string_view phase) {
  long long t = now_us();
  char buf[64];
  snprintf(buf, sizeof buf, "%.*s %.1f ms", int(phase.size()), phase.data(), double(t - last_us_) / 1000.0);
  line_ += (line_.empty() ? "" : ", ") + std::string(buf);
  last_us_ = t;
}

Phases::~Phases() {
  if (on_ && !line_.empty()) std::cerr << "natc: " << line_ << "\n";
}

void print_warnings(const base::Diagnostics& d, std::string_view skipped, const base::SourceFile& file) {
  if (!skipped.empty())
    std::cerr << "natc: " << base::terminal_safe(skipped) << "; checks against this machine skipped\n";
  std::cerr << base::render_text(d, file);
}

void TerminalObserver::warnings(const base::Diagnostics& d, std::string_view skipped) {
  print_warnings(d, skipped, file_);
}

void TerminalObserver::planned(const plan::Plan& p) { std::cout << plan::render_text(p); }

void TerminalObserver::replanning() { std::cout << "The ruleset changed while natc planned; planning again.\n"; }

void TerminalObserver::note(std::string_view what) { std::cerr << "natc: " << base::terminal_safe(what) << "\n"; }

}  // namespace natc::cli
