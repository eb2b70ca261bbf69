#include "netlink/batch.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstdio>

#include "netlink/attrs.h"
#include "netlink/encode.h"

namespace natc::netlink {
namespace {

// A NEWSETELEM message's element list is one attribute: at most 64 KiB.
constexpr size_t kElementBytesPerMessage = 60000;
constexpr size_t kScratch = size_t{128} * 1024;
constexpr size_t kSmall = 8192;

using kernel::Op;
using K = kernel::Op::Kind;

class Builder {
 public:
  explicit Builder(uint32_t first_seq) { out_.next_seq = first_seq; }

  BatchBytes run(const kernel::Batch& b) {
    begin(b.genid);
    for (const Op& op : b.ops) add(op);
    end();
    return std::move(out_);
  }

 private:
  void append(const nlmsghdr* nlh) {
    auto* p = reinterpret_cast<const char*>(nlh);
    out_.bytes.insert(out_.bytes.end(), p, p + nlh->nlmsg_len);
  }

  // Builds one message in a scratch page, then appends it to the batch.
  template <class Fill>
  nlmsghdr* message(uint16_t type, uint16_t flags, const std::string& entry, Fill&& fill) {
    scratch_.assign(kScratch, 0);
    uint32_t seq = out_.next_seq++;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(scratch_.data(), type, NFPROTO_INET, flags, seq);
    fill(nlh);
    out_.messages.push_back({seq, out_.bytes.size(), entry, {}});
    append(nlh);
    return nlh;
  }

  void begin(std::optional<uint32_t> genid) {
    std::vector<char> page(kSmall);
    nlmsghdr* nlh = mnl_nlmsg_put_header(page.data());
    nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = out_.next_seq++;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
    // The kernel refuses the whole batch with ERESTART when the ruleset's
    // generation is no longer the one natc planned against.
    if (genid) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
    append(nlh);
  }

  void end() {
    std::vector<char> page(kSmall);
    append(nftnl_batch_end(page.data(), out_.next_seq++));
  }

  void add(const Op& op) {
    switch (op.kind) {
      case K::AddTable:
      case K::DelTable: return table(op);
      case K::AddChain:
      case K::DelChain: return chain(op);
      case K::AddSet:
      case K::DelSet: return set(op);
      case K::AddElems:
      case K::DelElems: return elements(op);
      case K::AddRule: return add_rule(op);
      case K::DelRule: return del_rule(op);
      case K::AddObj:
      case K::DelObj: return object(op);
    }
  }

  void table(const Op& op) {
    auto t = encode_table();
    bool add = op.kind == K::AddTable;
    message(add ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE, add ? NLM_F_CREATE : 0, op.entry,
            [&](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, t.get()); });
  }

