#include "import/nft_values.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "base/net.h"

namespace natc::imports::nft_text {
namespace {

// nft's own names for the ports NAT files forward (its services table,
// trimmed to what gateways use); other names are left to the rule's reader.
constexpr std::pair<std::string_view, uint16_t> kServices[] = {{"ftp", 21},
                                                               {"ssh", 22},
                                                               {"telnet", 23},
                                                               {"smtp", 25},
                                                               {"domain", 53},
                                                               {"http", 80},
                                                               {"pop3", 110},
                                                               {"ntp", 123},
                                                               {"imap", 143},
                                                               {"snmp", 161},
                                                               {"https", 443},
                                                               {"submission", 587},
                                                               {"imaps", 993},
                                                               {"pop3s", 995},
                                                               {"openvpn", 1194},
                                                               {"mysql", 3306},
                                                               {"ms-wbt-server", 3389},
                                                               {"postgresql", 5432},
                                                               {"http-alt", 8080}};

constexpr std::pair<std::string_view, uint8_t> kProtos[] = {
    {"icmp", 1}, {"igmp", 2},    {"tcp", 6},        {"udp", 17},   {"ipv6", 41},     {"gre", 47}, {"esp", 50},
    {"ah", 51},  {"icmpv6", 58}, {"ipv6-icmp", 58}, {"sctp", 132}, {"udplite", 136}, {"dccp", 33}};

constexpr std::pair<std::string_view, uint32_t> kStates[] = {{"invalid", cotenancy::kCtInvalid},
                                                             {"established", cotenancy::kCtEstablished},
                                                             {"related", cotenancy::kCtRelated},
                                                             {"new", cotenancy::kCtNew},
                                                             {"untracked", cotenancy::kCtUntracked}};
constexpr std::pair<std::string_view, uint32_t> kStatus[] = {
    {"expected", 1}, {"seen-reply", 2}, {"assured", 4}, {"confirmed", 8}, {"snat", 16}, {"dnat", 32}, {"dying", 512}};
constexpr std::pair<std::string_view, uint32_t> kFibTypes[] = {{"unspec", 0},    {"unicast", 1},     {"local", 2},
                                                               {"broadcast", 3}, {"anycast", 4},     {"multicast", 5},
                                                               {"blackhole", 6}, {"unreachable", 7}, {"prohibit", 8}};

template <class T, size_t N>
std::optional<T> lookup(const std::pair<std::string_view, T> (&table)[N], std::string_view name) {
  for (const auto& [n, v] : table)
    if (n == name) return v;
  return std::nullopt;
}

std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Bytes be16(uint16_t v) { return {uint8_t(v >> 8), uint8_t(v)}; }

std::optional<uint16_t> port(std::string_view s) {
  if (auto n = number(s)) return *n <= 65535 ? std::optional(uint16_t(*n)) : std::nullopt;
  return lookup(kServices, s);
}

Bytes addr_bytes(const base::Addr& a) { return Bytes(a.bytes.begin(), a.bytes.begin() + long(a.size())); }

std::optional<Value> addr(base::Family f, std::string_view s) {
  Value v;
  if (s.find('/') != std::string_view::npos) {
    base::Prefix p;
    if (base::parse_prefix(s, &p) != base::PrefixError::None || p.addr.family != f) return std::nullopt;
    v.lo = addr_bytes(p.first()), v.hi = addr_bytes(p.last()), v.range = true, v.prefix = p.len;
    return v;
  }
  size_t dash = s.find('-');
  auto lo = base::parse_addr(s.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : base::parse_addr(s.substr(dash + 1));
  if (!lo || !hi || lo->family != f || hi->family != f || *hi < *lo) return std::nullopt;
  v.lo = addr_bytes(*lo), v.hi = addr_bytes(*hi), v.range = dash != std::string_view::npos;
  return v;
}

std::optional<Value> ports(std::string_view s) {
  size_t dash = s.find('-');
  auto lo = port(s.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : port(s.substr(dash + 1));
  if (!lo || !hi || *hi < *lo) return std::nullopt;
  return Value{be16(*lo), be16(*hi), dash != std::string_view::npos};
}

std::optional<Value> ifname(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  Value v;
  if (s.back() == '*') {
    v.wildcard = true;
    v.lo.assign(s.begin(), s.end() - 1);
  } else {
    v.lo.assign(16, 0);
    std::memcpy(v.lo.data(), s.data(), s.size());
  }
  v.hi = v.lo;
  return v;
}

std::optional<Value> single(const std::optional<uint64_t>& n, uint32_t len, bool host) {
  if (!n || (len < 8 && *n >> (8 * len))) return std::nullopt;
  Bytes b = host ? host32(uint32_t(*n)) : Bytes{uint8_t(*n)};
  return Value{b, b};
}

}  // namespace

uint32_t type_len(Type t) {
  switch (t) {
    case Type::Ifname: return 16;
    case Type::Proto:
    case Type::NfProto: return 1;
    case Type::Addr4: return 4;
    case Type::Addr6: return 16;
    case Type::Port: return 2;
    case Type::CtState:
    case Type::CtStatus:
    case Type::FibType:
    case Type::Number: return 4;
    case Type::Verdict: return 0;
  }
  return 0;
}

std::optional<Type> type_named(std::string_view w) {
  constexpr std::pair<std::string_view, Type> kTypes[] = {
      {"ipv4_addr", Type::Addr4},    {"ipv6_addr", Type::Addr6}, {"inet_service", Type::Port},
      {"inet_proto", Type::Proto},   {"ifname", Type::Ifname},   {"ct_state", Type::CtState},
      {"ct_status", Type::CtStatus}, {"mark", Type::Number},     {"verdict", Type::Verdict}};
  return lookup(kTypes, w);
}

Bytes host32(uint32_t v) {
  Bytes b(4);
  std::memcpy(b.data(), &v, 4);  // the kernel compares these in host order
  return b;
}

std::optional<uint32_t> parse_bits(Type t, std::string_view text) {
  uint32_t bits = 0;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view w = text.substr(0, comma);
    auto v = t == Type::CtState ? lookup(kStates, w) : lookup(kStatus, w);
    if (!v) v = number(w) ? std::optional(uint32_t(*number(w))) : std::nullopt;
    if (!v) return std::nullopt;
    bits |= *v;
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return bits;
}

std::optional<Value> parse_value(Type t, std::string_view text) {
  switch (t) {
    case Type::Addr4: return addr(base::Family::V4, text);
    case Type::Addr6: return addr(base::Family::V6, text);
    case Type::Port: return ports(text);
    case Type::Ifname: return ifname(text);
    case Type::Proto: {
      auto p = lookup(kProtos, text);
      return single(p ? std::optional<uint64_t>(*p) : number(text), 1, false);
    }
    case Type::NfProto: return single(text == "ipv4" ? 2 : text == "ipv6" ? 10 : number(text), 1, false);
    case Type::CtState:
    case Type::CtStatus: {
      auto b = parse_bits(t, text);
      return b ? std::optional(Value{host32(*b), host32(*b)}) : std::nullopt;
    }
    case Type::FibType: {
      auto v = lookup(kFibTypes, text);
      return single(v ? std::optional<uint64_t>(*v) : number(text), 4, true);
    }
    case Type::Number: return single(number(text), 4, true);
    case Type::Verdict: return std::nullopt;
  }
  return std::nullopt;
}

bool plus_one(Bytes& b) {
  for (size_t i = b.size(); i-- > 0;)
    if (++b[i] != 0) return true;
  return false;
}

}  // namespace natc::imports::nft_text
