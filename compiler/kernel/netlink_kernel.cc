#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include "kernel/kernel.h"
#include "netlink/attrs.h"
#include "netlink/encode.h"

namespace natc::kernel {
namespace {

// A NEWSETELEM message's element list is one attribute: at most 64 KiB.
constexpr size_t kElementBytesPerMessage = 60000;
constexpr int kDumpAttempts = 8;
// libmnl's MNL_SOCKET_BUFFER_SIZE is a run-time value; these are fixed.
constexpr size_t kRequest = 8192;
constexpr size_t kReceive = 1 << 16;

using netlink::for_each_attr;
using netlink::header;

std::string errstr(int e) { return std::strerror(e); }

class Socket {
 public:
  Socket() {
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl_ || mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0)
      throw Error(errno, "cannot open a netfilter netlink socket: " + errstr(errno));
    int one = 1;
    mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
    portid_ = mnl_socket_get_portid(nl_);
  }
  ~Socket() { mnl_socket_close(nl_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  mnl_socket* get() const { return nl_; }
  uint32_t portid() const { return portid_; }
  uint32_t next_seq() { return seq_++; }

 private:
  mnl_socket* nl_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = uint32_t(time(nullptr));
};

// Sends one request and collects every reply message until NLMSG_DONE or
// the ack (requests for one object carry NLM_F_ACK, and the ack may come in
// a datagram of its own). ENOENT for a single object is "absent".
struct Reply {
  std::vector<std::vector<uint8_t>> messages;
  int error = 0;
  bool interrupted = false;
};

Reply talk(Socket& s, nlmsghdr* req) {
  Reply out;
  if (mnl_socket_sendto(s.get(), req, req->nlmsg_len) < 0) throw Error(errno, "netlink send: " + errstr(errno));
  std::vector<char> buf(kReceive);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(s.get(), buf.data(), buf.size());
    if (n < 0) throw Error(errno, "netlink receive: " + errstr(errno));
    int ret = mnl_cb_run(
        buf.data(), size_t(n), req->nlmsg_seq, s.portid(),
        [](const nlmsghdr* nlh, void* data) -> int {
          auto* r = static_cast<Reply*>(data);
          if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) r->interrupted = true;
          auto* p = reinterpret_cast<const uint8_t*>(nlh);
          r->messages.emplace_back(p, p + nlh->nlmsg_len);
          return MNL_CB_OK;
        },
        &out);
    if (ret == MNL_CB_STOP) return out;
    if (ret < 0) {
      out.error = errno;
      return out;
    }
  }
}

uint32_t read_genid(Socket& s) {
  std::vector<char> page(kRequest);
  char* buf = page.data();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, s.next_seq());
  Reply r = talk(s, nlh);
  if (r.error || r.messages.empty()) throw Error(r.error, "cannot read the ruleset generation: " + errstr(r.error));
  uint32_t genid = 0;
  auto* m = reinterpret_cast<const nlmsghdr*>(r.messages[0].data());
  mnl_attr_parse(
      m, sizeof(nfgenmsg),
      [](const nlattr* a, void* data) -> int {
        if (mnl_attr_get_type(a) == NFTA_GEN_ID) *static_cast<uint32_t*>(data) = ntohl(mnl_attr_get_u32(a));
        return MNL_CB_OK;
      },
      &genid);
  return genid;
}

Reply dump(Socket& s, uint16_t type, auto&& fill, uint16_t family = NFPROTO_INET) {
  std::vector<char> page(kRequest);
  char* buf = page.data();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, family, NLM_F_DUMP, s.next_seq());
  fill(nlh);
  Reply r = talk(s, nlh);
  if (r.error && r.error != ENOENT) throw Error(r.error, "cannot read the ruleset: " + errstr(r.error));
  return r;
}

// A string attribute of a table/chain/set/rule message ("" if absent).
std::string attr_str(const nlmsghdr* m, uint16_t attr) {
  std::string found;
  netlink::for_each_attr(m, sizeof(nfgenmsg), [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == attr) found = mnl_attr_get_str(a);
  });
  return found;
}
uint8_t family_of(const nlmsghdr* m) { return static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(m))->nfgen_family; }

const char* kTableName = "natc";

