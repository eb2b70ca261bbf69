// The other rule owners' tables, as natc reads them: Docker's and
// iptables-nft's `ip filter` / `ip nat`, firewalld's, plain nft tables.
// kernel/foreign.cc fills this from netlink; every ABI number is turned into
// the names below there, so evaluating it (eval.h) is pure code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/net.h"

namespace natc::cotenancy {

using Bytes = std::vector<uint8_t>;

// Registers are addressed by byte offset into the kernel's register file
// (NFT_REG_1 is byte 16, NFT_REG32_00 byte 16 too; the verdict is bytes 0-15).
using Reg = uint32_t;
inline constexpr Reg kAllRegisters = UINT32_MAX;  // a load natc cannot place

enum class MetaKey : uint8_t { IifName, OifName, L4Proto, NfProto, Other };
enum class Base : uint8_t { Link, Network, Transport, Other };
enum class CmpOp : uint8_t { Eq, Neq, Lt, Lte, Gt, Gte };
enum class CtKey : uint8_t { State, Status, Direction, Other };
enum class Verdict : uint8_t { Accept, Drop, Jump, Goto, Return, Continue, Other };

// Connection-tracking values as the kernel compares them (host order).
inline constexpr uint32_t kCtInvalid = 1, kCtEstablished = 2, kCtRelated = 4, kCtNew = 8, kCtUntracked = 64;
inline constexpr uint32_t kStatusSeenReply = 2, kStatusAssured = 4, kStatusConfirmed = 8, kStatusSnat = 16,
                          kStatusDnat = 32;
// Route types (RTN_*), as `fib ... type` and xt addrtype compare them.
inline constexpr uint32_t kRtnUnicast = 1, kRtnLocal = 2;

// What a NAT statement does. Addresses and ports known when the rule names
// them (an immediate or an xt target's range), empty when they come from a
// packet field or map.
struct NatAction {
  enum class Kind : uint8_t { Dnat, Snat, Masquerade, Redirect } kind = Kind::Dnat;
  std::optional<base::Addr> addr_min, addr_max;
  std::optional<uint16_t> port_min, port_max;
  std::optional<Reg> reg_addr, reg_port;          // nft nat: values read from registers
  std::optional<Reg> reg_addr_max, reg_port_max;  // nft nat: a range's ends
  std::optional<uint8_t> family;                  // nft nat in an inet table: 2 ip, 10 ip6
  bool persistent = false, random = false, fully_random = false;
  bool offset = false;  // the ports shift by the range's start (a 1:1 port range)
};

struct Meta {
  MetaKey key;
  Reg dreg;
};
struct Payload {
  Base base;
  uint32_t offset, len;
  Reg dreg;
};
struct Cmp {
  Reg sreg;
  CmpOp op;
  Bytes data;
};
struct Bitwise {
  Reg sreg, dreg;
  Bytes mask, xor_;
};  // a & mask ^ xor
struct Range {
  Reg sreg;
  bool negate;
  Bytes from, to;
};
struct Lookup {
  Reg sreg;
  std::string set;
  std::optional<Reg> dreg;
  bool invert = false;
};
struct Immediate {
  std::optional<Reg> dreg;  // a value load; none: a verdict
  Bytes data;
  Verdict verdict = Verdict::Continue;
  std::string chain;  // Jump/Goto
};
struct Ct {
  CtKey key;
  Reg dreg;
};
struct FibAddrType {
  bool daddr;
  Reg dreg;
};  // `fib daddr type` / `fib saddr type`
struct Nat {
  NatAction action;
};
struct Reject {};
// xt matches natc understands: -m conntrack --ctstate, -m addrtype.
struct XtCtState {
  uint32_t mask;
  bool invert;
};
struct XtAddrType {
  uint16_t src, dst;
  bool invert_src, invert_dst;
};
// -m multiport: ports and ranges of the source, destination or either.
struct XtMultiport {
  enum class Which : uint8_t { Source, Destination, Either } which = Which::Destination;
  std::vector<std::pair<uint16_t, uint16_t>> ports;  // ranges, first-last
  bool invert = false;
};
// Anything else: a load natc cannot follow (its register becomes unknown),
// a condition it cannot decide, or a statement that decides something.
struct Unknown {
  std::string what;  // "xt match 'set'", "expression 'limit'"
  // Opaque: natc knows nothing of it; it may be a condition (limit, quota)
  // and may load any register.
  enum class Role : uint8_t { Condition, Load, Decides, NoEffect, Opaque } role = Role::Condition;
  Reg dreg = 0;  // Load
};

using Expr = std::variant<Meta, Payload, Cmp, Bitwise, Range, Lookup, Immediate, Ct, FibAddrType, Nat, Reject,
                          XtCtState, XtAddrType, XtMultiport, Unknown>;

struct Rule {
  uint64_t handle = 0;
  std::vector<Expr> exprs;
  std::string comment;  // nft's (natc's: the spec entry); iptables-nft's -m comment is an xt match
};

enum class Family : uint8_t { Ip, Ip6, Inet, Other };
enum class Hook : uint8_t { Prerouting, Input, Forward, Output, Postrouting, Other };
enum class ChainType : uint8_t { Filter, Nat, Route };

struct Chain {
  Family family = Family::Other;
  std::string table, name;
  std::optional<Hook> hook;  // base chains only
  int32_t priority = 0;
  ChainType type = ChainType::Filter;
  bool policy_drop = false;
  std::vector<Rule> rules;
  // Whether packets of `f` pass through it (an inet chain sees both).
  bool serves(base::Family f) const {
    return family == Family::Inet || (family == Family::Ip && f == base::Family::V4) ||
           (family == Family::Ip6 && f == base::Family::V6);
  }
};

struct Element {
  Bytes key, key_end;  // key_end: ranges (concatenations) and interval ends
  bool interval_end = false;
  Bytes data;                           // maps
  Verdict verdict = Verdict::Continue;  // verdict maps
  std::string chain;
  std::string comment;  // natc's elements: the spec entry's name
};

struct Set {
  Family family = Family::Other;
  std::string table, name;
  bool interval = false, map = false, vmap = false;
  std::vector<uint8_t> fields;  // a concatenation's field lengths in bytes (each padded to 4 in a key)
  std::vector<Element> elements;
};

struct Ruleset {
  std::vector<Chain> chains;
  std::vector<Set> sets;
  const Chain* chain(Family f, const std::string& table, const std::string& name) const;
  const Set* set(Family f, const std::string& table, const std::string& name) const;
};

std::string_view family_name(Family f);  // "ip", "ip6", "inet"
std::string_view hook_name(Hook h);

}  // namespace natc::cotenancy
