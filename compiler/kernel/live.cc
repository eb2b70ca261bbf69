// Raw dump messages -> Live, through the same decoder for kernel and file.
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <algorithm>
#include <map>

#include "kernel/kernel.h"
#include "netlink/attrs.h"
#include "netlink/decode.h"
#include "netlink/handles.h"
#include "nft/render.h"

namespace natc::kernel {
namespace {

using netlink::header;

// FNV-1a over message payloads past the netlink and nfgenmsg headers, which
// hold sequence numbers and the generation rather than state.
void mix(uint64_t& h, const std::vector<uint8_t>& msg) {
  for (size_t i = sizeof(nlmsghdr) + sizeof(nfgenmsg); i < msg.size(); ++i) h = (h ^ msg[i]) * 0x100000001b3ull;
}

void mix_text(uint64_t& h, const std::string& s) {
  for (char c : s) h = (h ^ uint8_t(c)) * 0x100000001b3ull;
  h = (h ^ 0xff) * 0x100000001b3ull;  // separator: "ab","c" differs from "a","bc"
}

}  // namespace

Live decode_live(const Dump& d) {
  Live live;
  live.genid = d.genid;
  live.table = !d.tables.empty();
  uint64_t h = 0xcbf29ce484222325ull;
  for (const auto* list : {&d.tables, &d.chains, &d.sets, &d.rules})
    for (const auto& m : *list) mix(h, m);
  std::map<std::string, size_t> chain_index, set_index;
  for (const auto& m : d.chains) {
    netlink::ChainPtr c(nftnl_chain_alloc());
    if (nftnl_chain_nlmsg_parse(header(m), c.get()) < 0) continue;
    LiveChain lc;
    auto decoded = netlink::decode_chain(c.get());
    lc.known = decoded.has_value();
    lc.chain = decoded.value_or(nft::Chain{nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME), nft::Hook::Forward});
    chain_index[lc.chain.name] = live.chains.size();
    live.chains.push_back(std::move(lc));
  }
  for (const auto& m : d.sets) {
    netlink::SetPtr s(nftnl_set_alloc());
    if (nftnl_set_nlmsg_parse(header(m), s.get()) < 0) continue;
    LiveSet ls;
    auto decoded = netlink::decode_set(s.get());
    ls.known = decoded.has_value();
    ls.set = decoded.value_or(nft::Set{nftnl_set_get_str(s.get(), NFTNL_SET_NAME)});
    set_index[ls.set.name] = live.sets.size();
    live.sets.push_back(std::move(ls));
  }
  std::vector<std::vector<const std::vector<uint8_t>*>> raw_elements(live.sets.size());
  for (const auto& m : d.elements) {
    netlink::SetPtr s(nftnl_set_alloc());
    if (nftnl_set_elems_nlmsg_parse(header(m), s.get()) < 0) continue;
    auto it = set_index.find(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
    if (it == set_index.end()) continue;
    raw_elements[it->second].push_back(&m);
    LiveSet& ls = live.sets[it->second];
    if (ls.known && !netlink::decode_elements(s.get(), ls.set)) ls.known = false;
  }
  // Elements count packets: their bytes change with traffic, what natc
  // owns does not. Hash what they are (key, value, name), in key order;
  // the raw messages only for sets natc cannot read.
  for (size_t i = 0; i < live.sets.size(); ++i) {
    const LiveSet& ls = live.sets[i];
    if (!ls.known) {
      for (const auto* m : raw_elements[i]) mix(h, *m);
      continue;
    }
    std::vector<std::string> texts;
    for (const auto& e : ls.set.elements) texts.push_back(nft::to_text(e));
    std::sort(texts.begin(), texts.end());
    for (const auto& t : texts) mix_text(h, t);
  }
  live.hash = h;
  for (const auto& m : d.rules) {
    netlink::RulePtr r(nftnl_rule_alloc());
    if (nftnl_rule_nlmsg_parse(header(m), r.get()) < 0) continue;
    auto it = chain_index.find(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN));
    if (it == chain_index.end()) continue;
    live.chains[it->second].rules.push_back(
        {nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE), netlink::decode_rule(r.get())});
  }
  return live;
}

}  // namespace natc::kernel
