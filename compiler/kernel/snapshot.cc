#include "kernel/snapshot.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace natc::kernel {
namespace {

std::string hex(const std::vector<uint8_t>& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) s += digits[c >> 4], s += digits[c & 15];
  return s;
}

std::vector<uint8_t> unhex(const std::string& s) {
  if (s.size() % 2) throw std::runtime_error("a message is not hex");
  std::vector<uint8_t> b(s.size() / 2);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(std::stoul(s.substr(2 * i, 2), nullptr, 16));
  return b;
}

const std::pair<const char*, std::vector<std::vector<uint8_t>> Dump::*> kLists[] = {{"tables", &Dump::tables},
                                                                                    {"chains", &Dump::chains},
                                                                                    {"sets", &Dump::sets},
                                                                                    {"elements", &Dump::elements},
                                                                                    {"rules", &Dump::rules}};

}  // namespace

nlohmann::json to_json(const Snapshot& s) {
  nlohmann::json messages;
  for (const auto& [name, member] : kLists) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : s.dump.*member) list.push_back(hex(m));
    messages[name] = std::move(list);
  }
  return {{"natc_snapshot", 1},
          {"genid", s.dump.genid},
          {"ruleset", s.ruleset},
          {"messages", std::move(messages)},
          {"sysctls", s.sysctls},
          {"sysctl_file", s.sysctl_file ? nlohmann::json(*s.sysctl_file) : nlohmann::json(nullptr)}};
}

Snapshot snapshot_from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("natc_snapshot", 0) != 1)
    throw std::runtime_error("not a natc snapshot (no \"natc_snapshot\": 1)");
  Snapshot s;
  s.dump.genid = j.value("genid", 0u);
  const auto& messages = j.at("messages");
  for (const auto& [name, member] : kLists)
    for (const auto& m : messages.at(name)) {
      auto bytes = unhex(m.get<std::string>());
      if (bytes.size() < 20) throw std::runtime_error("a message in \"" + std::string(name) + "\" is truncated");
      (s.dump.*member).push_back(std::move(bytes));
    }
  for (const auto& [k, v] : j.at("sysctls").items()) s.sysctls[k] = v.get<std::string>();
  if (j.contains("sysctl_file") && j["sysctl_file"].is_string()) s.sysctl_file = j["sysctl_file"].get<std::string>();
  return s;
}

}  // namespace natc::kernel
