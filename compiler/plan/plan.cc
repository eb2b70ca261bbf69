#include "plan/plan.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "nft/render.h"

namespace natc::plan {
namespace {

using kernel::Op;
using K = kernel::Op::Kind;

Op set_op(K kind, const nft::Set& def, std::vector<nft::Element> elements = {}) {
  Op op{kind};
  op.set = def;
  op.set.elements.clear();
  op.elements = std::move(elements);
  op.origin = "set " + def.name;
  return op;
}

Op rule_op(K kind, const std::string& chain, const nft::Rule* rule, uint64_t handle = 0) {
  Op op{kind, chain};
  if (rule) op.rule = *rule, op.origin = rule->comment;
  op.handle = handle;
  return op;
}

// A set's identity in the kernel: its type, not how natc names the fields.
struct Signature {
  uint32_t key_type, key_len, data;
  bool interval, map, counter;
  friend bool operator==(const Signature&, const Signature&) = default;
};

Signature signature(const nft::Set& s) {
  uint32_t key = 0, data = 0;
  for (nft::Field f : s.key)
    key = key << 6 | (f == nft::Field::L4Proto                          ? 12
                      : f == nft::Field::Dport || f == nft::Field::Sport ? 13
                      : s.family == nft::Family::V4                      ? 7
                                                                         : 8);
  for (nft::Data d : s.data) data = data << 6 | (d == nft::Data::Port ? 13 : s.family == nft::Family::V4 ? 7 : 8);
  return {key, uint32_t(s.key.size()), data, s.interval, s.is_map(), s.counter};
}

// An element's identity for diffing: its key's raw bytes (formatting
// 100k addresses as text just to compare them cost most of a plan).
std::string key_bytes(const nft::Element& e) {
  std::string k;
  for (const auto& p : e.key) {
    k += char(p.index());
    if (auto* r = std::get_if<ir::AddrRange>(&p)) {
      k.append(reinterpret_cast<const char*>(r->first.bytes.data()), r->first.size());
      k.append(reinterpret_cast<const char*>(r->last.bytes.data()), r->last.size());
    } else if (auto* proto = std::get_if<ir::Proto>(&p)) {
      k += char(*proto);
    } else {
      uint16_t port = std::get<uint16_t>(p);
      k += char(port >> 8), k += char(port & 0xff);
    }
  }
  return k;
}

bool same_elements(const nft::Set& a, const nft::Set& b) {
  if (a.elements.size() != b.elements.size()) return false;
  std::unordered_map<std::string, const nft::Element*> by_key;
  for (const auto& e : a.elements) by_key[key_bytes(e)] = &e;
  return std::all_of(b.elements.begin(), b.elements.end(), [&](const nft::Element& e) {
    auto it = by_key.find(key_bytes(e));
    return it != by_key.end() && *it->second == e;
  });
}

std::string key_text(const nft::Element& e) {
  std::string s;
  for (const auto& p : e.key) s += (s.empty() ? "" : " . ") + nft::to_text(p);
  return s;
}

// "203.0.113.50 . tcp . 8080 → 10.0.0.5 . 80"
std::string human(const nft::Element& e) {
  std::string s = key_text(e);
  if (!e.data.empty()) {
    std::string d;
    for (const auto& p : e.data) d += (d.empty() ? "" : " . ") + nft::to_text(p);
    s += " → " + d;
  }
  return s;
}

std::string rule_text(const nft::Rule& r) {
  std::string s;
  for (const auto& st : r.stmts) s += (s.empty() ? "" : " ") + nft::to_text(st);
  return s;
}

class Differ {
 public:
  Differ(const nft::Table& desired, const kernel::Live& live) : want_(desired), live_(live) {}

  Plan run() {
    if (!live_.table) {
      p_.batch.ops.push_back({K::AddTable});
      p_.changes.push_back({Action::Add, "table", "inet natc"});
    }
    plan_sets();
    plan_chains();
    emit();
    describe_elements();
    return std::move(p_);
  }

 private:
  const kernel::LiveSet* live_set(const std::string& name) const {
    for (const auto& s : live_.sets)
      if (s.set.name == name) return &s;
    return nullptr;
  }
  const kernel::LiveChain* live_chain(const std::string& name) const {
    for (const auto& c : live_.chains)
      if (c.chain.name == name) return &c;
    return nullptr;
  }

