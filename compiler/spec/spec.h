// The spec as written: every value with the position it came from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/net.h"
#include "base/proto.h"
#include "base/source.h"

namespace natc::spec {

using base::Loc;

// conntrack.alert_percent when the spec leaves it out.
inline constexpr uint64_t kAlertPercent = 80;

template <class T>
struct At {
  T v{};
  Loc loc;
  bool set = false;  // written in the spec (a default otherwise)
};

using base::Proto;
enum class Policy { Accept, Drop };
enum class ForwardAccept { Auto, Manual };
enum class SnatKind { Masquerade, To, Pool, None };  // None: routed, not translated

struct Alias {
  At<std::string> name;    // logical name, e.g. wan
  At<std::string> kernel;  // kernel interface name, e.g. eth0
};

struct ForwardRule {
  Loc loc;
  At<std::string> name;
  std::vector<At<Proto>> protocols;  // empty: any protocol
  std::vector<At<base::Prefix>> to;  // host or cidr (one, or a list)
  At<base::PortRange> port;
  std::vector<At<base::Prefix>> from;  // empty: anywhere
};

struct Forwarding {
  At<Policy> policy{Policy::Accept};
  std::vector<ForwardRule> rules;
};

struct Snat {
  Loc loc;
  SnatKind kind = SnatKind::Masquerade;
  At<base::Addr> to;     // kind To
  At<std::string> pool;  // kind Pool
};

struct Subnet {
  Loc loc;
  At<std::string> name;
  At<base::Prefix> cidr;
  At<std::string> egress;
  Snat snat;
};

struct SnatPool {
  Loc loc;
  At<std::string> name;
  std::vector<At<base::AddrRange>> addresses;
  At<base::PortRange> ports;
  At<bool> persistent;
  At<bool> fully_random;
};

struct Target {
  At<base::Addr> addr;
  At<base::PortRange> port;  // unset: the same port(s)
};

struct PortForward {
  Loc loc;
  At<std::string> name;
  At<std::string> ingress;
  std::vector<At<Proto>> protocols;
  At<base::PortRange> port;
  Target to;
  At<base::Addr> destination;
  std::vector<At<base::Prefix>> allow_from;
  At<bool> hairpin;
  At<bool> from_gateway;   // the gateway's own connections use it too; default: hairpin
  At<bool> allow_capture;  // may take a port a local service listens on
  At<ForwardAccept> forward_accept{ForwardAccept::Auto};
};

struct Publish {
  Loc loc;
  At<std::string> name;
  std::vector<At<Proto>> protocols;
  At<base::PortRange> port;
  Target to;
};

// Traffic arriving on `ingress` for `port` goes to the gateway itself, on
// `to_port` (a transparent proxy, DNS interception).
struct Redirect {
  Loc loc;
  At<std::string> name;
  At<std::string> ingress;
  std::vector<At<Proto>> protocols;
  At<base::PortRange> port;
  At<base::PortRange> to_port;           // one port; unset: the same port
  std::vector<At<base::Prefix>> from;    // empty: any source
  std::vector<At<base::Prefix>> except;  // sources never redirected
};

// 1:1 NAT: every protocol and port of `public` to `private` and back.
// Prefixes of one length map host bits one to one (.5 to .69 in a /28).
struct StaticNat {
  Loc loc;
  At<std::string> name;
  At<base::Prefix> public_addr;   // `public`
  At<base::Prefix> private_addr;  // `private`
  At<std::string> interface;      // where `public` lives
  std::vector<At<base::Prefix>> allow_from;
  At<bool> hairpin;
  At<ForwardAccept> forward_accept{ForwardAccept::Auto};
};

// RFC 6296 stateless prefix translation: `inside` leaves `interface` as
// `outside` and `outside` comes back in as `inside`, untracked.
struct Nptv6 {
  Loc loc;
  At<std::string> name;
  At<base::Prefix> inside;
  At<base::Prefix> outside;
  At<std::string> interface;
  At<ForwardAccept> forward_accept{ForwardAccept::Auto};
};

// A conntrack helper (ftp, sip, ...) for connections to `port`, so the
// related connections it expects are NATed and accepted too.
struct Helper {
  Loc loc;
  At<std::string> name;
  At<std::string> helper;  // the helper's kind; unset: the name
  std::vector<At<Proto>> protocols;
  At<base::PortRange> port;
};

struct Bridge {
  Loc loc;
  At<std::string> name;  // the bridge's kernel interface name
  At<base::Prefix> cidr;
  At<bool> masquerade{true};
  std::vector<Publish> publish;
};

struct Timeout {
  At<std::string> key;  // e.g. tcp_established
  At<uint64_t> seconds;
};

struct Conntrack {
  Loc loc;
  At<uint64_t> max;
  At<uint64_t> buckets;
  std::vector<Timeout> timeouts;
  At<uint64_t> alert_percent{kAlertPercent};
};

// Management sessions the lockout guard protects.
inline constexpr uint16_t kManagementPort = 22;
struct Safety {
  Loc loc;
  std::vector<At<base::PortRange>> management_ports;  // each a single port
};

// A gateway pair (keepalived + conntrackd): this node's side of it.
struct VirtualAddress {
  Loc loc;
  At<std::string> interface;
  At<base::Addr> address;
  At<uint64_t> len;  // the prefix length written after the address
  At<uint64_t> vrid;
};
struct Ha {
  Loc loc;
  At<base::Addr> peer;
  At<std::string> sync_interface;
  At<uint64_t> priority;
  At<uint64_t> advert_ms{1000};  // advert_interval
  std::vector<VirtualAddress> virtual_addresses;
  At<bool> state_sync{true};  // conntrackd replicates the flows
  At<bool> strict_tcp{true};  // no TCP flow starts without SYN
};

struct Spec {
  At<uint64_t> version;
  std::vector<Alias> interfaces;
  Forwarding forwarding;
  std::vector<Subnet> subnets;
  std::vector<SnatPool> snat_pools;
  std::vector<PortForward> port_forwards;
  std::vector<Redirect> redirects;
  std::vector<StaticNat> static_nat;
  std::vector<Nptv6> nptv6;
  std::vector<Helper> helpers;
  std::vector<Bridge> bridges;
  std::optional<Conntrack> conntrack;
  std::optional<Safety> safety;
  std::optional<Ha> ha;
  // SNAT pools named in the spec but left out for errors already reported:
  // a subnet using one is not a second error.
  std::vector<std::string> broken_pools;
  // A spec directory: the first line of each file in the whole text, and
  // its name (base::SourceFile::part_lines); empty for one file.
  base::SourceFile::Lines files;
};

// "line 12", or "line 3 of 20-forwards.yaml" in a spec directory: for
// messages that point at another entry.
std::string line_ref(const base::SourceFile::Lines& files, base::Loc at);

}  // namespace natc::spec
