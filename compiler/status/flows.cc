#include "status/flows.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "base/proto.h"
#include "plan/plan.h"

namespace natc::status {
namespace {

std::string endpoint(const base::Addr& a, uint16_t port) {
  std::string addr = base::to_string(a);
  if (a.family == base::Family::V6) addr = "[" + addr + "]";
  return port ? addr + ":" + std::to_string(port) : addr;
}

// What the far ends saw: the reply tuple turned around.
std::pair<std::string, std::string> translated_ends(const conntrack::Flow& f) {
  return {endpoint(f.reply.dst, f.reply.dport), endpoint(f.reply.src, f.reply.sport)};
}

std::optional<uint64_t> age_s(const conntrack::Flow& f, uint64_t now_ns) {
  if (!f.start_ns || f.start_ns > now_ns) return std::nullopt;
  return (now_ns - f.start_ns) / 1000000000u;
}

bool in(const std::optional<base::Prefix>& p, const base::Addr& a) { return !p || base::to_range(*p).contains(a); }

}  // namespace

Attribution::Attribution(const kernel::Live& live) {
  std::vector<conntrack::Translation> forwards;
  std::set<std::string> seen;
  auto entry = [&](const std::string& name) {
    if (seen.insert(name).second) entries_.push_back(name);
  };
  for (const auto& lc : live.chains)
    for (const auto& lr : lc.rules) {
      if (!lr.rule) continue;
      Redirect r{lr.rule->comment};
      bool redirect = false;
      for (const auto& s : lr.rule->stmts) {
        if (const auto* p = std::get_if<nft::PortMatch>(&s)) r.proto = uint8_t(p->proto), r.ports = p->ports;
        if (const auto* a = std::get_if<nft::AddrMatch>(&s); a && a->source) r.from = a->range;
        if (const auto* x = std::get_if<nft::Redirect>(&s)) redirect = true, r.to_port = x->port;
      }
      if (!redirect || !r.proto) continue;
      entry(r.entry);
      redirects_.push_back(std::move(r));
    }
  for (const auto& ls : live.sets)
    for (const auto& e : ls.set.elements) {
      if (auto t = plan::translation_of(ls.set, e)) {
        forwards.push_back(*t);
        entry(t->entry);
      } else if (ls.set.role == nft::Role::StaticSnat && e.key.size() == 1) {
        if (const auto* host = std::get_if<base::AddrRange>(&e.key[0])) {
          statics_.push_back({e.entry, *host});
          entry(e.entry);
        }
      } else if (ls.set.role == nft::Role::Subnet && e.key.size() == 1) {
        if (const auto* range = std::get_if<base::AddrRange>(&e.key[0])) {
          subnets_.push_back({e.entry, *range});
          entry(e.entry);
        }
      }
    }
  forwards_ = conntrack::TranslationIndex(std::move(forwards));
}

std::optional<Translated> Attribution::of(const conntrack::Flow& f) const {
  bool dnat = f.status & conntrack::kDstNat, snat = f.status & conntrack::kSrcNat;
  if (dnat)
    if (auto i = forwards_.first(f))
      return Translated{forwards_.translations()[*i].entry, snat ? "dnat+snat" : "dnat", f};
  // Sent to the gateway itself: the reply comes from the redirect's port.
  if (dnat)
    for (const auto& r : redirects_)
      if (f.proto == r.proto && r.ports.first <= f.orig.dport && f.orig.dport <= r.ports.last &&
          f.reply.sport == (r.to_port ? r.to_port : f.orig.dport) && (!r.from || r.from->contains(f.orig.src)))
        return Translated{r.entry, "redirect", f};
  if (snat)
    for (const auto& [name, host] : statics_)
      if (host.contains(f.orig.src)) return Translated{name, "snat", f};
  if (snat)
    for (const auto& [name, range] : subnets_)
      if (range.contains(f.orig.src)) return Translated{name, "snat", f};
  return std::nullopt;
}

bool FlowFilter::passes(const Translated& t) const {
  const conntrack::Flow& f = t.flow;
  return (entry.empty() || t.entry == entry) && in(src, f.orig.src) && (in(dst, f.orig.dst) || in(dst, f.reply.src));
}

std::vector<Translated> translated(const Attribution& a, const std::vector<conntrack::Flow>& flows,
                                   const FlowFilter& filter) {
  std::vector<Translated> out;
  for (const auto& f : flows)
    if (auto t = a.of(f); t && filter.passes(*t)) out.push_back(std::move(*t));
  auto key = [](const Translated& t) {
    const auto& f = t.flow;
    return std::tie(t.entry, f.proto, f.orig.src, f.orig.sport, f.orig.dst, f.orig.dport);
  };
  std::stable_sort(out.begin(), out.end(), [&](const Translated& x, const Translated& y) { return key(x) < key(y); });
  return out;
}

std::string flow_line(const Translated& t, uint64_t now_ns) {
  const conntrack::Flow& f = t.flow;
  auto [src, dst] = translated_ends(f);
  std::string line = t.entry + " " + base::proto_name(f.proto) + " " + endpoint(f.orig.src, f.orig.sport) + " → " +
                     endpoint(f.orig.dst, f.orig.dport) + " ⇒ " + src + " → " + dst + " " + conntrack::state_name(f) +
                     " expires " + std::to_string(f.timeout) + "s";
  if (auto age = age_s(f, now_ns)) line += " age " + std::to_string(*age) + "s";
  return line;
}

std::string render_flows(const std::vector<Translated>& list, uint64_t now_ns) {
  if (list.empty()) return "No flows through natc's translations match.\n";
  std::vector<std::vector<std::string>> rows{{"ENTRY", "PROTO", "ORIGINAL", "TRANSLATED", "STATE", "EXPIRES", "AGE"}};
  for (const auto& t : list) {
    const conntrack::Flow& f = t.flow;
    auto [src, dst] = translated_ends(f);
    auto age = age_s(f, now_ns);
    rows.push_back({t.entry, base::proto_name(f.proto),
                    endpoint(f.orig.src, f.orig.sport) + " → " + endpoint(f.orig.dst, f.orig.dport), src + " → " + dst,
                    conntrack::state_name(f), std::to_string(f.timeout) + "s", age ? std::to_string(*age) + "s" : "-"});
  }
  // Columns as wide as their widest cell, in characters (the arrows are one).
  auto width = [](const std::string& s) {
    return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) >> 6) != 2; }));
  };
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += r[i] + (i + 1 < r.size() ? std::string(w[i] - width(r[i]) + 2, ' ') : "");
    out += line + "\n";
  }
  return out + std::to_string(list.size()) + (list.size() == 1 ? " flow.\n" : " flows.\n");
}

nlohmann::json flow_json(const Translated& t, uint64_t now_ns) {
  const conntrack::Flow& f = t.flow;
  auto tuple = [](const conntrack::Tuple& x) {
    return nlohmann::json{
        {"src", base::to_string(x.src)}, {"sport", x.sport}, {"dst", base::to_string(x.dst)}, {"dport", x.dport}};
  };
  auto age = age_s(f, now_ns);
  return {{"entry", t.entry},
          {"kind", t.kind},
          {"protocol", base::proto_name(f.proto)},
          {"original", tuple(f.orig)},
          {"translated", tuple({f.reply.dst, f.reply.src, f.reply.dport, f.reply.sport})},
          {"state", conntrack::state_name(f)},
          {"expires_s", f.timeout},
          {"age_s", age ? nlohmann::json(*age) : nlohmann::json()}};
}

}  // namespace natc::status
