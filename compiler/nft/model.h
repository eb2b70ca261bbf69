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
enum class Field : uint8_t { Saddr, Daddr, L4Proto, Dport, Sport };
enum class Data : uint8_t { Addr, Port };

// One part of an element: an address or address range, a protocol, a port.
using Part = std::variant<AddrRange, Proto, uint16_t>;

struct Counter {
  uint64_t packets = 0, bytes = 0;
};

struct Element {
  std::vector<Part> key;
  std::vector<Part> data;          // maps only
  std::string entry;               // the spec entry's name, the element's nft comment
  std::optional<Counter> counter;  // read back from a set with counters
  // What the element is, not what it has counted.
  friend bool operator==(const Element& a, const Element& b) {
    return a.key == b.key && a.data == b.data && a.entry == b.entry;
  }
};

// An element's identity: its key's raw bytes. Plans diff by it and the
// live table's hash covers it; formatting as text is for what is printed.
std::string part_bytes(const std::vector<Part>& parts);
inline std::string element_key(const Element& e) { return part_bytes(e.key); }
// The same identity without building a string: a hash of the key's parts,
// and equality of keys, for hash sets of elements (plans of 200k elements).
size_t key_hash(const std::vector<Part>& parts);
struct ByKeyHash {
  size_t operator()(const Element* e) const { return key_hash(e->key); }
};
struct ByKeyEqual {
  bool operator()(const Element* a, const Element* b) const { return a->key == b->key; }
};

// What a set is for. It travels in the set's userdata and comes back from
// the kernel, so nothing after the builder reads it from the set's name.
enum class Role : uint8_t {
  Unknown,        // not written by this natc: the plan recreates it
  DnatMap,        // port forwards: [saddr .] [daddr .] l4proto . dport : addr . port
  ForwardAccept,  // the targets of port forwards, accepted (and counted) in forward
  Hairpin,        // the targets LAN clients may reach by the public address
  Internal,       // every declared subnet: where hairpinned clients come from
  Subnet,         // the subnets of one egress and translation (counted)
  StaticDnat,     // static NAT in: [saddr .] daddr : addr (public host to private)
  StaticSnat,     // static NAT out: saddr : addr (private host to public)
  StaticAccept,   // static NAT's private hosts, accepted (and counted) in forward
  StaticHairpin,  // static NAT's private hosts LAN clients may reach by the public address
  NptAccept,      // NPTv6 prefixes, accepted (and counted) in forward
};

struct Set {
  std::string name;
  Family family = Family::V4;
  std::vector<Field> key;
  std::vector<Data> data;  // empty: a set; otherwise a map
  bool interval = false;
  bool counter = false;  // every element counts the packets that find it
  Role role = Role::Unknown;
  std::vector<Element> elements;
  bool is_map() const { return !data.empty(); }
  // The set without its elements (200k of them at 100k forwards).
  Set definition() const { return {name, family, key, data, interval, counter, role, {}}; }
  // A DNAT map's key: matched by destination address, by source (an
  // allow_from), or on any address of the gateway.
  bool keys(Field f) const;
};

// --- statements -------------------------------------------------------------

