#include "fake_system.h"

#include <algorithm>

#include "nft/render.h"

namespace natc::test {

kernel::Live FakeKernel::read() {
  ++reads;
  kernel::Live live;
  live.genid = genid;
  if (moves_after_reads > 0 && --moves_after_reads == 0) ++genid;  // another writer, right after this read
  if (!table) return live;
  live.table = true;
  for (const nft::Set& s : table->sets) live.sets.push_back({s, true});
  for (const nft::Chain& c : table->chains) {
    kernel::LiveChain lc{c, true, {}};
    for (const auto& [handle, r] : rules[c.name]) lc.rules.push_back({handle, r});
    live.chains.push_back(std::move(lc));
  }
  // What natc owns, in a stable form: the listing, set by set and rule by rule.
  std::string text = snapshot() ? nft::render_text(*snapshot()) : "";
  live.hash = std::hash<std::string>()(text);
  return live;
}

std::optional<nft::Table> FakeKernel::snapshot() const {
  if (!table) return std::nullopt;
  nft::Table t = *table;
  for (nft::Chain& c : t.chains) {
    c.rules.clear();
    if (auto it = rules.find(c.name); it != rules.end())
      for (const auto& [handle, r] : it->second) c.rules.push_back(r);
  }
  return t;
}

void FakeKernel::load(const nft::Table& t) {
  table = t;
  rules.clear();
  for (auto& c : table->chains) {
    for (auto& r : c.rules) rules[c.name].push_back({next_handle_++, r});
    c.rules.clear();
  }
}

void FakeKernel::commit(const kernel::Batch& b) {
  ++commits;
  batches.push_back(b);
  if (b.genid && *b.genid != genid) throw kernel::Error(ERESTART, "Interrupted system call should be restarted");
  if (!fail_next.empty()) {
    int e = fail_next.front();
    fail_next.pop_front();
    if (e == ERESTART) ++genid;
    throw kernel::Error(e, "refused");
  }
  if (!refuse_entry.empty())
    for (const kernel::Op& op : b.ops)
      for (const nft::Element& e : op.elements)
        if (op.kind == kernel::Op::Kind::AddElems && e.entry == refuse_entry)
          throw kernel::Error(EEXIST, "File exists", refuse_entry);
  // All or nothing: apply to a copy.
  FakeKernel before = *this;
  try {
    for (const kernel::Op& op : b.ops) apply(op);
  } catch (...) {
    *this = before;
    throw;
  }
  ++genid;
}

void FakeKernel::apply(const kernel::Op& op) {
  using K = kernel::Op::Kind;
  if (op.kind == K::AddTable) {
    if (!table) table.emplace();
    return;
  }
  if (!table) throw kernel::Error(ENOENT, "No such file or directory");
  auto set = std::find_if(table->sets.begin(), table->sets.end(), [&](auto& s) { return s.name == op.set.name; });
  auto chain = std::find_if(table->chains.begin(), table->chains.end(), [&](auto& c) { return c.name == op.chain; });
  switch (op.kind) {
    case K::AddTable: break;
    case K::DelTable: table.reset(), rules.clear(); break;
    case K::AddChain:
      if (chain == table->chains.end())
        table->chains.push_back(op.chain_def), table->chains.back().name = op.chain;
      else
        chain->drop_policy = op.chain_def.drop_policy;
      break;
    case K::DelChain:
      if (chain == table->chains.end() || !rules[op.chain].empty())
        throw kernel::Error(EBUSY, "Device or resource busy");
      table->chains.erase(chain), rules.erase(op.chain);
      break;
    case K::AddSet:
      if (set == table->sets.end()) table->sets.push_back(op.set), table->sets.back().elements.clear();
      break;
    case K::DelSet:
      if (set == table->sets.end()) throw kernel::Error(ENOENT, "No such file or directory");
      table->sets.erase(set);
      break;
    case K::AddElems:
      if (set == table->sets.end()) throw kernel::Error(ENOENT, "No such file or directory");
      for (const nft::Element& e : op.elements) {
        bool dup = std::any_of(set->elements.begin(), set->elements.end(),
                               [&](auto& x) { return nft::element_key(x) == nft::element_key(e); });
        if (dup) throw kernel::Error(EEXIST, "File exists", e.entry);
        set->elements.push_back(e);
      }
      break;
    case K::DelElems:
      if (set == table->sets.end()) throw kernel::Error(ENOENT, "No such file or directory");
      for (const nft::Element& e : op.elements) {
        auto it = std::find_if(set->elements.begin(), set->elements.end(),
                               [&](auto& x) { return nft::element_key(x) == nft::element_key(e); });
        if (it == set->elements.end()) throw kernel::Error(ENOENT, "No such file or directory", e.entry);
        set->elements.erase(it);
      }
      break;
    case K::AddRule:
      if (chain == table->chains.end()) throw kernel::Error(ENOENT, "No such file or directory");
      rules[op.chain].push_back({next_handle_++, op.rule});
      break;
    case K::DelRule: {
      auto& list = rules[op.chain];
      auto it = std::find_if(list.begin(), list.end(), [&](auto& r) { return r.first == op.handle; });
      if (it == list.end()) throw kernel::Error(ENOENT, "No such file or directory");
      list.erase(it);
      break;
    }
  }
}

size_t FakeConntrack::remove(const std::vector<conntrack::Translation>& translations) {
  size_t before = list.size();
  std::erase_if(list, [&](const conntrack::Flow& f) {
    return std::any_of(translations.begin(), translations.end(), [&](auto& t) { return conntrack::matches(t, f); });
  });
  return before - list.size();
}

namespace {
class FakeHeld : public system::Held {
 public:
  explicit FakeHeld(bool* held) : held_(held) { *held_ = true; }
  ~FakeHeld() override { *held_ = false; }

 private:
  bool* held_;
};
}  // namespace

std::unique_ptr<system::Held> FakeHost::lock() {
  ++locks;
  if (held) throw std::runtime_error("another natc holds the lock");
  return std::make_unique<FakeHeld>(&held);
}

conntrack::Flow dnat_flow(const std::string& client, const std::string& dst, uint16_t port, const std::string& target,
                          uint16_t target_port, uint8_t proto) {
  conntrack::Flow f;
  f.proto = proto;
  f.orig = {*base::parse_addr(client), *base::parse_addr(dst), 40000, port};
  f.reply = {*base::parse_addr(target), *base::parse_addr(client), target_port, 40000};
  return f;
}

}  // namespace natc::test
