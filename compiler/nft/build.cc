#include "nft/build.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace natc::nft {
namespace {

using ir::IfMatch;

std::string fam(Family f) { return f == Family::V4 ? "4" : "6"; }

AddrRange one(const ir::Addr& a) { return {a, a}; }

// Set names are identifiers; interface labels may hold '.', '-' or '*'.
std::string slug(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string slug(const IfMatch& m) {
  switch (m.kind) {
    case IfMatch::Kind::Any: return "any";
    case IfMatch::Kind::Is: return slug(m.label);
    case IfMatch::Kind::IsNot: return "not_" + slug(m.label);
  }
  return "";
}

std::vector<Stmt> iface(const IfMatch& m, bool out) {
  if (m.kind == IfMatch::Kind::Any) return {};
  return {IfName{out, m.kind == IfMatch::Kind::IsNot, m.name}};
}

template <class... S>
Rule rule(std::string comment, std::vector<Stmt> head, S&&... tail) {
  (head.push_back(std::forward<S>(tail)), ...);
  return {std::move(head), std::move(comment)};
}

// The keys a set's elements already hold: an open-addressing table of
// indices into the set's elements (so the vector may grow), keys compared
// only where hashes meet. 100k forwards: no string, no node per key.
class KeyIndex {
 public:
  // Whether `key` is new; if so, the caller appends its element next.
  bool insert(const std::vector<Element>& elements, const std::vector<Part>& key) {
    if ((used_ + 1) * 2 > slots_.size()) grow();
    auto hash = uint32_t(key_hash(key));
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.index == 0) {
        s = {uint32_t(elements.size() + 1), hash};
        ++used_;
        return true;
      }
      if (s.hash == hash && elements[s.index - 1].key == key) return false;
    }
  }

 private:
  struct Slot {
    uint32_t index = 0;  // element index + 1; 0: free
    uint32_t hash = 0;
  };

  void grow() {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(std::max<size_t>(16, slots_.size() * 2)));
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index == 0) continue;
      size_t i = s.hash & mask;
      while (slots_[i].index != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
};

// A (daddr . l4proto . dport) set, each key once: the first entry names it.
class TargetSet {
 public:
  TargetSet(std::string name, Family f) { set_.name = std::move(name), set_.family = f; }
  void add(const ir::Addr& a, Proto p, uint16_t port, const std::string& entry) {
    std::vector<Part> key{one(a), p, port};
    if (!seen_.insert(set_.elements, key)) return;
    set_.elements.push_back({std::move(key), {}, entry});
  }
  bool empty() const { return set_.elements.empty(); }
  Set take(Role role, bool counter = false) {
    set_.key = {Field::Daddr, Field::L4Proto, Field::Dport};
    set_.role = role;
    set_.counter = counter;
    return std::move(set_);
  }

 private:
  Set set_;
  KeyIndex seen_;
};

class Builder {
 public:
  explicit Builder(const ir::Ir& ir) : ir_(ir) {}

  Table run() {
    fwd_.drop_policy = ir_.drop_policy;
    // Forward chain order: the accepts that count per spec entry come
    // before the general established/related accept, so every packet of a
    // flow (not only its first) is counted once, against its entry.
    // Static NAT first: its addresses are its own, every port (check/
    // refuses a port forward from one of them); its SNAT before the subnets'.
    if (ir_.ha && ir_.ha->strict_tcp) strict_tcp();  // before anything else can take the packet
    helpers();                                       // first in prerouting: a helper is assigned before any DNAT
    for (Family f : {Family::V4, Family::V6}) statics(f);
    for (Family f : {Family::V4, Family::V6}) forwards(f);
    for (const ir::Redirect& r : ir_.redirects) redirect(r);  // after the forwards: a forward wins its port
    for (Family f : {Family::V4, Family::V6}) subnets(f);
    npts();
    fwd_.rules.push_back(rule("established, related", {}, CtEstablished{}, Accept{}));
    for (const ir::ForwardRule& r : ir_.rules) explicit_rule(r);
    if (!raw_.rules.empty()) t_.chains.push_back(std::move(raw_));  // only for NPTv6
    t_.chains.push_back(std::move(pre_));
    if (!out_.rules.empty()) t_.chains.push_back(std::move(out_));  // only for forwards from_gateway
    t_.chains.push_back(std::move(post_));
    t_.chains.push_back(std::move(fwd_));
    return std::move(t_);
  }

