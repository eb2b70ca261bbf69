#include "kernel/snapshot.h"

#include <linux/netfilter/nf_tables.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "netlink/validate.h"

namespace natc::kernel {
namespace {

std::string hex(const std::vector<uint8_t>& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) s += digits[c >> 4], s += digits[c & 15];
  return s;
}

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::vector<uint8_t>> unhex(const std::string& s) {
  if (s.size() % 2) return std::nullopt;
  std::vector<uint8_t> b(s.size() / 2);
  for (size_t i = 0; i < b.size(); ++i) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = uint8_t(hi << 4 | lo);
  }
  return b;
}

struct List {
  const char* name;
  std::vector<std::vector<uint8_t>> Dump::*member;
  uint16_t type;
  bool optional = false;  // added after format 1 first shipped: older snapshots lack it
};
const List kLists[] = {{"tables", &Dump::tables, NFT_MSG_NEWTABLE}, {"chains", &Dump::chains, NFT_MSG_NEWCHAIN},
                       {"sets", &Dump::sets, NFT_MSG_NEWSET},       {"elements", &Dump::elements, NFT_MSG_NEWSETELEM},
                       {"rules", &Dump::rules, NFT_MSG_NEWRULE},    {"objects", &Dump::objects, NFT_MSG_NEWOBJ, true}};

[[noreturn]] void bad(const std::string& key, const std::string& what) { throw SnapshotError(key, what); }

const nlohmann::json& member(const nlohmann::json& j, const std::string& key, nlohmann::json::value_t type,
                             const char* type_name) {
  if (!j.contains(key)) bad(key, "it has no \"" + key + "\"");
  const nlohmann::json& v = j[key];
  if (v.type() != type) bad(key, "\"" + key + "\" is not " + type_name);
  return v;
}

}  // namespace

nlohmann::json to_json(const Snapshot& s) {
  nlohmann::json messages;
  for (const List& l : kLists) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : s.dump.*l.member) list.push_back(hex(m));
    messages[l.name] = std::move(list);
  }
  return {{"natc_snapshot", 1},
          {"genid", s.dump.genid},
          {"ruleset", s.ruleset},
          {"messages", std::move(messages)},
          {"sysctls", s.sysctls},
          {"sysctl_file", s.sysctl_file ? nlohmann::json(*s.sysctl_file) : nlohmann::json(nullptr)}};
}

Snapshot snapshot_from_json(const nlohmann::json& j) {
  using T = nlohmann::json::value_t;
  if (!j.is_object()) bad("", "it is not a JSON object");
  if (!j.contains("natc_snapshot") || j["natc_snapshot"] != 1)
    bad("natc_snapshot", "it has no \"natc_snapshot\": 1 (this natc reads snapshot format 1)");
  Snapshot s;
  if (j.contains("genid")) {
    if (!j["genid"].is_number_unsigned() || j["genid"].get<uint64_t>() > UINT32_MAX)
      bad("genid", "\"genid\" is not a generation number");
    s.dump.genid = j["genid"].get<uint32_t>();
  }
  const nlohmann::json& messages = member(j, "messages", T::object, "an object");
  for (const List& l : kLists) {
    if (!messages.contains(l.name) && l.optional) continue;
    if (!messages.contains(l.name)) bad("messages", "\"messages\" has no \"" + std::string(l.name) + "\"");
    const nlohmann::json& list = messages[l.name];
    if (!list.is_array()) bad("messages", "\"messages\".\"" + std::string(l.name) + "\" is not a list");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string which = "message " + std::to_string(i + 1) + " of \"" + l.name + "\"";
      auto bytes = list[i].is_string() ? unhex(list[i].get<std::string>()) : std::nullopt;
      if (!bytes) bad("messages", which + " is not a string of hex digits");
      if (std::string why = netlink::check_message(*bytes, l.type); !why.empty())
        bad("messages", which + " is not a whole nf_tables message: " + why);
      (s.dump.*l.member).push_back(std::move(*bytes));
    }
  }
  for (const auto& [k, v] : member(j, "sysctls", T::object, "an object").items()) {
    if (!v.is_string()) bad("sysctls", "sysctl \"" + k + "\" has a value that is not a string");
    s.sysctls[k] = v.get<std::string>();
  }
  if (j.contains("sysctl_file") && !j["sysctl_file"].is_null()) {
    if (!j["sysctl_file"].is_string()) bad("sysctl_file", "\"sysctl_file\" is neither a string nor null");
    s.sysctl_file = j["sysctl_file"].get<std::string>();
  }
  if (j.contains("ruleset") && j["ruleset"].is_string()) s.ruleset = j["ruleset"].get<std::string>();
  return s;
}

}  // namespace natc::kernel
