#include "ha/files.h"

#include <charconv>

namespace natc::ha {
namespace {

// The lines a daemon reads: a file whose only change is a comment (the
// pair's hash, the priority note) needs no reload.
std::string meaning(std::string_view text) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    if (!line.starts_with("#")) out.append(line).push_back('\n');
    at = end + 1;
  }
  return out;
}

void want(Plan& p, Host* host, Daemon d, const std::string& path, std::optional<std::string> content) {
  std::optional<std::string> old = host ? host->read(path) : std::nullopt;
  if (content) {
    if (old != content) p.files.push_back({d, path, std::move(old), std::move(*content)});
  } else if (old && is_natc_file(*old)) {
    p.files.push_back({d, path, std::move(old), "", true});
  }
}

}  // namespace

std::string_view daemon_name(Daemon d) { return d == Daemon::Keepalived ? "keepalived" : "conntrackd"; }

Plan plan(const ir::Ir& ir, Host* host, const Paths& paths, const nft::Table* built) {
  Plan p;
  std::optional<std::string> keepalived, conntrackd;
  if (ir.ha) {
    keepalived = keepalived_conf(*ir.ha, paths, pair_hash(ir, built));
    if (ir.ha->state_sync) conntrackd = conntrackd_conf(ir, paths);
  }
  want(p, host, Daemon::Keepalived, paths.keepalived_conf, std::move(keepalived));
  want(p, host, Daemon::Conntrackd, paths.conntrackd_conf, std::move(conntrackd));
  return p;
}

Plan destroy(Host& host) { return plan(ir::Ir{}, &host, host.paths()); }

namespace {

// A restarted conntrackd starts with empty caches: a primary sends its
// flows to the peer, any other node asks the primary for its own.
std::string resync(Host& host) {
  std::optional<std::string> text = host.read(host.paths().state_file());
  std::optional<Recorded> rec = text ? parse_recorded(*text) : std::nullopt;
  bool primary = rec && rec->state == "primary";
  // Its control socket comes up a moment after the start returns.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (host.conntrackd({primary ? "-B" : "-n"}).code == 0)
      return primary ? "sent its flows to the peer" : "asked the peer for its flows";
    host.pause_ms(100);
  }
  return "it did not answer on its socket";
}

}  // namespace

std::vector<std::string> apply(const Plan& p, Host& host) {
  std::vector<std::string> notes;
  for (const File& f : p.files) {
    bool reload = !f.old || meaning(*f.old) != meaning(f.content);
    // conntrackd goes before its file: stopping it needs the socket the
    // file names.
    if (f.remove && f.daemon == Daemon::Conntrackd && host.running(f.daemon)) host.conntrackd({"-k"});
    if (f.remove) {
      host.remove(f.path);
    } else {
      host.make_run_dir();
      host.write(f.path, f.content);
    }
    if (f.remove && f.daemon == Daemon::Conntrackd) continue;
    if (!reload) continue;
    std::string name(daemon_name(f.daemon));
    if (!host.installed(f.daemon))
      notes.push_back(name + " is not installed: " + f.path + " waits for it (apt-get install " + name + ")");
    else if (!host.reload(f.daemon))
      notes.push_back(name + " is not running: it reads " + f.path + " when it starts");
    else if (f.daemon == Daemon::Keepalived)
      notes.push_back(name + " reloaded");
    else
      notes.push_back(name + " restarted; " + resync(host));
  }
  return notes;
}

namespace {

uint64_t number(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// "   8 Bytes sent   0 Bytes recv" -> its words.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < line.size() && out.size() < 16) {
    size_t start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    size_t end = std::min(line.find_first_of(" \t", start), line.size());
    out.push_back(line.substr(start, end - start));
    at = end;
  }
  return out;
}

}  // namespace

std::optional<SyncStats> parse_stats(std::string_view text) {
  SyncStats s;
  bool seen = false;
  std::string_view cache;
  size_t at = 0;
  for (int lines = 0; at < text.size() && lines < 200; ++lines) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.starts_with("cache ")) cache = line.substr(6);
    auto w = words(line);
    if (line.starts_with("current active connections:") && !w.empty()) {
      (cache.starts_with("external") ? s.external : s.internal) = number(w.back());
      seen = true;
    } else if (w.size() == 6 && w[1] == "Pckts" && w[2] == "sent" && w[4] == "Pckts" && w[5] == "recv") {
      s.sent = number(w[0]), s.received = number(w[3]);
    } else if (w.size() == 6 && w[1] == "Error" && w[2] == "send" && w[4] == "Error" && w[5] == "recv") {
      s.send_errors = number(w[0]), s.receive_errors = number(w[3]);
    } else if (w.size() >= 6 && w[4] == "Lost" && w[5] == "msgs") {
      s.lost = number(w[3]);
    }
  }
  if (!seen) return std::nullopt;
  return s;
}

std::optional<Recorded> parse_recorded(std::string_view text) {
  auto w = words(text.substr(0, std::min(text.find('\n'), size_t(128))));
  if (w.size() != 2 || (w[0] != "primary" && w[0] != "backup" && w[0] != "fault")) return std::nullopt;
  return Recorded{std::string(w[0]), int64_t(number(w[1]))};
}

namespace {

struct Step {
  const char* flag;
  const char* what;
};

// The conntrackd manual's primary-backup script, step for step.
constexpr Step kPrimary[] = {
    {"-c", "committed the peer's flows into the kernel"},
    {"-f", "flushed the caches"},
    {"-R", "resynchronised with the kernel"},
    {"-B", "sent a bulk update to the peer"},
};
constexpr Step kBackup[] = {
    {"-t", "shortened the kernel's timers (flows the primary closed go soon)"},
    {"-n", "asked the primary for its flows"},
};
constexpr Step kFault[] = {
    {"-t", "shortened the kernel's timers"},
};

}  // namespace

std::vector<std::string> notify(std::string_view state, Host& host, bool* ok) {
  std::vector<std::string> out;
  *ok = true;
  std::span<const Step> steps;
  if (state == "primary")
    steps = kPrimary;
  else if (state == "backup")
    steps = kBackup;
  else if (state == "fault")
    steps = kFault;
  else
    throw Error("unknown state '" + std::string(state).substr(0, 32) + "' (primary, backup or fault)");
  host.record_state(std::string(state));
  out.push_back("recorded state " + std::string(state));
  std::optional<std::string> conf = host.read(host.paths().conntrackd_conf);
  if (!conf || !is_natc_file(*conf)) {
    out.push_back("no state sync in the spec: conntrackd left alone");
    return out;
  }
  for (const Step& s : steps) {
    Run r = host.conntrackd({s.flag});
    if (r.code == 0) {
      out.push_back(s.what);
      continue;
    }
    *ok = false;
    out.push_back(std::string("conntrackd ") + s.flag + " failed" + (r.code < 0 ? " (not run)" : "") +
                  (r.out.empty() ? "" : ": " + r.out.substr(0, 200)));
  }
  return out;
}

}  // namespace natc::ha