 private:
  // --- a gateway pair ---------------------------------------------------------
  // keepalived adds the virtual address a few milliseconds before the
  // notify commits conntrackd's flows into the kernel; a mid-flow packet in
  // that gap would make a new, wrong-way entry (for a local address: a
  // reset from this node). Only a SYN opens a TCP flow, and nothing that
  // conntrack finds invalid is forwarded. The nat chain sees only a flow's
  // first packet: a mid-flow one there has no entry yet.
  void strict_tcp() {
    pre_.rules.push_back(rule("ha: a TCP flow starts with SYN", {}, TcpNotSyn{}, Drop{}));
    fwd_.rules.push_back(rule("ha: invalid", {}, CtInvalid{}, Drop{}));
  }

  // --- port forwards: one map per (ingress, destination?, sources?) --------
  struct DnatGroup {
    IfMatch ingress;
    bool destination, sources;
    Set map;
    std::set<Proto> protocols;
    KeyIndex keys;  // of the elements, each once
  };

  void forwards(Family f) {
    std::vector<DnatGroup> groups, local;  // local: the gateway's own connections (output hook)
    TargetSet accept("dnat_accept" + fam(f), f), hairpin("hairpin" + fam(f), f);
    for (const ir::Forward& fw : ir_.forwards) {
      if (fw.family != f) continue;
      add_elements(group(groups, fw, fw.ingress, ""), fw);
      if (fw.from_gateway) add_elements(group(local, fw, {IfMatch::Kind::Any}, "out_"), fw);
      for (const ir::PortMap& m : fw.ports) {
        if (fw.auto_accept) accept.add(fw.to, m.proto, m.to_port, fw.entry.name);
        if (fw.hairpin) hairpin.add(fw.to, m.proto, m.to_port, fw.entry.name);
      }
    }
    dnat_rules(groups, pre_, true);
    if (!local.empty()) {
      // Never loopback: a local service on 127.0.0.1 keeps its port.
      base::Prefix lo;
      base::parse_prefix(f == Family::V4 ? "127.0.0.0/8" : "::1/128", &lo);
      out_.rules.push_back(rule("loopback is never forwarded", {}, AddrMatch{f, false, base::to_range(lo)}, Accept{}));
      dnat_rules(local, out_, false);
    }
    if (!accept.empty()) {
      // Both directions of a DNAT'd flow: from the client to the target,
      // and the target's replies. Only DNAT'd connections carry
      // `ct status dnat`, so neither accepts anything else.
      std::string set = "dnat_accept" + fam(f);
      fwd_.rules.push_back(
          rule("port forwards", {}, CtDnat{}, Lookup{f, {Field::Daddr, Field::L4Proto, Field::Dport}, set}, Accept{}));
      fwd_.rules.push_back(rule("port forward replies", {}, CtDnat{},
                                Lookup{f, {Field::Saddr, Field::L4Proto, Field::Sport}, set}, Accept{}));
      t_.sets.push_back(accept.take(Role::ForwardAccept, /*counter=*/true));
    }
    if (!hairpin.empty()) hairpin_rule(f, hairpin.take(Role::Hairpin));
  }

  void add_elements(DnatGroup& g, const ir::Forward& fw) {
    std::vector<std::optional<AddrRange>> sources(fw.allow_from.begin(), fw.allow_from.end());
    if (sources.empty()) sources.push_back(std::nullopt);
    for (const ir::PortMap& m : fw.ports) {
      for (const auto& src : sources) {
        Element e{{}, {one(fw.to), m.to_port}, fw.entry.name};
        e.key.reserve(4);
        if (src) e.key.push_back(*src);
        if (fw.destination) e.key.push_back(one(*fw.destination));
        e.key.push_back(m.proto);
        e.key.push_back(m.port);
        // One key once: forwards on different interfaces may share a port,
        // and the output hook has no interface to tell them apart.
        if (!g.keys.insert(g.map.elements, e.key)) continue;
        g.map.elements.push_back(std::move(e));
        g.protocols.insert(m.proto);
      }
    }
  }

