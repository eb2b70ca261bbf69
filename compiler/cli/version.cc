// natc version: natc's own version, the libraries it was built against and
// the kernel it runs on, for bug reports.
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "cli/common.h"
#include "version.h"

namespace natc::cli {
namespace {

struct Options {
  Format format = Format::Text;
};

int run(const Options& o) {
  utsname u{};
  std::string kernel = uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "unknown";
  const std::pair<const char*, const char*> libraries[] = {
      {"libnftnl", NATC_LIBNFTNL_VERSION},
      {"libmnl", NATC_LIBMNL_VERSION},
      {"libnetfilter_conntrack", NATC_CONNTRACK_VERSION},
      {"yaml-cpp", NATC_YAML_CPP_VERSION},
  };
  if (o.format == Format::Json) {
    nlohmann::json libs;
    for (const auto& [name, version] : libraries) libs[name] = version;
    std::cout << base::json_text({{"natc", NATC_VERSION}, {"built_with", libs}, {"kernel", kernel}}) << "\n";
    return 0;
  }
  std::cout << "natc " NATC_VERSION "\nbuilt with";
  for (const auto& [name, version] : libraries) std::cout << " " << name << " " << version;
  std::cout << "\nkernel " << base::terminal_safe(kernel) << "\n";
  return 0;
}

}  // namespace

void add_version(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("version", "print natc's version, its libraries' and the kernel's");
  add_examples(*cmd, {{"natc version --format json", "the same as JSON, for a bug report"}});
  add_format_option(*cmd, &o->format);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
