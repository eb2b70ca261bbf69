#include "kernel/live_decode.h"

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "netlink/attrs.h"
#include "netlink/decode.h"
#include "netlink/handles.h"
#include "netlink/validate.h"

namespace natc::kernel {
namespace {

using netlink::str;

// FNV-1a over message payloads past the netlink and nfgenmsg headers
// (which hold sequence numbers and the generation rather than state).
class Hash {
 public:
  void message(const std::vector<uint8_t>& msg) {
    for (size_t i = sizeof(nlmsghdr) + sizeof(nfgenmsg); i < msg.size(); ++i) h_ = (h_ ^ msg[i]) * 0x100000001b3ull;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

// A message libnftnl may read (netlink/validate.h), or an error naming it.
netlink::Readable readable(const std::vector<uint8_t>& m, uint16_t type, const char* what) {
  netlink::Readable r(m, type);
  if (!r) throw Error(EPROTO, std::string("a malformed ") + what + " message (" + r.why() + ")");
  return r;
}

[[noreturn]] void malformed(const char* what) { throw Error(EPROTO, std::string("a malformed ") + what + " message"); }

LiveChain chain_of(const std::vector<uint8_t>& m) {
  netlink::Readable r = readable(m, NFT_MSG_NEWCHAIN, "chain");
  netlink::ChainPtr c(nftnl_chain_alloc());
  if (nftnl_chain_nlmsg_parse(r.header(), c.get()) < 0) malformed("chain");
  auto name = str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME));
  if (!name) malformed("chain");
  LiveChain lc;
  auto decoded = netlink::decode_chain(c.get());
  lc.known = decoded.has_value();
  lc.chain = decoded.value_or(nft::Chain{*name, nft::Hook::Forward});
  return lc;
}

LiveSet set_of(const std::vector<uint8_t>& m) {
  netlink::Readable r = readable(m, NFT_MSG_NEWSET, "set");
  netlink::SetPtr s(nftnl_set_alloc());
  if (nftnl_set_nlmsg_parse(r.header(), s.get()) < 0) malformed("set");
  auto name = str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
  if (!name) malformed("set");
  LiveSet ls;
  auto decoded = r.foreign() ? std::nullopt : netlink::decode_set(s.get());
  ls.known = decoded.has_value();
  ls.set = decoded.value_or(nft::Set{*name});
  return ls;
}

// A ct helper natc wrote, or the name and type of an object to remove.
void object_of(const std::vector<uint8_t>& m, Live& live) {
  netlink::Readable r = readable(m, NFT_MSG_NEWOBJ, "object");
  netlink::ObjPtr o(nftnl_obj_alloc());
  if (nftnl_obj_nlmsg_parse(r.header(), o.get()) < 0) malformed("object");
  auto name = str(nftnl_obj_get_str(o.get(), NFTNL_OBJ_NAME));
  if (!name) malformed("object");
  auto helper = r.foreign() ? std::nullopt : netlink::decode_helper(o.get());
  if (helper)
    live.helpers.push_back(std::move(*helper));
  else
    live.other_objects.push_back({*name, nftnl_obj_get_u32(o.get(), NFTNL_OBJ_TYPE)});
}

}  // namespace

Live decode_live(const Dump& d) {
  for (const auto& m : d.tables) readable(m, NFT_MSG_NEWTABLE, "table");
  Live live;
  live.genid = d.genid;
  live.table = !d.tables.empty();
  // Elements count packets: their bytes change with traffic, what natc
  // owns does not. Readable sets are hashed by what they are
  // (finish_hash), the rest by their messages.
  Hash h;
  for (const auto* list : {&d.tables, &d.chains, &d.rules, &d.objects})
    for (const auto& m : *list) h.message(m);
  for (const auto& m : d.objects) object_of(m, live);
  std::map<std::string, size_t> chain_index, set_index;
  for (const auto& m : d.chains) {
    live.chains.push_back(chain_of(m));
    chain_index[live.chains.back().chain.name] = live.chains.size() - 1;
  }
  for (const auto& m : d.sets) {
    live.sets.push_back(set_of(m));
    set_index[live.sets.back().set.name] = live.sets.size() - 1;
  }
  std::vector<std::vector<const std::vector<uint8_t>*>> raw_elements(live.sets.size());
  for (const auto& m : d.elements) {
    netlink::Readable r = readable(m, NFT_MSG_NEWSETELEM, "set element");
    netlink::SetPtr s(nftnl_set_alloc());
    if (nftnl_set_elems_nlmsg_parse(r.header(), s.get()) < 0) malformed("set element");
    auto name = str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
    if (!name) malformed("set element");
    auto it = set_index.find(*name);
    if (it == set_index.end()) continue;
    raw_elements[it->second].push_back(&m);
    LiveSet& ls = live.sets[it->second];
    if (ls.known && (r.foreign() || !netlink::decode_elements(s.get(), ls.set))) ls.known = false;
  }
  for (size_t i = 0; i < live.sets.size(); ++i) {
    if (live.sets[i].known) continue;
    h.message(d.sets[i]);
    for (const auto* m : raw_elements[i]) h.message(*m);
  }
  live.rest_hash = h.value();
  finish_hash(live);
  for (const auto& m : d.rules) {
    netlink::Readable readable_rule = readable(m, NFT_MSG_NEWRULE, "rule");
    netlink::RulePtr r(nftnl_rule_alloc());
    if (nftnl_rule_nlmsg_parse(readable_rule.header(), r.get()) < 0) malformed("rule");
    auto chain = str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN));
    if (!chain) malformed("rule");
    auto it = chain_index.find(*chain);
    if (it == chain_index.end()) continue;
    live.chains[it->second].rules.push_back({nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE),
                                             readable_rule.foreign() ? std::nullopt : netlink::decode_rule(r.get())});
  }
  return live;
}

}  // namespace natc::kernel