  // One rule per map and protocol, maps with a source key first (they are
  // the narrower match). `iface`: match the group's ingress (prerouting).
  void dnat_rules(std::vector<DnatGroup>& groups, Chain& chain, bool match_iface) {
    std::stable_partition(groups.begin(), groups.end(), [](auto& g) { return g.sources; });
    for (DnatGroup& g : groups) {
      // "tcp dport" makes the transport protocol a match of the rule,
      // which a port map needs.
      for (Proto p : {Proto::Tcp, Proto::Udp}) {
        if (!g.protocols.contains(p)) continue;
        std::vector<Stmt> head = match_iface ? iface(g.ingress, false) : std::vector<Stmt>{};
        if (!g.destination) head.push_back(FibLocal{});
        Nat nat;
        nat.source = false;
        nat.family = g.map.family;
        nat.map = Lookup{g.map.family, key_of(g), g.map.name, p};
        head.push_back(std::move(nat));
        chain.rules.push_back({std::move(head), (match_iface ? "port forwards via " + label(g.ingress)
                                                             : std::string("port forwards from the gateway"))});
      }
      t_.sets.push_back(std::move(g.map));
    }
  }

  static std::vector<Field> key_of(const DnatGroup& g) {
    std::vector<Field> k;
    if (g.sources) k.push_back(Field::Saddr);
    if (g.destination) k.push_back(Field::Daddr);
    k.push_back(Field::L4Proto);
    k.push_back(Field::Dport);
    return k;
  }

  static std::string label(const IfMatch& m) {
    switch (m.kind) {
      case IfMatch::Kind::Any: return "any interface";
      case IfMatch::Kind::Is: return m.label;
      case IfMatch::Kind::IsNot: return "all but " + m.label;
    }
    return "";
  }

  DnatGroup& group(std::vector<DnatGroup>& groups, const ir::Forward& fw, const IfMatch& ingress,
                   const std::string& prefix) {
    bool dest = fw.destination.has_value(), src = !fw.allow_from.empty();
    for (DnatGroup& g : groups)
      if (g.ingress == ingress && g.destination == dest && g.sources == src) return g;
    DnatGroup g{ingress, dest, src, {}};
    g.map.name = "dnat" + fam(fw.family) + "_" + prefix + slug(ingress) + (dest ? "" : "_local") + (src ? "_src" : "");
    g.map.family = fw.family;
    g.map.key = key_of(g);
    g.map.data = {Data::Addr, Data::Port};
    g.map.interval = src;  // allow_from ranges need the concatenated-interval backend
    g.map.role = Role::DnatMap;
    groups.push_back(std::move(g));
    return groups.back();
  }

  // Hairpinned flows leave towards the LAN they came from; without SNAT the
  // target would answer the client directly and the client drop the reply.
  void hairpin_rule(Family f, Set hairpin) {
    if (!internal(f)) return;  // no LAN declared: nothing to hairpin from
    post_.rules.push_back(rule("hairpin", {}, CtDnat{}, Lookup{f, {Field::Saddr}, "internal" + fam(f)},
                               Lookup{f, {Field::Daddr, Field::L4Proto, Field::Dport}, hairpin.name}, Masquerade{}));
    t_.sets.push_back(std::move(hairpin));
  }

