#include "state/records.h"

#include "base/binary.h"
#include "base/text.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace natc::state {
namespace {

using nlohmann::json;

constexpr int kFormat = 1;

constexpr std::pair<Status, std::string_view> kStatus[] = {
    {Status::Applied, "applied"},
    {Status::Pending, "pending"},
    {Status::Confirmed, "confirmed"},
    {Status::RolledBack, "rolled back"},
};

Status status_of(const std::string& s) {
  for (const auto& [st, name] : kStatus)
    if (name == s) return st;
  throw std::runtime_error("unknown status '" + s + "'");
}

// Every field present and of its type, or an exception saying which.
template <class T>
T field(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) throw std::runtime_error(std::string("no \"") + key + "\"");
  return j.at(key).get<T>();
}

std::string spec_file_of(uint64_t n) { return "spec-" + std::to_string(n) + ".txt"; }

Entry entry_of(const json& j) {
  Entry e;
  e.n = field<uint64_t>(j, "n");
  e.time = field<int64_t>(j, "time");
  e.spec = field<std::string>(j, "spec");
  if (j.contains("spec_text")) {
    e.spec_text = field<std::string>(j, "spec_text");
  } else {
    e.spec_file = field<std::string>(j, "spec_file");
    e.spec_checksum = field<uint64_t>(j, "spec_checksum");
    if (e.spec_file != spec_file_of(e.n)) throw std::runtime_error("an entry's spec file is not its own");
  }
  e.genid = field<uint32_t>(j, "genid");
  e.status = status_of(field<std::string>(j, "status"));
  e.note = field<std::string>(j, "note");
  return e;
}

json json_of(const Entry& e) {
  return {{"n", e.n},
          {"time", e.time},
          {"spec", e.spec},
          {"spec_file", e.spec_file},
          {"spec_checksum", e.spec_checksum},
          {"genid", e.genid},
          {"status", status_name(e.status)},
          {"note", e.note}};
}

// The file's text as JSON of this format; throws saying what is wrong.
json parse(const std::string& text, const char* what) {
  json j = json::parse(text);
  if (!j.is_object() || j.value(what, 0) != kFormat) throw std::runtime_error(std::string("not a natc ") + what);
  return j;
}

}  // namespace

std::string_view status_name(Status s) {
  for (const auto& [st, name] : kStatus)
    if (st == s) return name;
  return "?";
}

Entry* History::find(uint64_t n) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.n == n; });
  return it == entries.end() ? nullptr : &*it;
}

const Entry* History::last_settled() const {
  auto it = std::find_if(entries.rbegin(), entries.rend(), [](const Entry& e) { return e.settled(); });
  return it == entries.rend() ? nullptr : &*it;
}

void History::add(Entry e) {
  entries.push_back(std::move(e));
  if (entries.size() <= kHistoryKept) return;
  auto end = entries.end() - kHistoryKept;
  for (auto it = entries.begin(); it != end; ++it)
    if (!it->spec_file.empty()) dropped.push_back(it->spec_file);
  entries.erase(entries.begin(), end);
}

History read_history(Dir& d, std::string* problem) {
  History h;
  auto text = d.read(std::string(kHistoryFile));
  if (!text) return h;
  try {
    json j = parse(*text, "natc_history");
    for (const json& e : field<json>(j, "entries")) h.entries.push_back(entry_of(e));
    std::sort(h.entries.begin(), h.entries.end(), [](auto& a, auto& b) { return a.n < b.n; });
  } catch (const std::exception& e) {
    *problem = d.where() + "/" + std::string(kHistoryFile) + " is damaged (" + e.what() + "); starting it again";
    return {};
  }
  return h;
}

void write_history(Dir& d, const History& h) {
  json entries = json::array();
  for (const Entry& e : h.entries) {
    Entry kept = e;
    if (!e.spec_text.empty() || e.spec_file.empty()) {  // held in memory: written out now
      kept.spec_file = spec_file_of(e.n);
      kept.spec_checksum = base::checksum64(e.spec_text);
      d.write(kept.spec_file, e.spec_text);
    }
    entries.push_back(json_of(kept));
  }
  d.write(std::string(kHistoryFile), base::json_text(json{{"natc_history", kFormat}, {"entries", entries}}) + "\n");
  for (const auto& f : h.dropped) d.remove(f);
}

bool load_spec_text(Dir& d, Entry& e, std::string* problem) {
  if (e.spec_file.empty()) return true;  // held inline by an older natc
  auto text = d.read(e.spec_file);
  if (!text || base::checksum64(*text) != e.spec_checksum) {
    *problem = d.where() + "/" + e.spec_file + (text ? " is not the spec #" : " is missing: the spec of #") +
               std::to_string(e.n) + (text ? " applied" : " cannot be read");
    return false;
  }
  e.spec_text = std::move(*text);
  return true;
}

std::optional<Pending> read_pending(Dir& d, std::string* problem) {
  auto text = d.read(std::string(kPendingFile));
  if (!text) return std::nullopt;
  try {
    json j = parse(*text, "natc_pending");
    Pending p;
    p.n = field<uint64_t>(j, "n");
    p.deadline_ms = field<int64_t>(j, "deadline_ms");
    p.previous = kernel::snapshot_from_json(field<json>(j, "previous"));
    return p;
  } catch (const std::exception& e) {
    *problem = d.where() + "/" + std::string(kPendingFile) + " is damaged (" + e.what() + ")";
    return std::nullopt;
  }
}

void write_pending(Dir& d, const Pending& p) {
  json j = {
      {"natc_pending", kFormat}, {"n", p.n}, {"deadline_ms", p.deadline_ms}, {"previous", kernel::to_json(p.previous)}};
  d.write(std::string(kPendingFile), base::json_text(j) + "\n");
}

}  // namespace natc::state
