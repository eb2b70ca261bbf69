// natc's nftables object model: one table, its sets/maps and base chains.
// Rules are made of a closed set of typed statements, so the same model
// renders as nft text, as nft JSON, and encodes to netlink.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ir/ir.h"

namespace natc::nft {

using ir::AddrRange;
using ir::Family;
using ir::PortRange;
using ir::Proto;

inline constexpr std::string_view kTable = "natc";  // family inet

// What a set key or map value is made of.
enum class Field : uint8_t { Saddr, Daddr, L4Proto, Dport };
enum class Data : uint8_t { Addr, Port };

// One part of an element: an address or address range, a protocol, a port.
using Part = std::variant<AddrRange, Proto, uint16_t>;

struct Element {
  std::vector<Part> key;
  std::vector<Part> data;  // maps only
  std::string comment;     // the spec entry's name
};

struct Set {
  std::string name;
  Family family = Family::V4;
  std::vector<Field> key;
  std::vector<Data> data;  // empty: a set; otherwise a map
  bool interval = false;
  std::string comment;
  std::vector<Element> elements;
  bool is_map() const { return !data.empty(); }
};

// --- statements -------------------------------------------------------------

struct IfName {       // iifname / oifname [!=] "name"
  bool out = false;
  bool negate = false;
  std::string name;
};
// Every match is one value: no anonymous sets, so a rule is a plain list of
// loads, compares and named-set lookups that decodes back unambiguously.
struct L4Proto {      // meta l4proto tcp
  Proto proto;
};
struct AddrMatch {    // ip saddr 10.0.0.0/24 | 10.0.0.5-10.0.0.9
  Family family = Family::V4;
  bool source = false;
  AddrRange range;
};
struct PortMatch {    // tcp dport 80 | udp dport 8000-8010
  Proto proto;
  PortRange ports;
};
struct CtEstablished {};  // ct state established,related
struct CtDnat {};         // ct status dnat
struct FibLocal {};       // fib daddr type local
struct Lookup {           // ip saddr . meta l4proto . th dport @set
  Family family = Family::V4;
  std::vector<Field> key;
  std::string set;
  // Set: the port is read as "tcp dport", which makes nft (and natc's
  // encoder) match the transport protocol first. A port map needs it.
  std::optional<Proto> transport;
};
struct Accept {};
struct Masquerade {};
struct Nat {              // snat|dnat ip to ADDR[:PORTS] | to KEY map @set
  bool source = true;     // snat; false: dnat
  Family family = Family::V4;
  std::optional<Lookup> map;
  AddrRange addr;
  std::optional<PortRange> ports;
  bool persistent = false;
  bool fully_random = false;
};

using Stmt = std::variant<IfName, L4Proto, AddrMatch, PortMatch, CtEstablished, CtDnat, FibLocal,
                          Lookup, Accept, Masquerade, Nat>;

struct Rule {
  std::vector<Stmt> stmts;
  std::string comment;
};

enum class Hook : uint8_t { Prerouting, Postrouting, Forward };

struct Chain {
  std::string name;
  Hook hook;
  bool drop_policy = false;
  std::vector<Rule> rules;
  bool nat() const { return hook != Hook::Forward; }
  int priority() const {  // dstnat, srcnat, filter
    return hook == Hook::Prerouting ? -100 : hook == Hook::Postrouting ? 100 : 0;
  }
};

struct Table {
  std::vector<Set> sets;
  std::vector<Chain> chains;
};

std::string ip_keyword(Family f);                    // "ip" / "ip6"
std::string_view field_type(Field f, Family fam);  // ipv4_addr, inet_proto, ...
std::string_view data_type(Data d, Family fam);

}  // namespace natc::nft