  // The set of every declared subnet, made once per family; false when
  // there is none.
  bool internal(Family f) {
    std::string name = "internal" + fam(f);
    if (std::any_of(t_.sets.begin(), t_.sets.end(), [&](const Set& s) { return s.name == name; })) return true;
    Set internal{name, f, {Field::Saddr}, {}, true, false, Role::Internal};
    std::vector<AddrRange> ranges;
    for (const ir::Subnet& s : ir_.subnets)
      if (s.cidr.addr.family == f) ranges.push_back(base::to_range(s.cidr));
    // Interval sets cannot hold overlaps: keep the union, each run named
    // after the first subnet that starts it; adjacent subnets stay apart.
    for (const AddrRange& r : base::merge_ranges(ranges, /*join_adjacent=*/false)) {
      auto owner = std::find_if(ir_.subnets.begin(), ir_.subnets.end(),
                                [&](const ir::Subnet& s) { return base::to_range(s.cidr).first == r.first; });
      internal.elements.push_back({{r}, {}, owner->entry.name});
    }
    if (internal.elements.empty()) return false;
    t_.sets.push_back(std::move(internal));
    return true;
  }

  // --- static NAT: one map lookup each way, host by host -------------------
  // In: daddr (or saddr . daddr for allow_from) to the private host, on the
  // interface, or on every one for hairpin. Out: saddr to the public host.
  struct StaticSets {
    std::vector<Set> in, out, accept;
    Set hairpin;
  };

  void statics(Family f) {
    StaticSets sets{{}, {}, {}, {"static_hairpin" + fam(f), f, {Field::Daddr}, {}, false, false, Role::StaticHairpin}};
    for (const ir::StaticNat& s : ir_.statics)
      if (s.family == f) static_elements(s, sets);
    static_rules(f, sets);
  }

  void static_elements(const ir::StaticNat& s, StaticSets& sets) {
    Family f = s.family;
    IfMatch ingress = s.hairpin ? IfMatch{IfMatch::Kind::Any} : s.iface;
    bool src = !s.allow_from.empty();
    Set& dnat = named(sets.in, "static" + fam(f) + "_in_" + slug(ingress) + (src ? "_src" : ""), [&](Set& m) {
      m.family = f;
      m.key = src ? std::vector<Field>{Field::Saddr, Field::Daddr} : std::vector<Field>{Field::Daddr};
      m.data = {Data::Addr};
      m.interval = src;
      m.role = Role::StaticDnat;
    });
    Set& snat = named(sets.out, "static" + fam(f) + "_out_" + slug(s.iface), [&](Set& m) {
      m.family = f, m.key = {Field::Saddr}, m.data = {Data::Addr}, m.role = Role::StaticSnat;
    });
    for (const ir::StaticHost& h : s.hosts) {
      if (src)
        for (const AddrRange& from : s.allow_from)
          dnat.elements.push_back({{from, one(h.public_addr)}, {one(h.private_addr)}, s.entry.name});
      else
        dnat.elements.push_back({{one(h.public_addr)}, {one(h.private_addr)}, s.entry.name});
      snat.elements.push_back({{one(h.private_addr)}, {one(h.public_addr)}, s.entry.name});
      if (s.hairpin) sets.hairpin.elements.push_back({{one(h.private_addr)}, {}, s.entry.name});
    }
    if (!s.auto_accept) return;
    Set& ok = named(sets.accept, "static" + fam(f) + "_" + slug(s.iface), [&](Set& m) {
      m.family = f, m.key = {Field::Daddr}, m.counter = true, m.role = Role::StaticAccept;
    });
    for (const ir::StaticHost& h : s.hosts) ok.elements.push_back({{one(h.private_addr)}, {}, s.entry.name});
  }

