// natc status [SPEC]: conntrack usage, timeouts, drops, flows and traffic
// per spec entry, drift; as text, JSON or Prometheus metrics.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/common.h"
#include "status/render.h"
#include "status/status.h"

namespace natc::cli {
namespace {

struct Options {
  std::string spec;
  Format format = Format::Text;
  KernelOptions k;
};

int run(const Options& o) {
  Phases phases(o.k.verbose);
  std::optional<frontend::Frontend> fe;
  if (!o.spec.empty() && !load_spec(o.spec, &fe.emplace())) return 1;
  if (fe) phases.done("spec");
  status::Report r;
  try {
    auto machine = system::open_for_reading(o.k.system);
    r = status::collect(machine->get(), fe ? &*fe : nullptr, [&](std::string_view p) { phases.done(p); });
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (o.format == Format::Prometheus)
    std::cout << status::render_prometheus(r);
  else if (o.format == Format::Json)
    std::cout << base::json_text(status::render_json(r)) << "\n";
  else
    std::cout << status::render_text(r);
  phases.done("output");
  return 0;
}

}  // namespace

void add_status(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("status", "conntrack usage, timeouts, drops, flows per spec entry, drift");
  add_examples(*cmd, {{"natc status", "conntrack usage, timeouts, drops and drift"},
                      {"natc status natc.yaml --format prometheus", "the same as metrics, per spec entry"}});
  cmd->add_option("SPEC", o->spec, "compare timeouts and drift with this spec");
  add_format_option(*cmd, &o->format, {Format::Text, Format::Json, Format::Prometheus});
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
