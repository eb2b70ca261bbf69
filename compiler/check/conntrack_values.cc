#include "base/spell.h"
#include "check/check.h"
#include "ir/lower.h"

namespace natc::check {
namespace {

// Limits the kernel enforces: the sysctls are ints, timeouts are stored in
// jiffies (HZ up to 1000) in a 32-bit value.
constexpr uint64_t kMaxEntries = 0x7fffffff;
constexpr uint64_t kMaxBuckets = 1u << 30;
constexpr uint64_t kMaxTimeout = 0x7fffffff / 1000;

void range(const spec::At<uint64_t>& v, const std::string& what, uint64_t lo, uint64_t hi, base::Diagnostics& d) {
  if (!v.set || (v.v >= lo && v.v <= hi)) return;
  d.report(base::Code::ConntrackRange, v.loc, what + " " + std::to_string(v.v) + " is out of range",
           "allowed: " + std::to_string(lo) + " to " + std::to_string(hi), uint32_t(std::to_string(v.v).size()));
}

}  // namespace

void conntrack_values(const spec::Spec& s, base::Diagnostics& d) {
  if (!s.conntrack) return;
  const spec::Conntrack& c = *s.conntrack;
  range(c.max, "conntrack.max", 1, kMaxEntries, d);
  range(c.buckets, "conntrack.buckets", 1, kMaxBuckets, d);
  range(c.alert_percent, "conntrack.alert_percent", 1, 100, d);
  for (const auto& t : c.timeouts) {
    if (ir::timeout_sysctl(t.key.v).empty()) {
      std::string help = base::did_you_mean(t.key.v, ir::timeout_keys());
      d.report(base::Code::UnknownTimeout, t.key.loc, "'" + t.key.v + "' is not a conntrack timeout",
               help.empty() ? "keys are <proto>_<state>, e.g. tcp_established, udp_stream, icmp" : help,
               uint32_t(t.key.v.size()));
      continue;
    }
    range(t.seconds, "timeout " + t.key.v, 1, kMaxTimeout, d);
  }
}

}  // namespace natc::check
