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
#include <fstream>
#include <map>
#include <string>

#include "kernel/foreign.h"
#include "kernel/live_decode.h"
#include "kernel/netlink_kernel.h"
#include "kernel/preview.h"
#include "kernel/route.h"
#include "kernel/sockets.h"
#include "netlink/attrs.h"
#include "netlink/batch.h"

namespace natc::kernel {
namespace {

constexpr int kDumpAttempts = 8;
// libmnl's MNL_SOCKET_BUFFER_SIZE is a run-time value; these are fixed.
constexpr size_t kRequest = 8192;
constexpr size_t kReceive = 1 << 16;

using netlink::for_each_attr;
using netlink::header;

std::string errstr(int e) { return std::strerror(e); }

struct SocketClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

class Socket {
 public:
  Socket() : nl_(mnl_socket_open(NETLINK_NETFILTER)) {
    if (!nl_ || mnl_socket_bind(nl_.get(), 0, MNL_SOCKET_AUTOPID) < 0)
      throw Error(errno, "cannot open a netfilter netlink socket: " + errstr(errno));
    int one = 1;
    mnl_socket_setsockopt(nl_.get(), NETLINK_EXT_ACK, &one, sizeof one);
    portid_ = mnl_socket_get_portid(nl_.get());
  }

  mnl_socket* get() const { return nl_.get(); }
  int fd() const { return mnl_socket_get_fd(nl_.get()); }
  uint32_t portid() const { return portid_; }
  uint32_t next_seq() { return seq_++; }
  uint32_t peek_seq() const { return seq_; }
  void used_seq(uint32_t next) { seq_ = next; }

 private:
  std::unique_ptr<mnl_socket, SocketClose> nl_;
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
    if (mnl_attr_get_type(a) == attr && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) found = mnl_attr_get_str(a);
  });
  return found;
}
uint8_t family_of(const nlmsghdr* m) { return static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(m))->nfgen_family; }

const std::string kTableName(nft::kTable);

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
  Live read() override { return decode_live(dump()); }
  Live decode(const Dump& d) override { return decode_live(d); }

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

  std::optional<Dump> dump_unchanged(uint32_t genid) override {
    Dump d;
    d.genid = genid;
    bool interrupted = false;
    if (read_genid(s_) != genid || !read_all(d, &interrupted, false)) return std::nullopt;
    if (interrupted || read_genid(s_) != genid) return std::nullopt;
    return d;
  }

  std::string instance() override {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string boot;
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (!std::getline(in, boot) || boot.empty() || getsockopt(s_.fd(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
      return "";
    return boot + "/" + std::to_string(cookie);
  }

  cotenancy::Ruleset others() override {
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
      Dump d;
      bool interrupted = false;
      d.genid = read_genid(s_);
      read_others(d, &interrupted);
      if (!interrupted && read_genid(s_) == d.genid) return decode_foreign(d);
    }
    throw Error(EAGAIN, "the ruleset kept changing while natc read it");
  }

  void commit(const Batch& b) override;

  std::map<base::Addr, RouteTo> routes_to(const std::vector<base::Addr>& addrs) override {
    return kernel::routes_to(addrs);
  }
  std::vector<Listener> listeners() override { return listening_sockets(); }
  std::optional<std::vector<Interface>> interfaces() override { return kernel::interfaces(); }
  cotenancy::Ruleset preview(const nft::Table& t) override { return kernel::preview(t); }

 private:
  // natc's table, with its sets and their elements unless `sets` is false.
  bool read_all(Dump& d, bool* interrupted, bool sets = true) {
    std::vector<char> page(kRequest);
    char* buf = page.data();
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, s_.next_seq());
    mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, kTableName.c_str());
    Reply t = talk(s_, nlh);
    if (t.error == ENOENT) return false;
    if (t.error) throw Error(t.error, "cannot read natc's table: " + errstr(t.error));
    for (auto& m : t.messages)
      if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type != NLMSG_ERROR) d.tables.push_back(std::move(m));
    Reply chains = ::natc::kernel::dump(s_, NFT_MSG_GETCHAIN, [](nlmsghdr*) {});
    Reply rules = ::natc::kernel::dump(s_, NFT_MSG_GETRULE,
                                       [](nlmsghdr* n) { mnl_attr_put_strz(n, NFTA_RULE_TABLE, kTableName.c_str()); });
    Reply objects = ::natc::kernel::dump(s_, NFT_MSG_GETOBJ,
                                         [](nlmsghdr* n) { mnl_attr_put_strz(n, NFTA_OBJ_TABLE, kTableName.c_str()); });
    *interrupted = chains.interrupted || rules.interrupted || objects.interrupted;
    d.objects = keep(std::move(objects.messages), NFTA_OBJ_TABLE, true);
    d.chains = keep(std::move(chains.messages), NFTA_CHAIN_TABLE, true);
    d.rules = keep(std::move(rules.messages), NFTA_RULE_TABLE, true);
    if (!sets) return true;
    Reply set_list = ::natc::kernel::dump(
        s_, NFT_MSG_GETSET, [](nlmsghdr* n) { mnl_attr_put_strz(n, NFTA_SET_TABLE, kTableName.c_str()); });
    *interrupted |= set_list.interrupted;
    d.sets = keep(std::move(set_list.messages), NFTA_SET_TABLE, true);
    read_elements(d, interrupted);
    return true;
  }

  // Every family's chains, sets and rules, then natc's own dropped.
  void read_others(Dump& d, bool* interrupted) {
    auto all = [&](uint16_t type, uint16_t table_attr) {
      Reply r = ::natc::kernel::dump(
          s_, type, [](nlmsghdr*) {}, NFPROTO_UNSPEC);
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
        if (header(m2)->nlmsg_type != NLMSG_ERROR && header(m2)->nlmsg_type != NLMSG_DONE)
          d.elements.push_back(std::move(m2));
    }
  }

  Socket s_;
};