  void plan_sets() {
    for (const nft::Set& s : want_.sets) {
      const kernel::LiveSet* l = live_set(s.name);
      if (!l || !l->known || signature(l->set) != signature(s)) {
        if (l) del_sets_.push_back(l->set), rewrite_all_ = true;
        new_sets_.push_back(&s);
        if (l && l->known && same_elements(l->set, s)) {
          // Only the definition moves (e.g. counters added): say so once.
          p_.changes.push_back({Action::Change, "set " + s.name, "recreated: its definition changed"});
          continue;
        }
        for (const auto& e : s.elements) added_.push_back({&s, e});
        if (l && l->known)
          for (const auto& e : l->set.elements) {
            removed_.push_back({&s, e});
            bool kept = std::any_of(s.elements.begin(), s.elements.end(),
                                    [&](const nft::Element& n) { return n.key == e.key && n.data == e.data; });
            if (!kept) reset(l->set, e);
          }
        continue;
      }
      element_diff(s, l->set);
    }
    for (const auto& l : live_.sets) {
      bool wanted = std::any_of(want_.sets.begin(), want_.sets.end(), [&](auto& s) { return s.name == l.set.name; });
      if (wanted) continue;
      del_sets_.push_back(l.set);
      rewrite_all_ = true;  // rules may still refer to it
      for (const auto& e : l.set.elements) removed_.push_back({nullptr, e}), reset(l.set, e);
      if (l.set.elements.empty()) p_.changes.push_back({Action::Remove, "set " + l.set.name, ""});
    }
  }

  // Elements by key: the same key with other data or another name is a
  // change (one element deleted, one added), never a reload.
  void element_diff(const nft::Set& want, const nft::Set& live) {
    std::unordered_map<std::string, const nft::Element*> have;
    have.reserve(live.elements.size());
    for (const auto& e : live.elements) have[key_bytes(e)] = &e;
    std::vector<nft::Element> add, del;
    for (const auto& e : want.elements) {
      auto it = have.find(key_bytes(e));
      if (it != have.end() && *it->second == e) {
        have.erase(it);
        continue;
      }
      if (it != have.end()) {
        del.push_back(*it->second);
        removed_.push_back({&want, *it->second});
        if (it->second->data != e.data) reset(want, *it->second);  // a rename alone resets nothing
        have.erase(it);
      }
      add.push_back(e);
      added_.push_back({&want, e});
    }
    for (const auto& [k, e] : have) {
      del.push_back(*e);
      removed_.push_back({&want, *e});
      reset(want, *e);
    }
    if (!del.empty()) del_elems_.push_back(set_op(K::DelElems, want, std::move(del)));
    if (!add.empty()) add_elems_.push_back(set_op(K::AddElems, want, std::move(add)));
  }

  void plan_chains() {
    for (const nft::Chain& c : want_.chains) {
      const kernel::LiveChain* l = live_chain(c.name);
      bool recreate = l && (!l->known || l->chain.hook != c.hook);
      if (!l || recreate) {
        if (recreate) del_chains_.push_back(l);
        new_chains_.push_back(&c);
        if (!l) continue;
      } else if (l->chain.drop_policy != c.drop_policy) {
        new_chains_.push_back(&c);
        p_.changes.push_back({Action::Change, "forwarding.policy",
                              std::string(l->chain.drop_policy ? "drop" : "accept") + " → " +
                                  (c.drop_policy ? "drop" : "accept")});
      }
      std::vector<nft::Rule> have;
      bool readable = true;
      for (const auto& r : l->rules) {
        if (r.rule) have.push_back(*r.rule);
        else readable = false;
      }
      if (!readable || have != c.rules || recreate) rewrite_.insert(c.name);
    }
    for (const auto& l : live_.chains) {
      bool wanted = std::any_of(want_.chains.begin(), want_.chains.end(), [&](auto& c) { return c.name == l.chain.name; });
      if (!wanted) {
        del_chains_.push_back(&l);
        p_.changes.push_back({Action::Remove, "chain " + l.chain.name, "not natc's"});
      }
    }
  }

