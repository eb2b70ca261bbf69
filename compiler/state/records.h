// What the state directory holds: the history of applies and the pending
// confirmation. Everything read back is checked; a damaged file is
// reported and ignored (the next write replaces it), never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/snapshot.h"
#include "state/dir.h"

namespace natc::state {

enum class Status { Applied, Pending, Confirmed, RolledBack };
std::string_view status_name(Status s);  // "applied", "pending", "confirmed", "rolled back"

struct Entry {
  uint64_t n = 0;         // 1, 2, 3 ... over the machine's life
  int64_t time = 0;       // when it was applied, seconds since the epoch
  std::string spec;       // the spec's name
  std::string spec_text;  // and its text: read_history leaves it empty, load_spec_text reads it
  // Where the text is kept beside the history ("spec-3.txt"), and its
  // checksum; empty for entries of older natcs, which held it inline.
  std::string spec_file;
  uint64_t spec_checksum = 0;
  uint32_t genid = 0;  // the ruleset generation natc left
  Status status = Status::Applied;
  std::string note;  // "rollback to #3", "not confirmed within 60s"
  // A state the operator stands by: applied without a window, or confirmed.
  bool settled() const { return status == Status::Applied || status == Status::Confirmed; }
};

inline constexpr size_t kHistoryKept = 10;

struct History {
  std::vector<Entry> entries;  // oldest first
  Entry* find(uint64_t n);
  const Entry* last_settled() const;
  uint64_t next_number() const { return entries.empty() ? 1 : entries.back().n + 1; }
  void add(Entry e);                 // keeps the last kHistoryKept
  std::vector<std::string> dropped;  // the spec files of entries add() let go
};

inline constexpr std::string_view kHistoryFile = "history.json";
inline constexpr std::string_view kPendingFile = "pending.json";
inline constexpr std::string_view kGuardPidFile = "guard.pid";

// A damaged file reads as empty, with `problem` saying why. The spec texts
// (a spec may be megabytes) are files of their own, read only when needed.
History read_history(Dir& d, std::string* problem);
// Writes the spec text of entries that hold one, then the history, then
// removes the dropped entries' spec files.
void write_history(Dir& d, const History& h);
// The entry's spec text, from its file; false, with `problem`, when the
// file is missing or not what was recorded.
bool load_spec_text(Dir& d, Entry& e, std::string* problem);

// A change applied with --confirm, waiting to be confirmed.
struct Pending {
  uint64_t n = 0;             // its history entry
  int64_t deadline_ms = 0;    // milliseconds since the epoch
  kernel::Snapshot previous;  // what was there before: put back unless confirmed
};
std::optional<Pending> read_pending(Dir& d, std::string* problem);
void write_pending(Dir& d, const Pending& p);

}  // namespace natc::state
