// natc import: the NAT this gateway already has (or an nft ruleset file
// has, with --from), as a natc spec (stdout or -o FILE), with what was left
// out and how to remove what was imported on stderr. Exit 0 when everything
// was imported, 3 when something was left out, 1 on an error.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "base/files.h"
#include "base/text.h"
#include "cli/common.h"
#include "import/import.h"
#include "import/nft_text.h"
#include "kernel/netlink_kernel.h"
#include "kernel/route.h"

namespace natc::cli {
namespace {

constexpr int kPartial = 3;

struct Options {
  std::string out;
  std::string from;
  bool force = false;
  KernelOptions k;
};

imports::Imported read_and_import(const Options& o) {
  auto machine = system::open_for_reading(o.k.system);
  system::System& sys = machine->get();
  cotenancy::Ruleset rs = sys.kernel.others();
  std::map<std::string, std::string> sysctls;
  for (const std::string& key : imports::sysctl_keys())
    if (auto v = sys.sysctls.value(key)) sysctls[key] = *v;
  std::string origin =
      o.k.system.netns.empty() ? "the live ruleset" : "the live ruleset of network namespace " + o.k.system.netns;
  return imports::import_ruleset({rs, sysctls, sys.kernel.interfaces(), origin});
}

// A file's ruleset, read without a kernel and without natc's lock. The
// interfaces of this machine (or --netns), when they can be read, place a
// masquerade of every source.
imports::Imported import_file(const Options& o) {
  imports::NftText text = imports::read_nft_file(o.from);
  std::optional<std::vector<kernel::Interface>> interfaces;
  if (!o.k.system.netns.empty()) kernel::enter_netns(o.k.system.netns);
  try {
    interfaces = kernel::interfaces();
  } catch (const std::exception&) {
    interfaces.reset();  // no rtnetlink here: masquerades of every source are left out
  }
  std::string origin =
      o.from == "-" ? "the nft ruleset on standard input" : "the nft ruleset file " + base::one_line(o.from);
  return imports::import_ruleset({text.rules, {}, interfaces, origin, text.places});
}

void report(const imports::Imported& im, const std::string& from) {
  if (!im.left_out.empty()) {
    std::cerr << "natc import: left out " << im.left_out.size() << " rule(s) natc cannot express:\n";
    for (const std::string& l : im.left_out) std::cerr << "  " << l << "\n";
  }
  for (const std::string& n : im.notes) std::cerr << "natc import: " << n << "\n";
  if (im.removal.empty()) return;
  if (!from.empty())
    std::cerr << "After the first `natc apply` of this spec, take these rules out of "
              << (from == "-" ? "the ruleset file" : base::one_line(from))
              << "\n(natc does not edit it), and load it again:\n";
  else
    std::cerr << "After the first `natc apply` of this spec, these commands remove the imported rules\n"
              << "from their old tables (natc does not run them):\n";
  for (const std::string& c : im.removal) std::cerr << "  " << c << "\n";
}

int run(const Options& o) {
  if (!o.out.empty() && !o.force && std::filesystem::exists(o.out))
    return fail("'" + o.out + "' exists; natc import does not overwrite a spec (--force to replace it)");
  imports::Imported im;
  try {
    im = o.from.empty() ? read_and_import(o) : import_file(o);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  // What import writes must be a spec natc takes: checked before it is written.
  frontend::Frontend fe;
  frontend::load_text(o.out.empty() ? "<import>" : o.out, im.spec, &fe);
  if (!fe.ok()) {
    std::cout << im.spec;
    print_diagnostics(fe.diags, fe.file);
    return fail("the imported spec does not validate (a natc bug: please report it with the ruleset)");
  }
  if (o.out.empty()) {
    std::cout << im.spec;
  } else {
    try {
      base::write_file_atomically(o.out, im.spec, 0644);
    } catch (const base::FileError& e) {
      return fail(e.what());
    }
  }
  report(im, o.from);
  return im.left_out.empty() ? 0 : kPartial;
}

}  // namespace

void add_import(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("import", "write the NAT this gateway (or an nft ruleset file) has as a natc spec");
  add_examples(*cmd, {{"natc import -o gateway.yaml", "the live ruleset's NAT and forwarding as a spec"},
                      {"natc import --netns gw", "the same for network namespace gw, on stdout"},
                      {"natc import --from /etc/nftables.conf", "an nft ruleset file, read without loading it"},
                      {"ssh gw nft list ruleset | natc import --from -", "another machine's ruleset, from stdin"}});
  cmd->add_option("-o,--out", o->out, "file to write (default: stdout)");
  cmd->add_flag("--force", o->force, "replace the file -o names if it exists");
  cmd->add_option("--from", o->from, "an nft ruleset file (nft -f syntax; - for stdin) instead of the live ruleset");
  add_kernel_options(*cmd, &o->k);
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace natc::cli
