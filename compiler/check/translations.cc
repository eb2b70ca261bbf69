#include <algorithm>
#include <tuple>

#include "base/spell.h"
#include "check/check.h"

namespace natc::check {
namespace {

using base::Code;

std::string named(std::string_view what, const ir::Entry& e) { return std::string(what) + " '" + e.name + "'"; }

// Two prefixes of one entry: one family, one length, a size natc expands.
bool paired(const ir::Entry& e, std::string_view what, const ir::Prefix& a, std::string_view a_key, const ir::Prefix& b,
            std::string_view b_key, base::Diagnostics& d) {
  std::string both =
      std::string(a_key) + " " + base::to_string(a) + " and " + std::string(b_key) + " " + base::to_string(b);
  if (a.addr.family != b.addr.family) return false;  // families() says so
  if (a.len != b.len) {
    d.report(Code::StaticClash, e.loc, named(what, e) + ": " + both + " differ in length",
             "host bits map one to one: give both the same prefix length");
    return false;
  }
  return true;
}

void statics(const ir::Ir& ir, base::Diagnostics& d) {
  for (size_t i = 0; i < ir.statics.size(); ++i) {
    const ir::StaticNat& s = ir.statics[i];
    if (!paired(s.entry, "static NAT", s.public_prefix, "public", s.private_prefix, "private", d)) continue;
    if (base::to_range(s.public_prefix).count() > ir::kMaxStaticHosts)
      d.report(Code::StaticClash, s.entry.loc,
               named("static NAT", s.entry) + " maps " + base::to_string(s.public_prefix) + ", more than " +
                   std::to_string(ir::kMaxStaticHosts) + " addresses",
               "split it, or use nptv6 for IPv6 prefixes");
    for (size_t j = 0; j < i; ++j) {
      const ir::StaticNat& o = ir.statics[j];
      for (auto [mine, theirs, key] : {std::tuple{&s.public_prefix, &o.public_prefix, "public"},
                                       std::tuple{&s.private_prefix, &o.private_prefix, "private"}})
        if (base::to_range(*mine).overlaps(base::to_range(*theirs)))
          d.report(Code::StaticClash, s.entry.loc,
                   named("static NAT", s.entry) + "'s " + key + " " + base::to_string(*mine) + " overlaps " +
                       named("static NAT", o.entry) + "'s " + base::to_string(*theirs),
                   "each address belongs to one 1:1 pair");
    }
    auto r = base::to_range(s.public_prefix);
    // A forward to one of its addresses: which one wins a port would be an
    // accident of rule order.
    for (const ir::Forward& f : ir.forwards)
      if (f.destination && r.contains(*f.destination) && !f.docker)
        d.report(Code::StaticClash, f.entry.loc,
                 named("port forward", f.entry) + " forwards from " + base::to_string(*f.destination) + ", which " +
                     named("static NAT", s.entry) + " already forwards, every port, to " +
                     base::to_string(s.private_prefix),
                 "give the forward another destination, or take the address out of the static NAT");
    for (const ir::Subnet& sub : ir.subnets)
      if (sub.snat == ir::SnatKind::To && r.contains(sub.to))
        d.report(Code::StaticClash, sub.entry.loc,
                 named("subnet", sub.entry) + " translates to " + base::to_string(sub.to) + ", which " +
                     named("static NAT", s.entry) + " gives to " + base::to_string(s.private_prefix),
                 "new connections to that address would reach the static NAT's host, not the subnet");
    for (const ir::Pool& p : ir.pools)
      for (const ir::AddrRange& a : p.addresses)
        if (a.overlaps(r))
          d.report(Code::StaticClash, p.entry.loc,
                   named("SNAT pool", p.entry) + " shares addresses with " + named("static NAT", s.entry) + " (" +
                       base::to_string(s.public_prefix) + ")",
                   "take the static NAT's addresses out of the pool");
  }
}

void npts(const ir::Ir& ir, base::Diagnostics& d) {
  for (size_t i = 0; i < ir.npts.size(); ++i) {
    const ir::Npt& n = ir.npts[i];
    if (!paired(n.entry, "NPTv6 entry", n.inside, "inside", n.outside, "outside", d)) continue;
    if (n.inside.len == 0)
      d.report(Code::StaticClash, n.entry.loc, named("NPTv6 entry", n.entry) + " translates every address",
               "NPTv6 maps a site prefix (a /48 or /64, say) to another");
    for (size_t j = 0; j < i; ++j) {
      const ir::Npt& o = ir.npts[j];
      for (auto [mine, theirs, key] :
           {std::tuple{&n.inside, &o.inside, "inside"}, std::tuple{&n.outside, &o.outside, "outside"}})
        if (base::to_range(*mine).overlaps(base::to_range(*theirs)) && interfaces_overlap(n.iface, o.iface))
          d.report(Code::StaticClash, n.entry.loc,
                   named("NPTv6 entry", n.entry) + "'s " + key + " " + base::to_string(*mine) + " overlaps " +
                       named("NPTv6 entry", o.entry) + "'s " + base::to_string(*theirs),
                   "one translation per prefix and interface");
    }
  }
}

void helpers(const ir::Ir& ir, base::Diagnostics& d) {
  std::vector<std::string_view> kinds = ir::helper_kinds();
  std::string known;
  for (std::string_view k : kinds) known += (known.empty() ? "" : ", ") + std::string(k);
  for (const ir::Helper& h : ir.helpers) {
    if (std::find(kinds.begin(), kinds.end(), h.kind) == kinds.end()) {
      d.report(Code::UnknownHelper, h.entry.loc, "helper '" + h.entry.name + "': no conntrack helper '" + h.kind + "'",
               base::did_you_mean(h.kind, kinds, "natc knows: " + known));
      continue;
    }
    for (ir::Proto p : h.protocols)
      if (ir::helper_kernel_name(h.kind, p).empty())
        d.report(Code::UnknownHelper, h.entry.loc,
                 "helper '" + h.entry.name + "': " + h.kind + " has no helper for " + std::string(ir::proto_name(p)),
                 "name the protocol the " + h.kind + " helper speaks");
  }
}

}  // namespace

void translations(const ir::Ir& ir, base::Diagnostics& d) {
  statics(ir, d);
  npts(ir, d);
  helpers(ir, d);
}

}  // namespace natc::check
