#include <algorithm>
#include <charconv>
#include <sstream>

#include "guard/guard.h"

namespace natc::guard {
namespace {

std::string endpoint(const base::Addr& a, uint16_t port) {
  return (a.family == base::Family::V6 ? "[" + base::to_string(a) + "]" : base::to_string(a)) + ":" +
         std::to_string(port);
}

std::optional<uint16_t> port_of(const std::string& s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return uint16_t(v);
}

bool same(const Session& s, const conntrack::Flow& f) {
  return f.proto == s.proto && f.orig.src == s.client && f.orig.sport == s.client_port && f.orig.dst == s.server &&
         f.orig.dport == s.server_port;
}

}  // namespace

std::string Session::describe() const {
  return std::string(yours ? "your session " : "the session ") + base::proto_name(proto) + " " +
         endpoint(client, client_port) + " -> " + endpoint(server, server_port);
}

std::optional<Session> from_ssh_connection(const char* value) {
  if (!value) return std::nullopt;
  std::istringstream in(value);
  std::string client, cport, server, sport;
  if (!(in >> client >> cport >> server >> sport)) return std::nullopt;
  auto c = base::parse_addr(client), s = base::parse_addr(server);
  auto cp = port_of(cport), sp = port_of(sport);
  if (!c || !s || !cp || !sp || c->family != s->family) return std::nullopt;
  Session out;
  out.client = *c, out.server = *s, out.client_port = *cp, out.server_port = *sp;
  out.yours = true;
  return out;
}

std::vector<Session> sessions(const std::optional<Session>& yours, const std::vector<conntrack::Flow>& flows,
                              const std::vector<uint16_t>& management_ports) {
  std::vector<Session> out;
  if (yours) out.push_back(*yours);
  auto managed = [&](uint16_t port) {
    return std::find(management_ports.begin(), management_ports.end(), port) != management_ports.end();
  };
  for (const conntrack::Flow& f : flows) {
    if (!out.empty() && out[0].yours && same(out[0], f)) {
      out[0].flow = f;  // conntrack says where your session really goes
      continue;
    }
    if (f.proto != uint8_t(base::Proto::Tcp) || !(managed(f.orig.dport) || managed(f.reply.sport))) continue;
    Session s;
    s.client = f.orig.src, s.server = f.orig.dst, s.client_port = f.orig.sport, s.server_port = f.orig.dport;
    s.flow = f;
    out.push_back(s);
  }
  return out;
}

std::vector<base::Addr> addresses(const std::vector<Session>& sessions) {
  std::vector<base::Addr> out;
  for (const Session& s : sessions) {
    out.push_back(s.client);
    out.push_back(s.server);
    if (s.flow) out.push_back(s.flow->reply.src);
  }
  return out;
}

}  // namespace natc::guard