  void static_rules(Family f, StaticSets& sets) {
    // allow_from maps first: they are the narrower match.
    std::stable_partition(sets.in.begin(), sets.in.end(), [](const Set& m) { return m.interval; });
    for (Set& m : sets.in) {
      const ir::StaticNat& s = owner(m);
      IfMatch ingress = s.hairpin ? IfMatch{IfMatch::Kind::Any} : s.iface;
      pre_.rules.push_back(
          rule("static NAT via " + label(ingress), iface(ingress, false), Nat{false, f, Lookup{f, m.key, m.name}}));
      t_.sets.push_back(std::move(m));
    }
    for (Set& m : sets.out) {
      const ir::StaticNat& s = owner(m);
      post_.rules.push_back(
          rule("static NAT via " + label(s.iface), iface(s.iface, true), Nat{true, f, Lookup{f, m.key, m.name}}));
      t_.sets.push_back(std::move(m));
    }
    for (Set& m : sets.accept) {
      const ir::StaticNat& s = owner(m);
      std::string via = " via " + label(s.iface);
      Lookup to{f, {Field::Daddr}, m.name}, from{f, {Field::Saddr}, m.name};
      fwd_.rules.push_back(rule("static NAT" + via, {}, CtDnat{}, to, Accept{}));
      fwd_.rules.push_back(rule("static NAT replies" + via, {}, CtDnat{}, from, Accept{}));
      fwd_.rules.push_back(rule("static NAT out" + via, iface(s.iface, true), from, Accept{}));
      fwd_.rules.push_back(rule("static NAT out replies" + via, iface(s.iface, false), to, CtEstablished{}, Accept{}));
      t_.sets.push_back(std::move(m));
    }
    if (!sets.hairpin.elements.empty() && internal(f)) {
      post_.rules.push_back(rule("static NAT hairpin", {}, CtDnat{}, Lookup{f, {Field::Saddr}, "internal" + fam(f)},
                                 Lookup{f, {Field::Daddr}, sets.hairpin.name}, Masquerade{}));
      t_.sets.push_back(std::move(sets.hairpin));
    }
  }

  // The set called `name` in `sets`, made by `init` the first time.
  template <class Init>
  static Set& named(std::vector<Set>& sets, const std::string& name, Init&& init) {
    for (Set& s : sets)
      if (s.name == name) return s;
    Set& s = sets.emplace_back();
    s.name = name;
    init(s);
    return s;
  }

  // The static NAT entry of a set's first element: whose interface it uses.
  const ir::StaticNat& owner(const Set& m) const {
    return *std::find_if(ir_.statics.begin(), ir_.statics.end(),
                         [&](const ir::StaticNat& s) { return s.entry.name == m.elements.front().entry; });
  }

  // --- helpers: an object per helper and protocol, assigned by port --------
  // In prerouting, on a connection's first packet: the helper then sees
  // (and, with NAT, rewrites) its control traffic and expects the related
  // connections, which the forward chain's established/related accept takes.
  void helpers() {
    for (const ir::Helper& h : ir_.helpers)
      for (Proto p : h.protocols) {
        std::string_view kernel_name = ir::helper_kernel_name(h.kind, p);
        if (kernel_name.empty()) continue;  // check/ reported it
        std::string name = "helper_" + slug(h.entry.name) + "_" + std::string(ir::proto_name(p));
        t_.helpers.push_back({name, std::string(kernel_name), p, h.entry.name});
        pre_.rules.push_back(rule(h.entry.name, {}, PortMatch{p, h.port}, HelperSet{name}));
      }
  }

  // --- NPTv6: stateless, before conntrack ----------------------------------
  // In: the outside prefix arriving on the interface becomes the inside one
  // before routing. Out: the inside prefix routed out of the interface
  // becomes the outside one. Both untracked, so neither is NATed again.
  void npts() {
    std::vector<Set> accept;
    for (const ir::Npt& n : ir_.npts) {
      std::string iname = n.iface.name;
      raw_.rules.push_back(rule(n.entry.name, iface(n.iface, false),
                                AddrMatch{Family::V6, false, base::to_range(n.outside)}, PrefixRewrite{false, n.inside},
                                Notrack{}));
      std::vector<Stmt> out = iface(n.iface, false);
      if (!out.empty()) std::get<IfName>(out.front()).negate = true;
      raw_.rules.push_back(rule(n.entry.name, out, AddrMatch{Family::V6, true, base::to_range(n.inside)}, FibOif{iname},
                                PrefixRewrite{true, n.outside}, Notrack{}));
      if (!n.auto_accept) continue;
      auto init = [](Set& m) {
        m.family = Family::V6, m.key = {Field::Saddr}, m.interval = true, m.counter = true, m.role = Role::NptAccept;
      };
      named(accept, "npt6_out_" + slug(n.iface), init)
          .elements.push_back({{base::to_range(n.outside)}, {}, n.entry.name});
      named(accept, "npt6_in_" + slug(n.iface), init)
          .elements.push_back({{base::to_range(n.inside)}, {}, n.entry.name});
    }
    for (Set& m : accept) {
      bool out = m.name.starts_with("npt6_out_");
      const IfMatch& i = std::find_if(ir_.npts.begin(), ir_.npts.end(), [&](const ir::Npt& n) {
                           return n.entry.name == m.elements.front().entry;
                         })->iface;
      fwd_.rules.push_back(rule(std::string("NPTv6 ") + (out ? "out" : "in") + " via " + label(i), iface(i, out),
                                Lookup{Family::V6, {out ? Field::Saddr : Field::Daddr}, m.name}, Accept{}));
      t_.sets.push_back(std::move(m));
    }
  }

