// natc history: the last states natc applied, newest last.
#include <CLI/CLI.hpp>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apply/window.h"
#include "base/text.h"
#include "cli/common.h"

namespace natc::cli {
namespace {

struct Options {
  Format format = Format::Text;
  KernelOptions k;
};

std::string when(int64_t t) {
  char buf[32];
  time_t tt = time_t(t);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime(&tt));
  return buf;
}

int run(const Options& o) {
  apply::Recorded rec;
  try {
    auto machine = system::open(o.k.system);
    rec = apply::recorded(machine->get());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (!rec.problem.empty()) fail(rec.problem);
  if (o.format == Format::Json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : rec.history.entries)
      list.push_back({{"n", e.n},
                      {"time", e.time},
                      {"spec", e.spec},
                      {"genid", e.genid},
                      {"status", state::status_name(e.status)},
                      {"note", e.note}});
    nlohmann::json j = {{"entries", list}};
    if (rec.pending) j["pending"] = {{"n", rec.pending->n}, {"deadline", rec.pending->deadline_ms / 1000}};
    std::cout << base::json_text(j) << "\n";
    return 0;
  }
  if (rec.history.entries.empty()) std::cout << "No history yet.\n";
  for (const auto& e : rec.history.entries)
    std::cout << "#" << e.n << "  " << when(e.time) << "  " << state::status_name(e.status) << "  "
              << base::one_line(e.spec) << (e.note.empty() ? "" : "  (" + base::one_line(e.note) + ")") << "\n";
  return 0;
}

}  // namespace

void add_history(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("history", "list the states natc applied, for natc rollback --to N");
  add_examples(*cmd, {{"natc history", "the states natc applied, newest last"},
                      {"natc rollback --to 3", "go back to one of them"}});
  add_format_option(*cmd, &o->format);
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
