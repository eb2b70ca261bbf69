#include <optional>

#include "check/check.h"

namespace natc::check {
namespace {

using base::Code;
using base::Family;

// The first family an entry mentions decides; every later address that
// differs is reported where it stands.
class FamilyOf {
 public:
  FamilyOf(std::string what, base::Diagnostics& d) : what_(std::move(what)), d_(d) {}
  void see(Family f, base::Loc at, const std::string& text) {
    if (!first_) {
      first_ = f;
      return;
    }
    if (f != *first_)
      d_.report(Code::MixedFamilies, at,
                what_ + " mixes " + std::string(base::family_name(*first_)) + " and " +
                    std::string(base::family_name(f)) + " ('" + text + "')",
                "NAT cannot translate between families: use one family per entry", uint32_t(text.size()));
  }
  void see(const spec::At<base::Addr>& a) {
    if (a.set) see(a.v.family, a.loc, base::to_string(a.v));
  }
  void see(const spec::At<base::Prefix>& p) {
    if (p.set) see(p.v.addr.family, p.loc, base::to_string(p.v));
  }

 private:
  std::string what_;
  base::Diagnostics& d_;
  std::optional<Family> first_;
};

void range_lengths(const std::string& what, const spec::At<base::PortRange>& port, const spec::Target& to,
                   base::Diagnostics& d) {
  if (!port.set || !to.port.set || port.v.size() == to.port.v.size()) return;
  d.report(Code::RangeMismatch, to.port.loc,
           what + " maps " + std::to_string(port.v.size()) + " port(s) (" + base::to_string(port.v) + ") onto " +
               std::to_string(to.port.v.size()) + " (" + base::to_string(to.port.v) + ")",
           "ranges map 1:1: make them the same length, or leave the target port out to keep the ports",
           uint32_t(base::to_string(to.port.v).size()));
}

}  // namespace

void families(const spec::Spec& s, base::Diagnostics& d) {
  for (const auto& p : s.snat_pools) {
    FamilyOf f("SNAT pool '" + p.name.v + "'", d);
    for (const auto& r : p.addresses) f.see(r.v.first.family, r.loc, base::to_string(r.v));
  }
  for (const auto& sub : s.subnets) {
    FamilyOf f("subnet '" + sub.name.v + "'", d);
    f.see(sub.cidr);
    f.see(sub.snat.to);
    for (const auto& p : s.snat_pools)
      if (sub.snat.kind == spec::SnatKind::Pool && p.name.v == sub.snat.pool.v && !p.addresses.empty())
        f.see(p.addresses.front().v.first.family, sub.snat.pool.loc, sub.snat.pool.v);
  }
  for (const auto& pf : s.port_forwards) {
    std::string what = "port forward '" + pf.name.v + "'";
    FamilyOf f(what, d);
    f.see(pf.to.addr);
    f.see(pf.destination);
    for (const auto& p : pf.allow_from) f.see(p);
    range_lengths(what, pf.port, pf.to, d);
  }
  for (const auto& r : s.redirects) {
    FamilyOf f("redirect '" + r.name.v + "'", d);
    for (const auto& p : r.from) f.see(p);
    for (const auto& p : r.except) f.see(p);
  }
  for (const auto& x : s.static_nat) {
    FamilyOf f("static NAT '" + x.name.v + "'", d);
    f.see(x.public_addr);
    f.see(x.private_addr);
    for (const auto& p : x.allow_from) f.see(p);
  }
  for (const auto& n : s.nptv6) {
    FamilyOf f("NPTv6 entry '" + n.name.v + "'", d);
    f.see(Family::V6, n.loc, "IPv6");  // NPTv6 is IPv6 only
    f.see(n.inside);
    f.see(n.outside);
  }
  for (const auto& r : s.forwarding.rules) {
    FamilyOf f("forward rule '" + r.name.v + "'", d);
    for (const auto& p : r.to) f.see(p);
    for (const auto& p : r.from) f.see(p);
  }
  for (const auto& b : s.bridges) {
    for (const auto& p : b.publish) {
      std::string what = "published port '" + p.name.v + "'";
      FamilyOf f(what, d);
      f.see(b.cidr);
      f.see(p.to.addr);
      range_lengths(what, p.port, p.to, d);
    }
  }
}

}  // namespace natc::check
