// Conntrack flows as natc sees them, the Table interface over the kernel's
// conntrack table, and counting flows per translation. Never a full flush.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
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

// Translations indexed by what their flows share (protocol, port as the
// flow arrived, the target answering in the reply direction), so a flow
// finds the translations that made it in one or two lookups: 100k forwards
// and 1M flows are 2M lookups, not 10^11 comparisons.
class TranslationIndex {
 public:
  explicit TranslationIndex(std::vector<Translation> translations);
  const std::vector<Translation>& translations() const { return translations_; }
  // The first translation (by index) that translated `f` (matches()).
  std::optional<size_t> first(const Flow& f) const;
  // How many of `flows` each translation translated, by index.
  std::vector<size_t> count(const std::vector<Flow>& flows) const;

 private:
  struct Key {
    uint8_t proto = 0;
    uint16_t port = 0, target_port = 0;
    base::Addr target;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  static constexpr uint32_t kEnd = UINT32_MAX;

  // Calls each(i) for every translation i that matches `f`: those of its
  // exact key, then the static NAT ones of its target alone.
  template <class F>
  void each_match(const Flow& f, F&& each) const {
    auto walk = [&](const Key& k) {
      auto it = heads_.find(k);
      for (uint32_t i = it == heads_.end() ? kEnd : it->second; i != kEnd; i = next_[i])
        if (!translations_[i].destination || *translations_[i].destination == f.orig.dst) each(size_t(i));
    };
    Key exact{f.proto, f.orig.dport, f.reply.sport, f.reply.src}, any{0, 0, 0, f.reply.src};
    walk(exact);
    if (!(exact == any)) walk(any);
  }

  std::vector<Translation> translations_;
  std::unordered_map<Key, uint32_t, KeyHash> heads_;  // first translation of each key
  std::vector<uint32_t> next_;                        // the next one of the same key, or kEnd
};

}  // namespace natc::conntrack
