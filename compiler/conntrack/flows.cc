#include "conntrack/flows.h"

#include <utility>

namespace natc::conntrack {

std::string state_name(const Flow& f) {
  static constexpr const char* kTcp[] = {"NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
                                         "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
  if (f.tcp_state) return *f.tcp_state < std::size(kTcp) ? kTcp[*f.tcp_state] : "UNKNOWN";
  constexpr uint32_t kSeenReply = 1u << 1, kAssured = 1u << 2;
  return f.status & kAssured ? "ASSURED" : f.status & kSeenReply ? "REPLIED" : "UNREPLIED";
}

size_t Table::remove_flows(const std::vector<Flow>&) { throw Error("no conntrack table here to delete flows from"); }

void Table::watch(const std::function<bool(Event, const Flow&)>&) { throw Error("no conntrack table here to watch"); }

bool matches(const Translation& t, const Flow& f) {
  if (t.proto == 0) return (!t.destination || f.orig.dst == *t.destination) && f.reply.src == t.target;
  if (f.proto != t.proto || f.orig.dport != t.port) return false;
  if (t.destination && f.orig.dst != *t.destination) return false;
  // The reply comes from the target the flow was translated to.
  return f.reply.src == t.target && f.reply.sport == t.target_port;
}

size_t TranslationIndex::KeyHash::operator()(const Key& k) const {
  return base::AddrHash{}(k.target) ^ (uint64_t(k.proto) << 32 | uint64_t(k.port) << 16 | k.target_port);
}

TranslationIndex::TranslationIndex(std::vector<Translation> translations)
    : translations_(std::move(translations)), next_(translations_.size(), kEnd) {
  heads_.reserve(translations_.size());
  // From the back, so each key's list runs in index order.
  for (size_t i = translations_.size(); i-- > 0;) {
    const Translation& t = translations_[i];
    Key k = t.proto ? Key{t.proto, t.port, t.target_port, t.target} : Key{0, 0, 0, t.target};
    auto [it, fresh] = heads_.try_emplace(k, uint32_t(i));
    if (!fresh) next_[i] = std::exchange(it->second, uint32_t(i));
  }
}

std::optional<size_t> TranslationIndex::first(const Flow& f) const {
  std::optional<size_t> found;
  each_match(f, [&](size_t i) {
    if (!found || i < *found) found = i;
  });
  return found;
}

std::vector<size_t> TranslationIndex::count(const std::vector<Flow>& flows) const {
  std::vector<size_t> n(translations_.size(), 0);
  for (const Flow& f : flows) each_match(f, [&](size_t i) { ++n[i]; });
  return n;
}

}  // namespace natc::conntrack
