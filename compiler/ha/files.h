// The pair's daemons as natc sees them: their configuration files (owned
// like the sysctl.d file: written whole, only when they change) and their
// control commands. Plan and apply see only this interface; ha/real.h is
// the machine's, the unit tests have a fake.
#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ha/config.h"
#include "ir/ir.h"

namespace natc::ha {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Daemon : uint8_t { Keepalived, Conntrackd };
std::string_view daemon_name(Daemon d);

// A command's exit code (-1: it could not be run) and what it printed.
struct Run {
  int code = -1;
  std::string out;
};

class Host {
 public:
  virtual ~Host() = default;
  virtual const Paths& paths() const = 0;
  virtual std::optional<std::string> read(const std::string& path) = 0;         // nullopt: absent or unreadable
  virtual void write(const std::string& path, const std::string& content) = 0;  // atomically; throws Error
  virtual bool remove(const std::string& path) = 0;                             // false: there was none
  virtual bool installed(Daemon d) = 0;
  virtual bool running(Daemon d) = 0;
  // keepalived re-reads its files (SIGHUP); conntrackd is restarted (its
  // unit, or stopped through its socket and started again). false: it was
  // not running, so there was nothing to reload.
  virtual bool reload(Daemon d) = 0;
  // `conntrackd -C CONF ARGS...`
  virtual Run conntrackd(const std::vector<std::string>& args) = 0;
  virtual void record_state(const std::string& state) = 0;  // what notify last did
  virtual void pause_ms(int ms) = 0;
  virtual void make_run_dir() = 0;  // Paths::run_dir, for conntrackd's socket and log; throws Error
};

struct File {
  Daemon daemon;
  std::string path;
  std::optional<std::string> old;  // nullopt: absent (or unknown: a snapshot)
  std::string content;             // what it will hold
  bool remove = false;             // natc's file, no longer asked for
};

struct Plan {
  std::vector<File> files;
  bool empty() const { return files.empty(); }
};

// The files `ir` asks for against what `host` holds; without a host (a
// snapshot) every file is planned, at `paths`. `built`: nft::build(ir),
// when the caller has it.
Plan plan(const ir::Ir& ir, Host* host, const Paths& paths, const nft::Table* built = nullptr);
// Removing natc's files (destroy).
Plan destroy(Host& host);
// Writes or removes the files, then reloads the daemons whose file changed
// in more than its comments. Returns what is worth saying ("keepalived is
// not running"). Throws Error when a file cannot be written.
std::vector<std::string> apply(const Plan& p, Host& host);

// `conntrackd -s`, the parts natc reports.
struct SyncStats {
  uint64_t internal = 0, external = 0;  // flows in each cache (this node's, the peer's)
  uint64_t sent = 0, received = 0;      // sync packets
  uint64_t send_errors = 0, receive_errors = 0, lost = 0;
};
// nullopt when the text is not conntrackd's statistics.
std::optional<SyncStats> parse_stats(std::string_view text);

// What notify recorded last: the state and when (ms since the epoch).
struct Recorded {
  std::string state;
  int64_t since_ms = 0;
};
std::optional<Recorded> parse_recorded(std::string_view text);

// `natc ha notify STATE`: drives conntrackd for keepalived's new state
// (primary: commit the peer's flows, then resync and send ours; backup:
// ask the primary for its flows; fault: stop syncing). Idempotent.
// Returns what it did, one line each; a failed step is said and the rest
// still runs. false in `ok` when a step failed.
std::vector<std::string> notify(std::string_view state, Host& host, bool* ok);

}  // namespace natc::ha