  // --- redirects: to the gateway itself ------------------------------------
  // Per protocol and source range; the exceptions first, as accepts: an
  // accept in a nat chain ends its NAT, so they are never redirected.
  void redirect(const ir::Redirect& r) {
    std::vector<std::optional<AddrRange>> from(r.from.begin(), r.from.end());
    if (from.empty()) from.push_back(std::nullopt);
    for (Proto p : r.protocols) {
      for (const AddrRange& ex : r.except)
        pre_.rules.push_back(
            {with(iface(r.ingress, false), AddrMatch{ex.first.family, true, ex}, PortMatch{p, r.port}, Accept{}),
             r.entry.name + " (except)"});
      for (const auto& src : from) {
        std::vector<Stmt> s = iface(r.ingress, false);
        if (src) s.push_back(AddrMatch{src->first.family, true, *src});
        s.push_back(PortMatch{p, r.port});
        s.push_back(Redirect{r.to_port});
        pre_.rules.push_back({std::move(s), r.entry.name});
      }
    }
  }

  template <typename... S>
  static std::vector<Stmt> with(std::vector<Stmt> head, S&&... tail) {
    (head.push_back(std::forward<S>(tail)), ...);
    return head;
  }

  // --- subnets: one interval set (or map) per egress and translation -------
  struct SubnetGroup {
    const ir::Subnet* first;
    Set set;
  };

  void subnets(Family f) {
    std::vector<SubnetGroup> groups;
    for (const ir::Subnet& s : ir_.subnets) {
      if (s.cidr.addr.family != f) continue;
      auto it = std::find_if(groups.begin(), groups.end(), [&](const SubnetGroup& g) {
        return g.first->egress == s.egress && g.first->snat == s.snat && g.first->pool == s.pool;
      });
      if (it == groups.end()) it = groups.insert(groups.end(), new_group(s, f));
      Element e{{base::to_range(s.cidr)}, {}, s.entry.name};
      if (s.snat == ir::SnatKind::To) e.data = {one(s.to)};
      it->set.elements.push_back(std::move(e));
    }
    for (SubnetGroup& g : groups) {
      const ir::Subnet& s = *g.first;
      std::string via = "via " + label(s.egress);
      Lookup src{f, {Field::Saddr}, g.set.name};
      std::vector<Stmt> out = iface(s.egress, true);
      switch (s.snat) {
        case ir::SnatKind::Masquerade: post_.rules.push_back(rule("masquerade " + via, out, src, Masquerade{})); break;
        case ir::SnatKind::To: post_.rules.push_back(rule("snat " + via, out, Nat{true, f, src})); break;
        case ir::SnatKind::Pool: pool_rules(s, out, src); break;
        case ir::SnatKind::None: break;
      }
      fwd_.rules.push_back(rule("subnets " + via, out, src, Accept{}));
      // Their replies, for the counters; established only, so nothing
      // unsolicited reaches the subnet through this rule.
      std::vector<Stmt> in = iface(s.egress, false);
      in.push_back(Lookup{f, {Field::Daddr}, g.set.name});
      in.push_back(CtEstablished{});
      fwd_.rules.push_back(rule("subnet replies " + via, in, Accept{}));
      g.set.counter = true;
      t_.sets.push_back(std::move(g.set));
    }
  }