// --- the batch ---------------------------------------------------------------

// The first error among the kernel's answers to a batch, with the spec
// entry its extended ack points at.
std::optional<Error> read_error(const nlmsghdr* nlh, const netlink::BatchBytes& sent) {
  if (nlh->nlmsg_type != NLMSG_ERROR || mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) return std::nullopt;
  auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (err->error == 0) return std::nullopt;
  int e = -err->error;
  // Extended ack: a message from the kernel and the offending offset.
  std::string kmsg;
  uint32_t offset = 0;
  size_t hlen = sizeof(nlmsgerr) + ((nlh->nlmsg_flags & NLM_F_CAPPED) ? 0 : mnl_nlmsg_get_payload_len(&err->msg));
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && hlen <= mnl_nlmsg_get_payload_len(nlh)) {
    for_each_attr(nlh, hlen, [&](const nlattr* a) {
      if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
        kmsg = mnl_attr_get_str(a);
      if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
        offset = mnl_attr_get_u32(a);
    });
  }
  std::string what = errstr(e) + (kmsg.empty() ? "" : " (" + kmsg + ")");
  return Error(e, what, sent.entry_at(nlh->nlmsg_seq, offset));
}

void NetlinkKernel::commit(const Batch& b) {
  netlink::BatchBytes sent = netlink::build_batch(b, s_.peek_seq());
  s_.used_seq(sent.next_seq);
  int size = int(sent.bytes.size()) + 4096;
  setsockopt(s_.fd(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  iovec iov{sent.bytes.data(), sent.bytes.size()};
  sockaddr_nl snl{};
  snl.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &snl;
  msg.msg_namelen = sizeof snl;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (sendmsg(s_.fd(), &msg, 0) < 0) throw Error(errno, "netlink send: " + errstr(errno));

  // The kernel runs the batch inside sendmsg: every error is queued by now.
  int fl = fcntl(s_.fd(), F_GETFL);
  fcntl(s_.fd(), F_SETFL, fl | O_NONBLOCK);
  std::vector<char> rbuf(kReceive);
  std::optional<Error> first;
  for (;;) {
    ssize_t n = recv(s_.fd(), rbuf.data(), rbuf.size(), 0);
    if (n <= 0) break;
    int left = int(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left))
      if (!first) first = read_error(nlh, sent);
  }
  fcntl(s_.fd(), F_SETFL, fl);
  if (first) throw *first;
}

}  // namespace

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
