#include <algorithm>

#include "base/text.h"
#include "check/check.h"

namespace natc::check {
namespace {

constexpr size_t kIfNameMax = 15;  // IFNAMSIZ - 1

}  // namespace

// Why the kernel would refuse `name` (dev_valid_name) or nft could not print
// it back unquoted-safe; "" when it is fine.
std::string interface_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kIfNameMax) return "is " + std::to_string(name.size()) + " bytes; the kernel allows at most 15";
  if (name == "." || name == "..") return "is not a valid interface name";
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '*') {
      if (i + 1 == name.size() && i > 0) continue;  // "eth*": a wildcard
      if (name.size() == 1) return "is a bare '*', which only a port forward's ingress may be (any interface)";
      return "has a '*' that is not at its end (a wildcard is a trailing '*')";
    }
    if (std::isspace(c) || c < 0x20 || c == 0x7f) return "contains whitespace or a control character";
    // Interface names are ASCII in practice, and a byte beyond it could be
    // a direction mark that turns what an operator reads around.
    if (c >= 0x80) return "contains a character that is not printable ASCII";
    if (c == '/' || c == ':' || c == '"' || c == '\'' || c == ';' || c == '\\')
      return std::string("contains '") + char(c) + "', which an interface name cannot hold";
  }
  return "";
}

namespace {

void check(const spec::At<std::string>& name, const std::string& kernel, base::Diagnostics& d,
           bool wildcard_ok = true) {
  if (!name.set) return;
  std::string why = interface_name_problem(kernel);
  if (why.empty() && !wildcard_ok && kernel.ends_with("*")) why = "is a wildcard; a bridge needs its exact name";
  if (why.empty()) return;
  std::string shown = "'" + base::clip(kernel, 80) + "'";
  if (kernel != name.v) shown += " (alias '" + base::clip(name.v, 80) + "')";
  d.report(base::Code::BadInterface, name.loc, "interface name " + shown + " " + why, "", uint32_t(name.v.size()));
}

}  // namespace

void interface_names(const spec::Spec& s, base::Diagnostics& d) {
  auto resolve = [&](const spec::At<std::string>& n) -> const spec::At<std::string>* {
    for (const auto& a : s.interfaces)
      if (a.name.v == n.v) return &a.kernel;
    return nullptr;
  };
  // Aliases are checked where they are defined; uses of an alias are fine.
  for (const auto& a : s.interfaces) check(a.kernel, a.kernel.v, d);
  auto use = [&](const spec::At<std::string>& n) {
    if (!resolve(n)) check(n, n.v, d);
  };
  for (const auto& sub : s.subnets) {
    if (sub.egress.v == "*")
      d.report(base::Code::BadInterface, sub.egress.loc,
               "a bare '*' is not an egress: a subnet is translated on the interfaces it leaves by",
               "name them, or a wildcard such as 'eth*'");
    else
      use(sub.egress);
  }
  // A port forward's ingress may be '*': any interface.
  for (const auto& pf : s.port_forwards)
    if (pf.ingress.v != "*") use(pf.ingress);
  for (const auto& r : s.redirects)
    if (r.ingress.v != "*") use(r.ingress);
  // Translated both ways: a bare '*' would translate towards the LAN too.
  auto both_ways = [&](const spec::At<std::string>& n, std::string_view what) {
    if (n.v == "*")
      d.report(base::Code::BadInterface, n.loc, "a bare '*' is not an interface for " + std::string(what),
               "name the interface its public side is on");
    else
      use(n);
  };
  for (const auto& x : s.static_nat) both_ways(x.interface, "static NAT");
  for (const auto& n : s.nptv6) both_ways(n.interface, "NPTv6");
  for (const auto& b : s.bridges) check(b.name, b.name.v, d, false);
  // keepalived and conntrackd take one interface each, by its exact name
  // (and natc writes it into their files: nothing but a name may pass).
  if (s.ha) {
    auto exact = [&](const spec::At<std::string>& n) {
      const spec::At<std::string>* kernel = resolve(n);
      if (!kernel)
        check(n, n.v, d, false);
      else if (kernel->v.ends_with("*"))
        check(n, kernel->v, d, false);
    };
    exact(s.ha->sync_interface);
    for (const auto& v : s.ha->virtual_addresses) exact(v.interface);
  }
}

}  // namespace natc::check