  void emit() {
    auto& ops = p_.batch.ops;
    auto rewritten = [&](const std::string& chain) { return rewrite_all_ || rewrite_.count(chain); };
    // 1. rules of chains that are rewritten or go away
    for (const auto& l : live_.chains) {
      bool going = std::any_of(del_chains_.begin(), del_chains_.end(), [&](auto* c) { return c == &l; });
      if (!going && !rewritten(l.chain.name)) continue;
      for (const auto& r : l.rules) ops.push_back(rule_op(K::DelRule, l.chain.name, r.rule ? &*r.rule : nullptr, r.handle));
    }
    // 2. elements, then sets, then chains that go
    for (auto& op : del_elems_) ops.push_back(std::move(op));
    for (const auto& s : del_sets_) ops.push_back(set_op(K::DelSet, s));
    for (const auto* c : del_chains_) ops.push_back({K::DelChain, c->chain.name});
    // 3. chains, sets with their elements, new elements, rules
    for (const auto* c : new_chains_) {
      Op op{K::AddChain, c->name, *c};
      op.chain_def.rules.clear();
      ops.push_back(std::move(op));
    }
    for (const auto* s : new_sets_) {
      ops.push_back(set_op(K::AddSet, *s));
      if (!s->elements.empty()) ops.push_back(set_op(K::AddElems, *s, s->elements));
    }
    for (auto& op : add_elems_) ops.push_back(std::move(op));
    for (const nft::Chain& c : want_.chains) {
      const kernel::LiveChain* l = live_chain(c.name);
      bool fresh = !l || std::any_of(del_chains_.begin(), del_chains_.end(), [&](auto* d) { return d == l; });
      if (!fresh && !rewritten(c.name)) continue;
      for (const nft::Rule& r : c.rules) ops.push_back(rule_op(K::AddRule, c.name, &r));
      describe_rules(c, fresh ? nullptr : l);
    }
  }

  // Only rules that really differ are shown, though the chain is rewritten.
  void describe_rules(const nft::Chain& want, const kernel::LiveChain* live) {
    std::multiset<std::string> have, need;
    if (live)
      for (const auto& r : live->rules) have.insert(r.rule ? rule_text(*r.rule) + " \"" + r.rule->comment + "\"" : "(unreadable rule)");
    for (const auto& r : want.rules) need.insert(rule_text(r) + " \"" + r.comment + "\"");
    for (const auto& t : need)
      if (!have.count(t)) p_.changes.push_back({Action::Add, "rule in " + want.name, t});
      else have.erase(have.find(t));
    for (const auto& t : have) p_.changes.push_back({Action::Remove, "rule in " + want.name, t});
  }

  // One line per spec entry. Only the elements shown are formatted: a
  // first apply of 100k forwards must not format 200k elements as text.
  void describe_elements() {
    struct Both {
      std::vector<const nft::Element*> add, del;
    };
    std::unordered_map<std::string, Both> by_entry;
    std::vector<std::string> order;
    auto slot = [&](const std::string& name) -> Both& {
      auto [it, fresh] = by_entry.try_emplace(name);
      if (fresh) order.push_back(name);
      return it->second;
    };
    for (const auto& [s, e] : removed_) slot(e.comment).del.push_back(&e);
    for (const auto& [s, e] : added_) slot(e.comment).add.push_back(&e);
    auto list = [](const std::vector<const nft::Element*>& v) {
      if (v.size() > 3) return human(*v.front()) + " … " + human(*v.back()) + " (" + std::to_string(v.size()) + " elements)";
      std::vector<std::string> shown;  // a target in both accept and hairpin sets reads once
      for (const auto* x : v)
        if (std::string h = human(*x); std::find(shown.begin(), shown.end(), h) == shown.end()) shown.push_back(h);
      std::string s;
      for (const auto& h : shown) s += (s.empty() ? "" : ", ") + h;
      return s;
    };
    for (const auto& name : order) {
      const Both& b = by_entry[name];
      std::string entry = name.empty() ? "(unnamed)" : name;
      if (!b.add.empty() && !b.del.empty()) p_.changes.push_back({Action::Change, entry, list(b.del) + "  ⇒  " + list(b.add)});
      else if (!b.add.empty()) p_.changes.push_back({Action::Add, entry, list(b.add)});
      else p_.changes.push_back({Action::Remove, entry, list(b.del)});
    }
  }

  void reset(const nft::Set& s, const nft::Element& e) {
    if (auto t = translation_of(s, e)) p_.resets.push_back(std::move(*t));
  }