// Keeps the messages of natc's table (mine) or of every other table.
std::vector<std::vector<uint8_t>> keep(std::vector<std::vector<uint8_t>> msgs, uint16_t table_attr, bool mine) {
  std::vector<std::vector<uint8_t>> out;
  for (auto& m : msgs) {
    if (header(m)->nlmsg_type == NLMSG_ERROR || header(m)->nlmsg_type == NLMSG_DONE) continue;
    bool natc = family_of(header(m)) == NFPROTO_INET && attr_str(header(m), table_attr) == kTableName;
    if (natc == mine) out.push_back(std::move(m));
  }
  return out;
}

class NetlinkKernel : public Kernel {
 public:
  Dump dump() override {
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
      Dump d;
      bool interrupted = false;
      d.genid = read_genid(s_);
      if (!read_all(d, &interrupted)) return d;  // no table
      if (!interrupted && read_genid(s_) == d.genid) return d;
      // The ruleset moved under the dump: read it again.
    }
    throw Error(EAGAIN, "the ruleset kept changing while natc read it");
  }

  Dump dump_others() override {
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
      Dump d;
      bool interrupted = false;
      d.genid = read_genid(s_);
      read_others(d, &interrupted);
      if (!interrupted && read_genid(s_) == d.genid) return d;
    }
    throw Error(EAGAIN, "the ruleset kept changing while natc read it");
  }

  void commit(const Batch& b) override;

 private:
  bool read_all(Dump& d, bool* interrupted) {
    std::vector<char> page(kRequest);
  char* buf = page.data();
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, s_.next_seq());
    mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, kTableName);
    Reply t = talk(s_, nlh);
    if (t.error == ENOENT) return false;
    if (t.error) throw Error(t.error, "cannot read natc's table: " + errstr(t.error));
    for (auto& m : t.messages)
      if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type != NLMSG_ERROR) d.tables.push_back(std::move(m));
    Reply chains = ::natc::kernel::dump(s_, NFT_MSG_GETCHAIN, [](nlmsghdr*) {});
    Reply sets = ::natc::kernel::dump(s_, NFT_MSG_GETSET, [](nlmsghdr* n) { mnl_attr_put_strz(n, NFTA_SET_TABLE, kTableName); });
    Reply rules = ::natc::kernel::dump(s_, NFT_MSG_GETRULE, [](nlmsghdr* n) { mnl_attr_put_strz(n, NFTA_RULE_TABLE, kTableName); });
    *interrupted = chains.interrupted || sets.interrupted || rules.interrupted;
    d.chains = keep(std::move(chains.messages), NFTA_CHAIN_TABLE, true);
    d.sets = keep(std::move(sets.messages), NFTA_SET_TABLE, true);
    d.rules = keep(std::move(rules.messages), NFTA_RULE_TABLE, true);
    read_elements(d, interrupted);
    return true;
  }

  // Every family's chains, sets and rules, then natc's own dropped.
  void read_others(Dump& d, bool* interrupted) {
    auto all = [&](uint16_t type, uint16_t table_attr) {
      Reply r = ::natc::kernel::dump(s_, type, [](nlmsghdr*) {}, NFPROTO_UNSPEC);
      *interrupted |= r.interrupted;
      return keep(std::move(r.messages), table_attr, false);
    };
    d.chains = all(NFT_MSG_GETCHAIN, NFTA_CHAIN_TABLE);
    d.sets = all(NFT_MSG_GETSET, NFTA_SET_TABLE);
    d.rules = all(NFT_MSG_GETRULE, NFTA_RULE_TABLE);
    read_elements(d, interrupted);
  }

  void read_elements(Dump& d, bool* interrupted) {
    for (const auto& m : d.sets) {
      std::string table = attr_str(header(m), NFTA_SET_TABLE), set = attr_str(header(m), NFTA_SET_NAME);
      Reply e = ::natc::kernel::dump(
          s_, NFT_MSG_GETSETELEM,
          [&](nlmsghdr* n) {
            mnl_attr_put_strz(n, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
            mnl_attr_put_strz(n, NFTA_SET_ELEM_LIST_SET, set.c_str());
          },
          family_of(header(m)));
      *interrupted |= e.interrupted;
      for (auto& m2 : e.messages)
        if (header(m2)->nlmsg_type != NLMSG_ERROR && header(m2)->nlmsg_type != NLMSG_DONE) d.elements.push_back(std::move(m2));
    }
  }

  Socket s_;
};

