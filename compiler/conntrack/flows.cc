#include "conntrack/flows.h"

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

FlowIndex::FlowIndex(const std::vector<Flow>& flows) {
  for (const Flow& f : flows) {
    ++by_target_[{f.proto, f.orig.dport, f.reply.src, f.reply.sport}][f.orig.dst];
    ++by_target_[{0, 0, f.reply.src, 0}][f.orig.dst];  // every protocol and port: static NAT
  }
}

size_t FlowIndex::count(const Translation& t) const {
  auto it = by_target_.find({t.proto, t.port, t.target, t.target_port});
  if (it == by_target_.end()) return 0;
  if (t.destination) {
    auto d = it->second.find(*t.destination);
    return d == it->second.end() ? 0 : d->second;
  }
  size_t n = 0;
  for (const auto& [dst, count] : it->second) n += count;
  return n;
}

}  // namespace natc::conntrack
