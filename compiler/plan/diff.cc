#include "plan/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "nft/build.h"
#include "nft/render.h"

namespace natc::plan {
namespace {

using kernel::Op;
using K = kernel::Op::Kind;

Op set_op(K kind, const nft::Set& def, std::vector<nft::Element> elements = {}) {
  Op op{kind};
  op.set = def.definition();
  op.elements = std::move(elements);
  op.entry = "set " + def.name;
  return op;
}

Op rule_op(K kind, const std::string& chain, const nft::Rule* rule, uint64_t handle = 0) {
  Op op{kind, chain};
  if (rule) op.rule = *rule, op.entry = rule->comment;
  op.handle = handle;
  return op;
}

// Whether a live set can take the wanted one's elements as they are: the
// same definition (fields, family, flags, role), whatever its elements.
bool same_definition(const nft::Set& a, const nft::Set& b) {
  return a.family == b.family && a.key == b.key && a.data == b.data && a.interval == b.interval &&
         a.counter == b.counter && a.role == b.role;
}

// Elements are identified by their keys (nft::element_key's bytes), in
// hash sets that hash the parts in place: formatting 100k addresses as text
// to compare them, or a heap string per key, cost most of a plan.
using ByKey = std::unordered_set<const nft::Element*, nft::ByKeyHash, nft::ByKeyEqual>;

ByKey by_key(std::span<const nft::Element> elements) {
  ByKey out(elements.size());
  for (const auto& e : elements) out.insert(&e);
  return out;
}

bool same_elements(const nft::Set& a, const nft::Set& b) {
  if (a.elements.size() != b.elements.size()) return false;
  ByKey keys = by_key(a.elements);
  return std::all_of(b.elements.begin(), b.elements.end(), [&](const nft::Element& e) {
    auto it = keys.find(&e);
    return it != keys.end() && **it == e;
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
  // `borrow`: the plan will hold `desired` (make()), so a new set's
  // elements go into the batch by reference, not by copy.
  Differ(const nft::Table& desired, const kernel::Live& live, bool borrow)
      : want_(desired), live_(live), borrow_(borrow) {}

  Plan run() {
    if (!live_.table) {
      p_.batch.ops.push_back({K::AddTable});
      p_.changes.push_back({Action::Add, "table", "inet natc"});
    }
    plan_helpers();
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

  // Objects cannot be changed in place: a changed helper is deleted and
  // added again, and the rules that name it are rewritten around that.
  void plan_helpers() {
    auto proto = [](const nft::CtHelper& h) { return std::string(ir::proto_name(h.proto)); };
    for (const nft::CtHelper& h : want_.helpers) {
      auto it = std::find_if(live_.helpers.begin(), live_.helpers.end(), [&](auto& l) { return l.name == h.name; });
      if (it != live_.helpers.end() && *it == h) continue;
      if (it != live_.helpers.end()) del_helper(*it, 3);
      new_helpers_.push_back(&h);
      p_.changes.push_back({it != live_.helpers.end() ? Action::Change : Action::Add, h.entry,
                            "ct helper \"" + h.type + "\" for " + proto(h)});
    }
    for (const nft::CtHelper& l : live_.helpers)
      if (std::none_of(want_.helpers.begin(), want_.helpers.end(), [&](auto& h) { return h.name == l.name; })) {
        del_helper(l, 3);
        p_.changes.push_back({Action::Remove, l.entry.empty() ? "object " + l.name : l.entry,
                              "ct helper \"" + l.type + "\" for " + proto(l)});
      }
    for (const auto& [name, type] : live_.other_objects) {
      del_helper({name}, type);
      p_.changes.push_back({Action::Remove, "object " + name, "not natc's"});
    }
  }
  void del_helper(const nft::CtHelper& h, uint32_t type) {
    Op op{K::DelObj};
    op.helper = h;
    op.obj_type = type;
    op.entry = h.entry;
    del_helpers_.push_back(std::move(op));
    rewrite_.insert("prerouting");  // a rule naming it goes first
  }

  void plan_sets() {
    for (const nft::Set& s : want_.sets) {
      const kernel::LiveSet* l = live_set(s.name);
      if (!l || !l->known || !same_definition(l->set, s)) {
        if (l) del_sets_.push_back(l->set), rewrite_all_ = true;
        new_sets_.push_back(&s);
        if (l && l->known && same_elements(l->set, s)) {
          // Only the definition moves (e.g. counters added): say so once.
          p_.changes.push_back({Action::Change, "set " + s.name, "recreated: its definition changed"});
          continue;
        }
        for (const auto& e : s.elements) added_.push_back({&s, &e});
        if (l && l->known) {
          ByKey wanted = by_key(s.elements);
          for (const auto& e : l->set.elements) {
            removed_.push_back({&s, &e});
            auto it = wanted.find(&e);
            if (it == wanted.end() || (*it)->data != e.data) reset(l->set, e);
          }
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
      for (const auto& e : l.set.elements) removed_.push_back({nullptr, &e}), reset(l.set, e);
      if (l.set.elements.empty()) p_.changes.push_back({Action::Remove, "set " + l.set.name, ""});
    }
  }

  // Elements by key: the same key with other data or another name is a
  // change (one element deleted, one added), never a reload.
  void element_diff(const nft::Set& want, const nft::Set& live) {
    // A set read back from the image or the kernel mostly holds its
    // elements in the order the builder makes them: the equal head and
    // tail are skipped in one pass, and only the rest is hashed.
    std::span<const nft::Element> w = want.elements, l = live.elements;
    while (!w.empty() && !l.empty() && w.front() == l.front()) w = w.subspan(1), l = l.subspan(1);
    while (!w.empty() && !l.empty() && w.back() == l.back()) w = w.first(w.size() - 1), l = l.first(l.size() - 1);
    if (w.empty() && l.empty()) return;
    ByKey have = by_key(l);
    std::vector<nft::Element> add, del;
    for (const auto& e : w) {
      auto it = have.find(&e);
      if (it != have.end() && **it == e) {
        have.erase(it);
        continue;
      }
      if (it != have.end()) {
        const nft::Element* old = *it;
        del.push_back(*old);
        removed_.push_back({&want, old});
        if (old->data != e.data) reset(want, *old);  // a rename alone resets nothing
        have.erase(it);
      }
      add.push_back(e);
      added_.push_back({&want, &e});
    }
    for (const nft::Element* e : have) {
      del.push_back(*e);
      removed_.push_back({&want, e});
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
        p_.changes.push_back(
            {Action::Change, "forwarding.policy",
             std::string(l->chain.drop_policy ? "drop" : "accept") + " → " + (c.drop_policy ? "drop" : "accept")});
      }
      std::vector<nft::Rule> have;
      bool readable = true;
      for (const auto& r : l->rules) {
        if (r.rule)
          have.push_back(*r.rule);
        else
          readable = false;
      }
      if (!readable || have != c.rules || recreate) rewrite_.insert(c.name);
    }
    for (const auto& l : live_.chains) {
      bool wanted =
          std::any_of(want_.chains.begin(), want_.chains.end(), [&](auto& c) { return c.name == l.chain.name; });
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
      for (const auto& r : l.rules)
        ops.push_back(rule_op(K::DelRule, l.chain.name, r.rule ? &*r.rule : nullptr, r.handle));
    }
    // 2. elements, then sets, then chains that go
    for (auto& op : del_elems_) ops.push_back(std::move(op));
    for (const auto& s : del_sets_) ops.push_back(set_op(K::DelSet, s));
    for (const auto* c : del_chains_) ops.push_back({K::DelChain, c->chain.name});
    for (auto& op : del_helpers_) ops.push_back(std::move(op));
    // 3. chains, sets with their elements, new elements, rules
    for (const auto* c : new_chains_) {
      Op op{K::AddChain, c->name, *c};
      op.chain_def.rules.clear();
      ops.push_back(std::move(op));
    }
    for (const auto* h : new_helpers_) {
      Op op{K::AddObj};
      op.helper = *h;
      op.entry = h->entry;
      ops.push_back(std::move(op));
    }
    for (const auto* s : new_sets_) {
      ops.push_back(set_op(K::AddSet, *s));
      if (s->elements.empty()) continue;
      ops.push_back(set_op(K::AddElems, *s, borrow_ ? std::vector<nft::Element>{} : s->elements));
      if (borrow_) ops.back().borrowed = s->elements;
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
      for (const auto& r : live->rules)
        have.insert(r.rule ? rule_text(*r.rule) + " \"" + r.rule->comment + "\"" : "(unreadable rule)");
    for (const auto& r : want.rules) need.insert(rule_text(r) + " \"" + r.comment + "\"");
    for (const auto& t : need)
      if (!have.count(t))
        p_.changes.push_back({Action::Add, "rule in " + want.name, t});
      else
        have.erase(have.find(t));
    for (const auto& t : have) p_.changes.push_back({Action::Remove, "rule in " + want.name, t});
  }

  // One line per spec entry. Only the elements shown are formatted: a
  // first apply of 100k forwards must not format 200k elements as text.
  void describe_elements() {
    struct Both {
      std::vector<const nft::Element*> add, del;
    };
    std::unordered_map<std::string_view, Both> by_entry;  // names held by the elements
    std::vector<std::string_view> order;
    auto slot = [&](std::string_view name) -> Both& {
      auto [it, fresh] = by_entry.try_emplace(name);
      if (fresh) order.push_back(name);
      return it->second;
    };
    for (const auto& [s, e] : removed_) slot(e->entry).del.push_back(e);
    for (const auto& [s, e] : added_) slot(e->entry).add.push_back(e);
    auto list = [](const std::vector<const nft::Element*>& v) {
      if (v.size() > 3)
        return human(*v.front()) + " … " + human(*v.back()) + " (" + std::to_string(v.size()) + " elements)";
      std::vector<std::string> shown;  // a target in both accept and hairpin sets reads once
      for (const auto* x : v)
        if (std::string h = human(*x); std::find(shown.begin(), shown.end(), h) == shown.end()) shown.push_back(h);
      std::string s;
      for (const auto& h : shown) s += (s.empty() ? "" : ", ") + h;
      return s;
    };
    for (const auto& name : order) {
      const Both& b = by_entry[name];
      std::string entry = name.empty() ? "(unnamed)" : std::string(name);
      if (!b.add.empty() && !b.del.empty())
        p_.changes.push_back({Action::Change, entry, list(b.del) + "  ⇒  " + list(b.add)});
      else if (!b.add.empty())
        p_.changes.push_back({Action::Add, entry, list(b.add)});
      else
        p_.changes.push_back({Action::Remove, entry, list(b.del)});
    }
  }

  void reset(const nft::Set& s, const nft::Element& e) {
    if (auto t = translation_of(s, e)) p_.resets.push_back(std::move(*t));
  }

  const nft::Table& want_;
  const kernel::Live& live_;
  bool borrow_;
  Plan p_;
  bool rewrite_all_ = false;
  std::set<std::string> rewrite_;
  std::vector<const nft::Set*> new_sets_;
  std::vector<const nft::CtHelper*> new_helpers_;
  std::vector<Op> del_helpers_;
  std::vector<nft::Set> del_sets_;
  std::vector<const nft::Chain*> new_chains_;
  std::vector<const kernel::LiveChain*> del_chains_;
  std::vector<Op> del_elems_, add_elems_;
  // Elements of the wanted and the live table, which outlive the plan's making.
  std::vector<std::pair<const nft::Set*, const nft::Element*>> added_, removed_;
};

}  // namespace

// A DNAT map's element as the translation it made: its key's fields say
// which address is the destination (a source is an allow_from range).
std::optional<conntrack::Translation> translation_of(const nft::Set& s, const nft::Element& e) {
  if (s.role == nft::Role::StaticDnat) {
    // [saddr .] daddr : addr, every protocol and port.
    if (e.key.empty() || e.key.size() != s.key.size() || e.data.size() != 1) return std::nullopt;
    auto* pub = std::get_if<ir::AddrRange>(&e.key.back());
    auto* target = std::get_if<ir::AddrRange>(&e.data[0]);
    if (!pub || !target) return std::nullopt;
    conntrack::Translation t;
    t.entry = e.entry;
    t.destination = pub->first;
    t.target = target->first;
    return t;
  }
  if (s.role != nft::Role::DnatMap || e.key.size() != s.key.size() || e.data.size() != 2) return std::nullopt;
  conntrack::Translation t;
  t.entry = e.entry;
  for (size_t i = 0; i < s.key.size(); ++i) {
    const nft::Part& p = e.key[i];
    if (s.key[i] == nft::Field::Daddr && std::holds_alternative<ir::AddrRange>(p))
      t.destination = std::get<ir::AddrRange>(p).first;
    if (s.key[i] == nft::Field::L4Proto && std::holds_alternative<ir::Proto>(p))
      t.proto = uint8_t(std::get<ir::Proto>(p));
    if (s.key[i] == nft::Field::Dport && std::holds_alternative<uint16_t>(p)) t.port = std::get<uint16_t>(p);
  }
  auto* target = std::get_if<ir::AddrRange>(&e.data[0]);
  auto* port = std::get_if<uint16_t>(&e.data[1]);
  if (!target || !port || !t.proto || !t.port) return std::nullopt;
  t.target = target->first;
  t.target_port = *port;
  return t;
}

Plan diff(const nft::Table& desired, const kernel::Live& live) { return Differ(desired, live, false).run(); }

Plan make(const ir::Ir& ir, const kernel::Live& live, sysctl::Store& sysctls, ha::Host* ha) {
  auto desired = std::make_shared<const nft::Table>(nft::build(ir));
  Plan p = Differ(*desired, live, true).run();
  p.desired = std::move(desired);
  p.sysctl = sysctl::plan(ir, sysctls);
  p.ha = ha::plan(ir, ha, ha ? ha->paths() : ha::Paths{}, p.desired.get());
  p.batch.genid = live.genid;
  return p;
}

Plan destroy(const kernel::Live& live, sysctl::Store& sysctls, ha::Host* ha) {
  Plan p;
  if (live.table) {
    p.batch.ops.push_back({K::DelTable});
    p.changes.push_back({Action::Remove, "table", "inet natc and everything in it"});
  }
  p.sysctl.remove_file = sysctls.file().has_value();
  if (ha) p.ha = ha::destroy(*ha);
  p.batch.genid = live.genid;
  return p;
}

void count_flows(Plan& p, const std::vector<conntrack::Flow>& flows) {
  if (p.resets.empty()) return;
  std::set<conntrack::Translation> unique(p.resets.begin(), p.resets.end());
  conntrack::TranslationIndex index({unique.begin(), unique.end()});
  std::vector<size_t> counts = index.count(flows);
  std::map<std::string, size_t> per_entry;
  for (size_t i = 0; i < counts.size(); ++i) per_entry[index.translations()[i].entry] += counts[i];
  for (auto& c : p.changes)
    if (auto it = per_entry.find(c.entry); it != per_entry.end()) c.flows_reset = it->second;
}

}  // namespace natc::plan