  SubnetGroup new_group(const ir::Subnet& s, Family f) {
    std::string kind = s.snat == ir::SnatKind::Masquerade ? "masq"
                       : s.snat == ir::SnatKind::To       ? "snat"
                       : s.snat == ir::SnatKind::None     ? "route"
                                                          : "pool";
    std::string pool = s.snat == ir::SnatKind::Pool ? slug(ir_.pools[s.pool].entry.name) + "_" : "";
    Set set{kind + fam(f) + "_" + pool + slug(s.egress), f, {Field::Saddr}, {}, true, false, Role::Subnet};
    if (s.snat == ir::SnatKind::To) set.data = {Data::Addr};
    return {&s, std::move(set)};
  }

  void pool_rules(const ir::Subnet& s, const std::vector<Stmt>& out, const Lookup& src) {
    const ir::Pool& p = ir_.pools[s.pool];
    if (p.addresses.empty()) return;
    Nat nat{true, p.family, std::nullopt, p.addresses.front(), std::nullopt, p.persistent, p.fully_random};
    std::string comment = "pool " + p.entry.name + " via " + label(s.egress);
    if (p.ports) {
      // A port range only exists for TCP and UDP; other protocols (ICMP)
      // still get the pool's addresses by the rule after these.
      Nat with_ports = nat;
      with_ports.ports = p.ports;
      for (Proto proto : {Proto::Tcp, Proto::Udp}) {
        std::vector<Stmt> head = out;
        head.push_back(L4Proto{proto});
        post_.rules.push_back(pool_rule(p, rule(comment, head, src, with_ports)));
      }
    }
    post_.rules.push_back(pool_rule(p, rule(comment, out, src, nat)));
  }

  static Rule pool_rule(const ir::Pool& p, Rule r) {
    r.pool = p.entry.name;
    return r;
  }

  // --- forwarding.rules: explicit accepts -----------------------------------
  // One rule per (source, destination, protocol): lists in the spec become
  // a handful of plain rules rather than anonymous sets.
  void explicit_rule(const ir::ForwardRule& r) {
    std::vector<std::optional<ir::Prefix>> from(r.from.begin(), r.from.end());
    if (from.empty()) from.push_back(std::nullopt);
    std::vector<std::optional<Proto>> protos(r.protocols.begin(), r.protocols.end());
    if (protos.empty()) protos.push_back(std::nullopt);
    for (const auto& src : from)
      for (const ir::Prefix& dst : r.to)
        for (const auto& proto : protos) {
          std::vector<Stmt> s;
          if (src) s.push_back(AddrMatch{r.family, true, base::to_range(*src)});
          s.push_back(AddrMatch{r.family, false, base::to_range(dst)});
          if (proto && r.port)
            s.push_back(PortMatch{*proto, *r.port});
          else if (proto)
            s.push_back(L4Proto{*proto});
          s.push_back(Accept{});
          fwd_.rules.push_back({std::move(s), r.entry.name});
        }
  }

  const ir::Ir& ir_;
  Table t_;
  Chain raw_{"raw", Hook::Raw};
  Chain pre_{"prerouting", Hook::Prerouting};
  Chain out_{"output", Hook::Output};
  Chain post_{"postrouting", Hook::Postrouting};
  Chain fwd_{"forward", Hook::Forward};
};

}  // namespace

std::string ip_keyword(Family f) { return f == Family::V4 ? "ip" : "ip6"; }

std::string_view field_type(Field f, Family fam) {
  switch (f) {
    case Field::Saddr:
    case Field::Daddr: return fam == Family::V4 ? "ipv4_addr" : "ipv6_addr";
    case Field::L4Proto: return "inet_proto";
    case Field::Dport:
    case Field::Sport: return "inet_service";
  }
  return "";
}

std::string_view data_type(Data d, Family fam) {
  return d == Data::Addr ? (fam == Family::V4 ? "ipv4_addr" : "ipv6_addr") : "inet_service";
}

Table build(const ir::Ir& ir) { return Builder(ir).run(); }

}  // namespace natc::nft