  const nft::Table& want_;
  const kernel::Live& live_;
  Plan p_;
  bool rewrite_all_ = false;
  std::set<std::string> rewrite_;
  std::vector<const nft::Set*> new_sets_;
  std::vector<nft::Set> del_sets_;
  std::vector<const nft::Chain*> new_chains_;
  std::vector<const kernel::LiveChain*> del_chains_;
  std::vector<Op> del_elems_, add_elems_;
  std::vector<std::pair<const nft::Set*, nft::Element>> added_, removed_;
};

char mark(Action a) { return a == Action::Add ? '+' : a == Action::Change ? '~' : '-'; }

}  // namespace

// A DNAT map's element as the translation it made. natc's DNAT maps are the
// maps to address . port; in their keys an address is the destination
// unless the map matches sources ("_src") and has no destination ("_local").
std::optional<conntrack::Translation> translation_of(const nft::Set& s, const nft::Element& e) {
  if (!s.is_map() || s.data != std::vector<nft::Data>{nft::Data::Addr, nft::Data::Port}) return std::nullopt;
  conntrack::Translation t;
  t.entry = e.comment;
  bool has_destination = s.name.find("_local") == std::string::npos;
  size_t addresses = 0;
  for (const nft::Part& p : e.key) {
    if (auto* r = std::get_if<ir::AddrRange>(&p)) {
      ++addresses;
      bool is_source = s.name.ends_with("_src") && addresses == 1;
      if (has_destination && !is_source) t.destination = r->first;
    } else if (auto* proto = std::get_if<ir::Proto>(&p)) {
      t.proto = uint8_t(*proto);
    } else {
      t.port = std::get<uint16_t>(p);
    }
  }
  if (e.data.size() != 2) return std::nullopt;
  t.target = std::get<ir::AddrRange>(e.data[0]).first;
  t.target_port = std::get<uint16_t>(e.data[1]);
  return t;
}

Plan diff(const nft::Table& desired, const kernel::Live& live) { return Differ(desired, live).run(); }

Plan destroy(const kernel::Live& live) {
  Plan p;
  if (live.table) {
    p.batch.ops.push_back({K::DelTable});
    p.changes.push_back({Action::Remove, "table", "inet natc and everything in it"});
  }
  return p;
}

std::string summary(const Plan& p) {
  size_t add = 0, change = 0, remove = 0;
  for (const auto& c : p.changes) (c.action == Action::Add ? add : c.action == Action::Change ? change : remove)++;
  change += p.sysctls.size() + (p.write_file ? 1 : 0);
  remove += p.remove_file ? 1 : 0;
  if (add + change + remove == 0) return "No changes. The kernel matches the spec.";
  return "Plan: " + std::to_string(add) + " to add, " + std::to_string(change) + " to change, " +
         std::to_string(remove) + " to remove.";
}

std::string render_text(const Plan& p) {
  std::string out;
  for (const auto& c : p.changes) {
    out += std::string("  ") + mark(c.action) + " " + c.entry + (c.detail.empty() ? "" : ": " + c.detail);
    if (c.flows_reset) out += ", " + std::to_string(*c.flows_reset) + (*c.flows_reset == 1 ? " flow" : " flows") + " will be reset";
    out += "\n";
  }
  for (const auto& s : p.sysctls)
    out += "  ~ sysctl " + s.key + ": " + (s.from.empty() ? "(unset)" : s.from) + " → " + s.to + "\n";
  if (p.write_file) out += "  ~ file 90-natc.conf: rewritten\n";
  if (p.remove_file) out += "  - file 90-natc.conf\n";
  return out + summary(p) + "\n";
}

std::string render_markdown(const Plan& p, const std::string& spec) {
  // Table cells must not break the table: pipes escaped, no newlines.
  auto cell = [](std::string s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
    return out;
  };
  std::string out = "### natc plan for `" + spec + "`\n\n**" + summary(p) + "**\n";
  if (p.empty()) return out;
  out += "\n| | entry | change |\n|---|---|---|\n";
  for (const auto& c : p.changes)
    out += std::string("| ") + (c.action == Action::Add ? "➕" : c.action == Action::Change ? "✏️" : "➖") + " | `" +
           cell(c.entry) + "` | " + cell(c.detail) +
           (c.flows_reset ? " (" + std::to_string(*c.flows_reset) + " flows will be reset)" : "") + " |\n";
  for (const auto& s : p.sysctls)
    out += "| ✏️ | `" + s.key + "` | " + (s.from.empty() ? "(unset)" : s.from) + " → " + s.to + " |\n";
  if (p.write_file) out += "| ✏️ | `90-natc.conf` | rewritten |\n";
  return out;
}

nlohmann::json render_json(const Plan& p) {
  nlohmann::json changes = nlohmann::json::array();
  for (const auto& c : p.changes) {
    nlohmann::json j = {{"action", c.action == Action::Add ? "add" : c.action == Action::Change ? "change" : "remove"},
                        {"entry", c.entry},
                        {"detail", c.detail}};
    if (c.flows_reset) j["flows_reset"] = *c.flows_reset;
    changes.push_back(std::move(j));
  }
  nlohmann::json sysctls = nlohmann::json::array();
  for (const auto& s : p.sysctls) sysctls.push_back({{"key", s.key}, {"from", s.from}, {"to", s.to}});
  return {{"changes", std::move(changes)},
          {"sysctls", std::move(sysctls)},
          {"sysctl_file", p.write_file ? "write" : p.remove_file ? "remove" : "unchanged"},
          {"operations", p.batch.ops.size()},
          {"summary", summary(p)}};
}

}  // namespace natc::plan