  void chain(const Op& op) {
    bool add = op.kind == K::AddChain;
    nft::Chain def = op.chain_def;
    def.name = op.chain;
    ChainPtr c = encode_chain(def);
    if (!add) {  // a delete names the chain, nothing more
      c.reset(nftnl_chain_alloc());
      nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
      nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, std::string(nft::kTable).c_str());
      nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, op.chain.c_str());
    }
    message(add ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN, add ? NLM_F_CREATE : 0, op.entry,
            [&](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, c.get()); });
  }

  void set(const Op& op) {
    // The kernel requires a transaction-local id for every new set.
    SetPtr s = encode_set(op.set, ++set_id_);
    bool add = op.kind == K::AddSet;
    message(add ? NFT_MSG_NEWSET : NFT_MSG_DELSET, add ? NLM_F_CREATE : 0, op.entry,
            [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, s.get()); });
  }

  // Split so each message's element attribute stays under 64 KiB.
  void elements(const Op& op) {
    bool add = op.kind == K::AddElems;
    std::span<const nft::Element> all = op.items();
    for (size_t start = 0; start < all.size();) {
      size_t bytes = 0, end = start;
      while (end < all.size() && (end == start || bytes + element_size(op.set, all[end]) < kElementBytesPerMessage))
        bytes += element_size(op.set, all[end++]);
      std::vector<std::string> entries;
      SetPtr s = encode_elements(op.set, all.subspan(start, end - start), &entries);
      nlmsghdr* nlh = message(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, op.entry,
                              [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, s.get()); });
      size_t i = 0;
      for_each_element(nlh, [&](const nlattr* a) {
        auto begin = uint32_t(reinterpret_cast<const char*>(a) - reinterpret_cast<const char*>(nlh));
        if (i < entries.size()) out_.messages.back().nests.push_back({begin, begin + a->nla_len, entries[i]});
        ++i;
      });
      start = end;
    }
  }

  void object(const Op& op) {
    bool add = op.kind == K::AddObj;
    ObjPtr o = encode_helper(op.helper, add);
    if (!add) nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, op.obj_type);
    message(add ? NFT_MSG_NEWOBJ : NFT_MSG_DELOBJ, add ? NLM_F_CREATE : 0, op.entry,
            [&](nlmsghdr* n) { nftnl_obj_nlmsg_build_payload(n, o.get()); });
  }

  void add_rule(const Op& op) {
    RulePtr r = encode_rule(op.chain, op.rule);
    message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, op.entry,
            [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r.get()); });
  }

  void del_rule(const Op& op) {
    RulePtr r(nftnl_rule_alloc());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(nft::kTable).c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, op.chain.c_str());
    nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, op.handle);
    message(NFT_MSG_DELRULE, 0, op.entry, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r.get()); });
  }

  BatchBytes out_;
  std::vector<char> scratch_;
  uint32_t set_id_ = 0;
};

const char* type_name(uint16_t type) {
  switch (type & 0xff) {
    case NFT_MSG_NEWTABLE: return "NEWTABLE";
    case NFT_MSG_DELTABLE: return "DELTABLE";
    case NFT_MSG_NEWCHAIN: return "NEWCHAIN";
    case NFT_MSG_DELCHAIN: return "DELCHAIN";
    case NFT_MSG_NEWSET: return "NEWSET";
    case NFT_MSG_DELSET: return "DELSET";
    case NFT_MSG_NEWSETELEM: return "NEWSETELEM";
    case NFT_MSG_DELSETELEM: return "DELSETELEM";
    case NFT_MSG_NEWRULE: return "NEWRULE";
    case NFT_MSG_DELRULE: return "DELRULE";
    case NFT_MSG_NEWOBJ: return "NEWOBJ";
    case NFT_MSG_DELOBJ: return "DELOBJ";
    default: return "?";
  }
}

}  // namespace

const BatchBytes::Message* BatchBytes::message(uint32_t seq) const {
  auto it = std::find_if(messages.begin(), messages.end(), [&](const Message& m) { return m.seq == seq; });
  return it == messages.end() ? nullptr : &*it;
}

std::string BatchBytes::entry_at(uint32_t seq, uint32_t offset) const {
  const Message* m = message(seq);
  if (!m) return "";
  for (const Nest& n : m->nests)
    if (offset >= n.begin && offset < n.end) return n.entry;
  return m->entry;
}

BatchBytes build_batch(const kernel::Batch& b, uint32_t first_seq) { return Builder(first_seq).run(b); }

std::string hexdump(const BatchBytes& bb) {
  std::string out;
  char buf[8];
  for (size_t at = 0; at < bb.bytes.size();) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(bb.bytes.data() + at);
    bool batch = nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END;
    out += std::string("# ") + (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ? "BATCH_BEGIN"
                                : nlh->nlmsg_type == NFNL_MSG_BATCH_END ? "BATCH_END"
                                : batch                                 ? "?"
                                                                        : type_name(nlh->nlmsg_type));
    out += " seq " + std::to_string(nlh->nlmsg_seq) + "\n";
    for (size_t i = 0; i < nlh->nlmsg_len; ++i) {
      snprintf(buf, sizeof buf, "%02x", uint8_t(bb.bytes[at + i]));
      out += buf;
      out += (i % 16 == 15 || i + 1 == nlh->nlmsg_len) ? "\n" : (i % 4 == 3 ? "  " : " ");
    }
    at += nlh->nlmsg_len;
  }
  return out;
}

}  // namespace natc::netlink
