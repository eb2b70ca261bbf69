#include "system/snapshot.h"

#include <cerrno>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/source.h"
#include "kernel/live_decode.h"
#include "kernel/preview.h"
#include "nft/render.h"
#include "sysctl/conf.h"
#include "sysctl/memory_store.h"

namespace natc::system {
namespace {

// natc's table as the snapshot recorded it; every other table and every
// flow is outside a snapshot.
class SnapshotKernel : public kernel::Kernel {
 public:
  explicit SnapshotKernel(kernel::Dump d) : dump_(std::move(d)), live_(kernel::decode_live(dump_)) {}
  kernel::Live read() override { return live_; }
  kernel::Live decode(const kernel::Dump& d) override { return kernel::decode_live(d); }
  kernel::Dump dump() override { return dump_; }
  std::string instance() override { return ""; }  // no image applies to a snapshot
  std::optional<kernel::Dump> dump_unchanged(uint32_t) override { return std::nullopt; }
  cotenancy::Ruleset others() override { return {}; }
  void commit(const kernel::Batch&) override { throw kernel::Error(EROFS, "a snapshot cannot be changed"); }
  std::map<base::Addr, kernel::RouteTo> routes_to(const std::vector<base::Addr>&) override { return {}; }
  std::vector<kernel::Listener> listeners() override { return {}; }
  std::optional<std::vector<kernel::Interface>> interfaces() override { return std::nullopt; }
  cotenancy::Ruleset preview(const nft::Table& t) override { return kernel::preview(t); }

 private:
  kernel::Dump dump_;
  kernel::Live live_;
};

class NoFlows : public conntrack::Table {
 public:
  std::vector<conntrack::Flow> flows() override { return {}; }
  size_t remove(const std::vector<conntrack::Translation>&) override { return 0; }
  std::map<std::string, uint64_t> stats() override { return {}; }
};

class NoHost : public Host {
 public:
  std::optional<uint64_t> mem_total() override { return std::nullopt; }
  std::optional<bool> has_module(const std::string&) override { return std::nullopt; }
  std::unique_ptr<Held> lock() override { return std::make_unique<Held>(); }
  int64_t now_ms() override { return 0; }
  void sleep_ms(int) override {}
  int64_t start_guard(uint64_t) override { throw std::runtime_error("a snapshot cannot be changed"); }
  void stop_guard(int64_t) override {}
  void log(const std::string&) override {}
  int64_t pid() override { return 0; }
};

}  // namespace

kernel::Snapshot take_snapshot(System& sys) {
  kernel::Snapshot s;
  s.dump = sys.kernel.dump();
  kernel::Live live = sys.kernel.decode(s.dump);
  auto table = kernel::to_table(live);
  s.ruleset = !live.table ? "" : table ? nft::render_text(*table) : "(not all of it is natc's writing)";
  for (const auto& key : sysctl::relevant_keys())
    if (auto v = sys.sysctls.value(key)) s.sysctls[key] = *v;
  s.sysctl_file = sys.sysctls.file();
  return s;
}

namespace {

class FromSnapshot : public Machine {
 public:
  explicit FromSnapshot(kernel::Snapshot s)
      : snapshot_(std::move(s)), kernel_(snapshot_.dump), sysctls_(snapshot_.sysctls, snapshot_.sysctl_file) {}
  System& get() override { return system_; }

 private:
  kernel::Snapshot snapshot_;
  SnapshotKernel kernel_;
  NoFlows conntrack_;
  sysctl::MemoryStore sysctls_;
  NoHost host_;
  state::MemoryDir state_;
  System system_{kernel_, conntrack_, sysctls_, host_, state_};
};

}  // namespace

// Parsing and decoding both belong to reading the file: a broken message
// is the file's fault, reported as such.
std::unique_ptr<Machine> open_snapshot(const base::SourceFile& file, base::Diagnostics& diags) {
  auto refuse = [&](base::Loc at, const std::string& why) {
    diags.report(base::Code::BadSnapshot, at, "not a usable natc snapshot: " + why,
                 "take the snapshot again with natc snapshot -o FILE");
    return nullptr;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(file.text());
  } catch (const nlohmann::json::parse_error& e) {
    return refuse(base::loc_at_byte(file.text(), e.byte ? e.byte - 1 : 0), "it is not valid JSON");
  }
  try {
    kernel::Snapshot s = kernel::snapshot_from_json(j);
    kernel::decode_live(s.dump);
    return std::make_unique<FromSnapshot>(std::move(s));
  } catch (const kernel::SnapshotError& e) {
    return refuse(base::loc_of_key(file.text(), e.key()), e.what());
  } catch (const kernel::Error& e) {
    return refuse(base::loc_of_key(file.text(), "messages"), e.what());
  }
}

}  // namespace natc::system
