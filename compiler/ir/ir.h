// The IR: what the kernel must hold, with every spec name resolved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/net.h"
#include "base/proto.h"
#include "base/source.h"
#include "spec/spec.h"

namespace natc::ir {

using base::Addr;
using base::AddrRange;
using base::Family;
using base::Loc;
using base::PortRange;
using base::Prefix;

using base::Proto;
using base::proto_name;

// The spec entry that produced something: its name is what rules, elements,
// counters and plans are labelled with.
struct Entry {
  std::string name;
  Loc loc;
};

// An interface match by name, so rules load before interfaces exist.
struct IfMatch {
  enum class Kind : uint8_t { Any, Is, IsNot } kind = Kind::Any;
  std::string name;  // kernel name; a trailing '*' is a wildcard
  Loc loc;
  std::string label;  // what the spec called it (alias or kernel name)
  friend bool operator==(const IfMatch& a, const IfMatch& b) { return a.kind == b.kind && a.name == b.name; }
};

struct Pool {
  Entry entry;
  Family family = Family::V4;
  std::vector<AddrRange> addresses;
  std::optional<PortRange> ports;
  bool persistent = false;
  bool fully_random = false;
};

enum class SnatKind : uint8_t { Masquerade, To, Pool, None };  // None: internal only

struct Subnet {
  Entry entry;
  Prefix cidr;
  IfMatch egress;
  SnatKind snat = SnatKind::Masquerade;
  bool vip = false;        // masquerade in the spec, SNAT to the pair's virtual address here
  Addr to;                 // SnatKind::To
  size_t pool = SIZE_MAX;  // SnatKind::Pool: index into Ir::pools
  bool docker = false;     // lowered from docker.bridges
};

struct PortMap {
  Proto proto;
  uint16_t port;     // as it arrives
  uint16_t to_port;  // as it leaves for the target
};

struct Forward {
  Entry entry;
  Loc port_loc;
  Family family = Family::V4;
  IfMatch ingress;                    // Any for hairpin and Docker publishes
  IfMatch declared_ingress;           // the spec's ingress, even where the match is Any (hairpin)
  std::optional<Addr> destination;    // none: any address of the gateway
  std::vector<AddrRange> allow_from;  // disjoint, sorted; empty: anywhere
  Addr to;
  std::vector<PortMap> ports;  // ranges expanded, one per proto and port
  bool hairpin = false;
  bool from_gateway = false;   // DNAT'd in the output hook too: the gateway reaches it
  bool allow_capture = false;  // may take a port a local service listens on
  bool auto_accept = true;
  bool docker = false;
};

struct Redirect {
  Entry entry;
  IfMatch ingress;
  std::vector<Proto> protocols;
  PortRange port;
  uint16_t to_port = 0;           // 0: the same port
  std::vector<AddrRange> from;    // disjoint, sorted; empty: any source
  std::vector<AddrRange> except;  // disjoint, sorted
};

// 1:1 NAT, host by host: a prefix pair is expanded to its hosts, so both
// directions are one map lookup keyed by the address.
struct StaticHost {
  Addr public_addr;
  Addr private_addr;
};
struct StaticNat {
  Entry entry;
  Family family = Family::V4;
  Prefix public_prefix, private_prefix;
  IfMatch iface;  // where the public addresses arrive and leave
  std::vector<StaticHost> hosts;
  std::vector<AddrRange> allow_from;  // disjoint, sorted; empty: anywhere
  bool hairpin = false;
  bool auto_accept = true;
};

// RFC 6296 prefix translation, stateless.
struct Npt {
  Entry entry;
  Prefix inside, outside;
  IfMatch iface;
  bool auto_accept = true;
};

struct Helper {
  Entry entry;
  std::string kind;  // as spelt in the spec: ftp, sip, h323, ...
  std::vector<Proto> protocols;
  PortRange port;
};

// The kernel's name of a helper kind for a protocol ("h323" over TCP is
// "Q.931"); "" when the kind has no helper for it.
std::string_view helper_kernel_name(std::string_view kind, Proto p);
// Every helper kind natc knows, for messages.
std::vector<std::string_view> helper_kinds();
// Host count a static NAT prefix may expand to.
inline constexpr uint64_t kMaxStaticHosts = 65536;

struct ForwardRule {
  Entry entry;
  Family family = Family::V4;
  std::vector<Proto> protocols;  // empty: any
  std::vector<Prefix> to;
  std::optional<PortRange> port;
  std::vector<Prefix> from;  // empty: anywhere
};

struct Sysctl {
  std::string key;  // dotted, e.g. net.ipv4.ip_forward
  std::string value;
  Entry entry;  // the spec entry that asks for it
};

// A gateway pair: keepalived moves the virtual addresses, conntrackd the
// flows. `priority` and `peer` are this node's; everything else is the
// pair's (shared() says so).
struct Vip {
  Loc loc;
  IfMatch iface;
  Addr addr;
  uint8_t len = 0;  // prefix length on the interface
  uint8_t vrid = 0;
};
struct Ha {
  Loc loc;
  Addr peer;
  IfMatch sync;
  uint8_t priority = 100;
  uint32_t advert_ms = 1000;
  std::vector<Vip> vips;
  bool state_sync = true;
  bool strict_tcp = true;
  // The virtual address a subnet's SNAT takes on `egress`, if there is one.
  const Vip* vip_on(const IfMatch& egress, Family f) const {
    for (const Vip& v : vips)
      if (v.iface.name == egress.name && v.addr.family == f) return &v;
    return nullptr;
  }
};

struct Ir {
  bool drop_policy = false;
  std::vector<ForwardRule> rules;
  std::vector<Pool> pools;
  std::vector<Subnet> subnets;
  std::vector<Forward> forwards;
  std::vector<Redirect> redirects;
  std::vector<StaticNat> statics;
  std::vector<Npt> npts;
  std::vector<Helper> helpers;
  std::vector<Sysctl> sysctls;  // ip_forward first
  uint64_t alert_percent = spec::kAlertPercent;
  std::vector<uint16_t> management_ports{spec::kManagementPort};  // the lockout guard's
  std::optional<Ha> ha;
};

// /proc/sys path of a dotted sysctl key: net.ipv4.ip_forward -> net/ipv4/ip_forward
std::string sysctl_path(std::string_view key);

}  // namespace natc::ir