struct IfName {  // iifname / oifname [!=] "name"
  bool out = false;
  bool negate = false;
  std::string name;
  friend bool operator==(const IfName&, const IfName&) = default;
};
// Every match is one value: no anonymous sets, so a rule is a plain list of
// loads, compares and named-set lookups that decodes back unambiguously.
struct L4Proto {  // meta l4proto tcp
  Proto proto;
  friend bool operator==(const L4Proto&, const L4Proto&) = default;
};
struct AddrMatch {  // ip saddr 10.0.0.0/24 | 10.0.0.5-10.0.0.9
  Family family = Family::V4;
  bool source = false;
  AddrRange range;
  friend bool operator==(const AddrMatch&, const AddrMatch&) = default;
};
struct PortMatch {  // tcp dport 80 | udp dport 8000-8010
  Proto proto;
  PortRange ports;
  friend bool operator==(const PortMatch&, const PortMatch&) = default;
};
struct CtEstablished {
  friend bool operator==(const CtEstablished&, const CtEstablished&) = default;
};  // ct state established,related
struct CtDnat {
  friend bool operator==(const CtDnat&, const CtDnat&) = default;
};  // ct status dnat
struct CtInvalid {
  friend bool operator==(const CtInvalid&, const CtInvalid&) = default;
};  // ct state invalid
struct TcpNotSyn {
  friend bool operator==(const TcpNotSyn&, const TcpNotSyn&) = default;
};  // tcp flags & (fin|syn|rst|ack) != syn: a TCP packet that opens no connection
struct Drop {
  friend bool operator==(const Drop&, const Drop&) = default;
};
struct FibLocal {
  friend bool operator==(const FibLocal&, const FibLocal&) = default;
};               // fib daddr type local
struct Lookup {  // ip saddr . meta l4proto . th dport @set
  Family family = Family::V4;
  std::vector<Field> key;
  std::string set;
  // Set: the port is read as "tcp dport", which makes nft (and natc's
  // encoder) match the transport protocol first. A port map needs it.
  std::optional<Proto> transport;
  friend bool operator==(const Lookup&, const Lookup&) = default;
};
struct Accept {
  friend bool operator==(const Accept&, const Accept&) = default;
};
struct Masquerade {
  friend bool operator==(const Masquerade&, const Masquerade&) = default;
};
struct Redirect {     // redirect [to :PORT]
  uint16_t port = 0;  // 0: the port it came to
  friend bool operator==(const Redirect&, const Redirect&) = default;
};
struct FibOif {  // fib daddr oifname "name": where the route to the destination leads
  std::string name;
  friend bool operator==(const FibOif&, const FibOif&) = default;
};
// ip6 saddr set ip6 saddr & HOSTMASK | PREFIX: the prefix replaced, host
// bits kept, the transport checksum updated by the kernel (stateless NPTv6).
struct PrefixRewrite {
  bool source = false;
  ir::Prefix to;
  friend bool operator==(const PrefixRewrite&, const PrefixRewrite&) = default;
};
struct Notrack {
  friend bool operator==(const Notrack&, const Notrack&) = default;
};
struct HelperSet {  // ct helper set "name": the conntrack helper object of the table
  std::string name;
  friend bool operator==(const HelperSet&, const HelperSet&) = default;
};
struct Nat {           // snat|dnat ip to ADDR[:PORTS] | to KEY map @set
  bool source = true;  // snat; false: dnat
  Family family = Family::V4;
  std::optional<Lookup> map;
  AddrRange addr;
  std::optional<PortRange> ports;
  bool persistent = false;
  bool fully_random = false;
  friend bool operator==(const Nat&, const Nat&) = default;
};

using Stmt =
    std::variant<IfName, L4Proto, AddrMatch, PortMatch, CtEstablished, CtDnat, FibLocal, Lookup, Accept, Masquerade,
                 Nat, Redirect, FibOif, PrefixRewrite, Notrack, HelperSet, CtInvalid, TcpNotSyn, Drop>;

struct Rule {
  std::vector<Stmt> stmts;
  std::string comment;
  // The SNAT pool whose addresses this rule translates to, by name ("" for
  // none): in the rule's userdata, for status's per-address counts.
  std::string pool;
  friend bool operator==(const Rule&, const Rule&) = default;
};

// Raw: prerouting before conntrack (filter, priority raw), for what must
// stay untracked.
enum class Hook : uint8_t { Prerouting, Postrouting, Forward, Output, Raw };

struct Chain {
  std::string name;
  Hook hook;
  bool drop_policy = false;
  std::vector<Rule> rules;
  bool nat() const { return hook != Hook::Forward && hook != Hook::Raw; }
  int priority() const {  // dstnat, srcnat, filter, raw
    return hook == Hook::Prerouting || hook == Hook::Output ? -100
           : hook == Hook::Postrouting                      ? 100
           : hook == Hook::Raw                              ? -300
                                                            : 0;
  }
};

// A conntrack helper object: ct helper NAME { type "ftp" protocol tcp; l3proto inet; }
struct CtHelper {
  std::string name;
  std::string type;  // the kernel's helper name: "ftp", "Q.931", ...
  Proto proto = Proto::Tcp;
  std::string entry;  // the spec entry, in the object's userdata
  friend bool operator==(const CtHelper&, const CtHelper&) = default;
};

struct Table {
  std::vector<CtHelper> helpers;
  std::vector<Set> sets;
  std::vector<Chain> chains;
};

// The host bits of `p` set, its prefix bits clear: what a prefix rewrite keeps.
ir::Addr host_mask(const ir::Prefix& p);

std::string ip_keyword(Family f);                  // "ip" / "ip6"
std::string_view field_type(Field f, Family fam);  // ipv4_addr, inet_proto, ...
std::string_view data_type(Data d, Family fam);

}  // namespace natc::nft
