// Conntrack, through libnetfilter_conntrack: the flows, targeted deletes,
// and the table's statistics. Never a full flush.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "base/net.h"
#include "conntrack/translation.h"

namespace natc::conntrack {

struct Tuple {
  base::Addr src, dst;
  uint16_t sport = 0, dport = 0;
};

struct Flow {
  uint8_t proto = 0;  // IPPROTO_TCP, IPPROTO_UDP, ...
  Tuple orig, reply;
  uint32_t status = 0;
  bool assured() const;
};

// Whether `f` is a flow `t` translated: original destination port (and
// address, when the forward names one), and the old target answering in
// the reply direction.
bool matches(const Translation& t, const Flow& f);

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Counts flows per translation in one pass over the table, so counting
// for 100k port forwards is 100k lookups, not 100k scans.
class FlowIndex {
 public:
  explicit FlowIndex(const std::vector<Flow>& flows);
  size_t count(const Translation& t) const;

 private:
  // (proto, original dport, reply source, reply sport) -> original destination -> flows
  std::map<std::tuple<uint8_t, uint16_t, base::Addr, uint16_t>, std::map<base::Addr, size_t>> by_target_;
};

// Every flow of the current network namespace, IPv4 and IPv6.
std::vector<Flow> dump();
// Deletes the flows of `translations`, one tuple at a time; returns how
// many went. A flow that ended meanwhile is not an error.
size_t delete_flows(const std::vector<Translation>& translations);

// Column -> sum over CPUs, from /proc/net/stat/nf_conntrack (insert_failed,
// drop, early_drop, ...). Empty when unreadable.
std::map<std::string, uint64_t> stats(const std::string& path = "/proc/net/stat/nf_conntrack");

}  // namespace natc::conntrack
