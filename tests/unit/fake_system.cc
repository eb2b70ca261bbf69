#include "fake_system.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cstring>

#include "nft/render.h"

namespace natc::test {

kernel::Live FakeKernel::read() {
  ++reads;
  kernel::Live l = live(table, rules, genid);
  if (moves_after_reads > 0 && --moves_after_reads == 0) ++genid;  // another writer, right after this read
  return l;
}

kernel::Live FakeKernel::live(const std::optional<nft::Table>& t, const Rules& r, uint32_t gen) const {
  kernel::Live l;
  l.genid = gen;
  if (!t) return l;
  l.table = true;
  nft::Table listed = *t;
  for (const nft::Set& s : t->sets) l.sets.push_back({s, true});
  l.helpers = t->helpers;
  for (nft::Chain& c : listed.chains) {
    kernel::LiveChain lc{c, true, {}};
    if (auto it = r.find(c.name); it != r.end())
      for (const auto& [handle, rule] : it->second) lc.rules.push_back({handle, rule}), c.rules.push_back(rule);
    l.chains.push_back(std::move(lc));
  }
  if (unreadable_rule && !l.chains.empty()) l.chains[0].rules.push_back({999, std::nullopt});
  // What natc owns, in a stable form: the listing without the sets, which
  // finish_hash adds as the real kernel's decoder does.
  listed.sets.clear();
  l.rest_hash = std::hash<std::string>()(nft::render_text(listed));
  kernel::finish_hash(l);
  return l;
}

kernel::Dump FakeKernel::dump() {
  ++reads;
  kernel::Dump d;
  d.genid = genid;
  if (moves_after_reads > 0 && --moves_after_reads == 0) ++genid;  // another writer, right after this read
  if (!table) return d;
  return named(table, d.genid);
}

std::optional<kernel::Dump> FakeKernel::dump_unchanged(uint32_t gen) {
  if (gen != genid || !table) return std::nullopt;
  ++partial_reads;
  if (moves_after_reads > 0 && --moves_after_reads == 0) ++genid;
  nft::Table t = *table;
  t.sets.clear();
  return named(t, gen);
}

kernel::Dump FakeKernel::named(std::optional<nft::Table> t, uint32_t gen) {
  kernel::Dump d;
  d.genid = gen;
  dumps_.push_back({std::move(t), rules});
  // A whole table message with no attributes (snapshots check that much);
  // its sequence number says which copy it stands for.
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_HDRLEN + sizeof(nfgenmsg);
  h.nlmsg_type = uint16_t(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE);
  h.nlmsg_seq = uint32_t(dumps_.size() - 1);
  std::vector<uint8_t> m(h.nlmsg_len, 0);
  std::memcpy(m.data(), &h, sizeof h);
  d.tables.push_back(std::move(m));
  return d;
}

kernel::Live FakeKernel::decode(const kernel::Dump& d) {
  if (d.tables.empty()) return live(std::nullopt, {}, d.genid);
  nlmsghdr h;
  std::memcpy(&h, d.tables[0].data(), sizeof h);
  const auto& [t, r] = dumps_.at(h.nlmsg_seq);
  return live(t, r, d.genid);
}

std::map<base::Addr, kernel::RouteTo> FakeKernel::routes_to(const std::vector<base::Addr>& addrs) {
  std::map<base::Addr, kernel::RouteTo> out;
  for (const auto& a : addrs)
    if (auto it = routes.find(a); it != routes.end()) out.insert(*it);
  return out;
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
      for (const nft::Element& e : op.items())
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
  if (!b.ops.empty()) ++genid;  // the kernel skips an empty batch
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
      for (const nft::Element& e : op.items()) {
        bool dup = std::any_of(set->elements.begin(), set->elements.end(),
                               [&](auto& x) { return nft::element_key(x) == nft::element_key(e); });
        if (dup) throw kernel::Error(EEXIST, "File exists", e.entry);
        set->elements.push_back(e);
      }
      break;
    case K::DelElems:
      if (set == table->sets.end()) throw kernel::Error(ENOENT, "No such file or directory");
      for (const nft::Element& e : op.items()) {
        auto it = std::find_if(set->elements.begin(), set->elements.end(),
                               [&](auto& x) { return nft::element_key(x) == nft::element_key(e); });
        if (it == set->elements.end()) throw kernel::Error(ENOENT, "No such file or directory", e.entry);
        set->elements.erase(it);
      }
      break;
    case K::AddObj:
      if (std::any_of(table->helpers.begin(), table->helpers.end(), [&](auto& h) { return h.name == op.helper.name; }))
        throw kernel::Error(EEXIST, "File exists");
      table->helpers.push_back(op.helper);
      break;
    case K::DelObj: {
      auto it =
          std::find_if(table->helpers.begin(), table->helpers.end(), [&](auto& h) { return h.name == op.helper.name; });
      if (it == table->helpers.end()) throw kernel::Error(ENOENT, "No such file or directory");
      table->helpers.erase(it);
      break;
    }
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
