// Conntrack flows as natc sees them, the Table interface over the kernel's
// conntrack table, and counting flows per translation. Never a full flush.
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
  uint8_t proto = 0;  // the IP protocol number (base::Proto for the known ones)
  Tuple orig, reply;
  uint32_t status = 0;               // IPS_* bits
  std::optional<uint8_t> tcp_state;  // TCP_CONNTRACK_*, TCP flows only
  uint32_t timeout = 0;              // seconds left
  uint64_t start_ns = 0;             // wall clock; 0 unless nf_conntrack_timestamp is on
};

// IPS_SRC_NAT, IPS_DST_NAT of Flow::status: the kernel translated the flow.
inline constexpr uint32_t kSrcNat = 1u << 4, kDstNat = 1u << 5;

// "ESTABLISHED", "TIME_WAIT", ...; for other protocols ASSURED, REPLIED or
// UNREPLIED, from the status bits.
std::string state_name(const Flow& f);

// What the kernel says happened to a flow (`natc flows --watch`).
enum class Event { New, Destroy };

// Whether `f` is a flow `t` translated: original destination port (and
// address, when the forward names one), and the old target answering in
// the reply direction.
bool matches(const Translation& t, const Flow& f);

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kernel's conntrack table (netfilter.h), or a unit test's fake.
class Table {
 public:
  virtual ~Table() = default;
  // Every flow, IPv4 and IPv6. Throws Error.
  virtual std::vector<Flow> flows() = 0;
  // Deletes the flows of `translations`, one tuple at a time; returns how
  // many went. A flow that ended meanwhile is not an error. Throws Error.
  virtual size_t remove(const std::vector<Translation>& translations) = 0;
  // Column -> sum over CPUs (insert_failed, drop, early_drop, ...); empty
  // when unreadable.
  virtual std::map<std::string, uint64_t> stats() = 0;
  // Deletes these flows, each by its original tuple (natc flows reset);
  // returns how many went. Throws Error (a table without a kernel always).
  virtual size_t remove_flows(const std::vector<Flow>& flows);
  // Hands each new and destroyed flow to `each` until it returns false.
  // Throws Error (a table without a kernel always).
  virtual void watch(const std::function<bool(Event, const Flow&)>& each);
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

}  // namespace natc::conntrack