// --- the batch ---------------------------------------------------------------

class BatchWriter {
 public:
  explicit BatchWriter(Socket& s) : s_(s) {}

  // Builds each message in a scratch page, then appends it to the batch.
  template <class Fill>
  void message(uint16_t type, uint16_t flags, size_t op, Fill&& fill) {
    std::vector<char> page(kScratch);
    uint32_t seq = s_.next_seq();
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(page.data(), type, NFPROTO_INET, flags, seq);
    fill(nlh);
    origin_[seq] = {op, buf_.size()};
    buf_.insert(buf_.end(), page.data(), page.data() + nlh->nlmsg_len);
  }
  void begin(std::optional<uint32_t> genid) {
    std::vector<char> page(kRequest);
    nlmsghdr* nlh = mnl_nlmsg_put_header(page.data());
    nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = s_.next_seq();
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
    // The kernel refuses the whole batch with ERESTART when the ruleset's
    // generation is no longer the one natc planned against.
    if (genid) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
    buf_.insert(buf_.end(), page.data(), page.data() + nlh->nlmsg_len);
  }
  void end() {
    std::vector<char> page(kRequest);
    nftnl_batch_end(page.data(), s_.next_seq());
    auto* nlh = reinterpret_cast<nlmsghdr*>(page.data());
    buf_.insert(buf_.end(), page.data(), page.data() + nlh->nlmsg_len);
  }
  const std::vector<char>& bytes() const { return buf_; }
  // The op that produced message `seq`, and where its bytes start.
  std::optional<std::pair<size_t, size_t>> origin(uint32_t seq) const {
    auto it = origin_.find(seq);
    if (it == origin_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static constexpr size_t kScratch = 128 * 1024;
  Socket& s_;
  std::vector<char> buf_;
  std::map<uint32_t, std::pair<size_t, size_t>> origin_;
};

void NetlinkKernel::commit(const Batch& b) {
  BatchWriter w(s_);
  w.begin(b.genid);
  // Element chunks: which elements of their op each message carries.
  std::map<uint32_t, std::vector<const nft::Element*>> chunks;
  for (size_t i = 0; i < b.ops.size(); ++i) {
    const Op& op = b.ops[i];
    using K = Op::Kind;
    switch (op.kind) {
      case K::AddTable:
      case K::DelTable: {
        auto t = netlink::encode_table();
        w.message(op.kind == K::AddTable ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE,
                  op.kind == K::AddTable ? NLM_F_CREATE : 0, i,
                  [&](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, t.get()); });
        break;
      }
      case K::AddChain:
      case K::DelChain: {
        nft::Chain def = op.chain_def;
        def.name = op.chain;
        auto c = netlink::encode_chain(def);
        if (op.kind == K::DelChain) {
          c.reset(nftnl_chain_alloc());
          nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
          nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTableName);
          nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, op.chain.c_str());
        }
        w.message(op.kind == K::AddChain ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN,
                  op.kind == K::AddChain ? NLM_F_CREATE : 0, i,
                  [&](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, c.get()); });
        break;
      }
      case K::AddSet:
      case K::DelSet: {
        auto s = netlink::encode_set(op.set);
        w.message(op.kind == K::AddSet ? NFT_MSG_NEWSET : NFT_MSG_DELSET,
                  op.kind == K::AddSet ? NLM_F_CREATE : 0, i,
                  [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, s.get()); });
        break;
      }
      case K::AddElems:
      case K::DelElems: {
        // Split so each message's element attribute stays under 64 KiB.
        size_t start = 0;
        while (start < op.elements.size()) {
          size_t bytes = 0, end = start;
          while (end < op.elements.size() && (end == start || bytes + netlink::element_size(op.set, op.elements[end]) < kElementBytesPerMessage))
            bytes += netlink::element_size(op.set, op.elements[end++]);
          std::vector<nft::Element> part(op.elements.begin() + long(start), op.elements.begin() + long(end));
          auto s = netlink::encode_elements(op.set, part);
          uint32_t seq_before = 0;
          w.message(op.kind == K::AddElems ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
                    op.kind == K::AddElems ? NLM_F_CREATE : 0, i, [&](nlmsghdr* n) {
                      seq_before = n->nlmsg_seq;
                      nftnl_set_elems_nlmsg_build_payload(n, s.get());
                    });
          auto& list = chunks[seq_before];
          for (size_t k = start; k < end; ++k) list.push_back(&op.elements[k]);
          start = end;
        }
        break;
      }
      case K::AddRule: {
        auto r = netlink::encode_rule(op.chain, op.rule);
        w.message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, i,
                  [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r.get()); });
        break;
      }
      case K::DelRule: {
        netlink::RulePtr r(nftnl_rule_alloc());
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTableName);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, op.chain.c_str());
        nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, op.handle);
        w.message(NFT_MSG_DELRULE, 0, i, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r.get()); });
        break;
      }
    }
  }
  w.end();

  const std::vector<char>& bytes = w.bytes();
  int size = int(bytes.size()) + 4096;
  setsockopt(mnl_socket_get_fd(s_.get()), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  sockaddr_nl snl{};
  snl.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &snl;
  msg.msg_namelen = sizeof snl;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (sendmsg(mnl_socket_get_fd(s_.get()), &msg, 0) < 0) throw Error(errno, "netlink send: " + errstr(errno));

  // The kernel runs the batch inside sendmsg: every error is queued by now.
  int fd = mnl_socket_get_fd(s_.get());
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  std::vector<char> rbuf(kReceive);
  std::optional<Error> first;
  for (;;) {
    ssize_t n = recv(fd, rbuf.data(), rbuf.size(), 0);
    if (n <= 0) break;
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(nlh, int(n));
         nlh = mnl_nlmsg_next(nlh, reinterpret_cast<int*>(&n))) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error == 0 || first) continue;
      int e = -err->error;
      // Extended ack: a message from the kernel and the offending offset.
      std::string kmsg;
      uint32_t offset = 0;
      size_t hlen = sizeof(nlmsgerr) + ((nlh->nlmsg_flags & NLM_F_CAPPED) ? 0 : mnl_nlmsg_get_payload_len(&err->msg));
      if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        for_each_attr(nlh, hlen, [&](const nlattr* a) {
          if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG) kmsg = mnl_attr_get_str(a);
          if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS) offset = mnl_attr_get_u32(a);
        });
      }
      std::string origin;
      std::string what = errstr(e);
      if (auto o = w.origin(nlh->nlmsg_seq)) {
        const Op& op = b.ops[o->first];
        origin = op.origin;
        auto chunk = chunks.find(nlh->nlmsg_seq);
        if (chunk != chunks.end() && offset) {
          auto* sent = reinterpret_cast<const nlmsghdr*>(bytes.data() + o->second);
          if (auto idx = element_at(sent, offset); idx) {
            // rbtree sets send two nests (start, end) per element
            size_t per = op.set.interval && op.set.key.size() == 1 ? 2 : 1;
            if (*idx / per < chunk->second.size()) origin = chunk->second[*idx / per]->comment;
          }
        }
      }
      if (!kmsg.empty()) what += " (" + kmsg + ")";
      first = Error(e, what, origin);
    }
  }
  fcntl(fd, F_SETFL, fl);
  if (first) throw *first;
}

}  // namespace

// Index of the element nest that holds byte `offset` of a NEWSETELEM
// message, so a refusal names the spec entry of that element.
std::optional<size_t> element_at(const nlmsghdr* nlh, uint32_t offset) {
  std::optional<size_t> found;
  size_t i = 0;
  netlink::for_each_element(nlh, [&](const nlattr* elem) {
    auto begin = uint32_t(reinterpret_cast<const char*>(elem) - reinterpret_cast<const char*>(nlh));
    if (offset >= begin && offset < begin + elem->nla_len) found = i;
    ++i;
  });
  return found;
}

std::unique_ptr<Kernel> netlink_kernel() { return std::make_unique<NetlinkKernel>(); }

void enter_netns(const std::string& name) {
  std::string path = "/run/netns/" + name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(errno, "cannot open network namespace '" + name + "' (" + path + "): " + errstr(errno));
  int rc = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (rc < 0) throw Error(e, "cannot enter network namespace '" + name + "': " + errstr(e));
}

}  // namespace natc::kernel
