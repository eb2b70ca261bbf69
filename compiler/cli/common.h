// What the subcommands share: their common options, loading a spec with
// its diagnostics printed, asking on the terminal, and printing an
// engine's progress. Everything here parses options or prints.
#pragma once

#include <exception>
#include <iosfwd>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apply/apply.h"
#include "base/diag.h"
#include "frontend/frontend.h"
#include "plan/saved.h"
#include "state/file_dir.h"
#include "system/real.h"

namespace CLI {
class App;
}

namespace natc::cli {

enum class Format { Text, Json, Markdown, Prometheus, SpecJson };
// --format with the formats a command renders: "--format text|json" in its
// help and the completion (both read the choices back from the option's
// type name), "unknown format 'x' (choose text or json)" for another.
void add_format_option(CLI::App& cmd, Format* format,
                       const std::vector<Format>& formats = {Format::Text, Format::Json});

// Examples at the end of a command's --help (and in natc(1)): each a
// command line and what it does.
void add_examples(CLI::App& cmd, const std::vector<std::pair<std::string, std::string>>& examples);

struct KernelOptions {
  system::Options system;
  bool yes = false;
  bool verbose = false;
};
// -v, --netns, --proc-sys, --lock, --lock-wait, --sysctl-dir, --state-dir:
// every command that reads or changes the machine (validate: for --live).
void add_kernel_options(CLI::App& cmd, KernelOptions* o);

// --warnings-as-errors and --allow CODE, for the commands that check a spec.
struct WarningOptions {
  bool as_errors = false;
  std::set<base::Code> allow;
};
void add_warning_options(CLI::App& cmd, WarningOptions* w);
// Takes the allowed codes out of `d`; true when what is left stops the
// command: an error, or a warning under --warnings-as-errors.
bool stops(base::Diagnostics& d, const WarningOptions& w);
// Says that warnings stopped the command; returns the exit code 1.
int warnings_stop();

// Loads a spec and prints its diagnostics (stderr, so stdout stays a clean
// script or document); false when it cannot be read or stops (above).
bool load_spec(const std::string& path, frontend::Frontend* fe, const WarningOptions& w = {},
               spec::ParseCache* cache = nullptr);

// The parse cache of spec directories, in the state directory (--state-dir).
struct SpecCache {
  explicit SpecCache(const KernelOptions& k) : dir(state::file_dir(k.system.state_dir)), cache(*dir) {}
  std::unique_ptr<state::Dir> dir;
  spec::ParseCache cache;
  // For -v: "spec" and, when a directory was read, how much came from the cache.
  std::string phase() const;
};
void print_diagnostics(const base::Diagnostics& d, const base::SourceFile& file);
// The live lints' warnings, or why they were skipped.
void print_warnings(const base::Diagnostics& d, std::string_view skipped, const base::SourceFile& file);

// "natc: WHAT" on stderr; returns the exit code 1.
int fail(const std::string& what);

// A snapshot file as the machine (`--state FILE` of plan and explain);
// nullptr when it cannot be read or used, with the reason printed.
std::unique_ptr<system::Machine> open_snapshot_file(const std::string& path);

// A confirmation window: "90s", "5m", "1h" or seconds; nullopt when it is
// not one, or not between a second and a day.
std::optional<int64_t> parse_duration(const std::string& text);
// The session natc runs in, from $SSH_CONNECTION.
std::optional<guard::Session> caller();
// When a confirmation window started by this apply ends: waits for Enter
// on the terminal (which confirms) or the end of the window, and says
// what became of the change. Returns the exit code.
int await_confirmation(system::System& sys, const apply::Result& r, std::ostream& out);

// Asks on the terminal unless --yes; false when the answer is not "yes".
// The question goes to `out` (stderr when stdout carries JSON).
bool confirm(const KernelOptions& o, const std::string& question, std::ostream& out);

// -v: how long each phase took, on one stderr line at the end.
class Phases {
 public:
  explicit Phases(bool on);
  void done(std::string_view phase);  // ends the phase running since the last call
  // Each phase ended so far and its milliseconds, in order.
  const std::vector<std::pair<std::string, double>>& list() const { return list_; }
  ~Phases();

 private:
  bool on_;
  std::vector<std::pair<std::string, double>> list_;
  long long last_us_;
};

// How apply, rollback and destroy report: text on stdout, or with
// --format json one JSON object on stdout and the words on stderr.
struct Report {
  Format format = Format::Text;
  WarningOptions w;
  std::ostream& words() const;
};

// An apply or destroy on the terminal: warnings and notes to stderr, the
// plan to stdout (stderr under --format json), the question before
// anything changes. Remembers the live warnings it was shown.
class TerminalObserver : public apply::Observer {
 public:
  TerminalObserver(const KernelOptions& o, const base::SourceFile& file, std::string question, Phases& phases,
                   const Report& report)
      : o_(o), file_(file), question_(std::move(question)), phases_(phases), report_(report) {}
  void warnings(const base::Diagnostics& d, std::string_view skipped) override;
  void phase(std::string_view name) override { phases_.done(name); }
  void planned(const plan::Plan& p) override;
  bool approve(const plan::Plan&) override;
  void replanning() override;
  void note(std::string_view what) override;
  const base::Diagnostics& seen() const { return seen_; }
  // A warning was shown and --warnings-as-errors is on.
  bool stopped() const { return report_.w.as_errors && seen_.warnings(); }

 private:
  const KernelOptions& o_;
  const base::SourceFile& file_;
  std::string question_;
  Phases& phases_;
  const Report& report_;
  base::Diagnostics seen_;
};

// apply's and destroy's --format json: what happened, the plan, the
// diagnostics and the phases' milliseconds.
nlohmann::json result_json(const apply::Result& r, const base::Diagnostics& diags, const base::SourceFile& file,
                           const Phases& phases);

// {"status": "failed", "message": WHAT}, for a failure before any result.
std::string failed_json(const std::string& what);

// An apply of a spec (or saved plan) on the terminal, for apply and
// rollback: the plan, the question, the result, a confirmation window.
// `fe`'s diagnostics are printed already; they go into the JSON result.
int apply_spec(const frontend::Frontend& fe, const std::optional<plan::Saved>& saved, const KernelOptions& k,
               const apply::Options& ao, Phases& phases, const Report& report);

// One entry per subcommand file.
void add_confirm(CLI::App& app, int* exit_code);
void add_rollback(CLI::App& app, int* exit_code);
void add_history(CLI::App& app, int* exit_code);
void add_guard(CLI::App& app, int* exit_code);
void add_validate(CLI::App& app, int* exit_code);
void add_compile(CLI::App& app, int* exit_code);
void add_plan(CLI::App& app, int* exit_code);
void add_apply(CLI::App& app, int* exit_code);
void add_snapshot(CLI::App& app, int* exit_code);
void add_destroy(CLI::App& app, int* exit_code);
void add_status(CLI::App& app, int* exit_code);
void add_flows(CLI::App& app, int* exit_code);
void add_version(CLI::App& app, int* exit_code);
void add_ha(CLI::App& app, int* exit_code);
void add_import(CLI::App& app, int* exit_code);
void add_explain(CLI::App& app, int* exit_code);
// Hidden: `natc __generate bash|man` writes the completion script or the
// man page from the command line's own definition, so neither can drift.
void add_generate(CLI::App& app, int* exit_code);

}  // namespace natc::cli
