#include "conntrack/netfilter.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <libnfnetlink/libnfnetlink.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

namespace natc::conntrack {
namespace {

struct HandleClose {
  void operator()(nfct_handle* h) const { nfct_close(h); }
};
using Handle = std::unique_ptr<nfct_handle, HandleClose>;
struct CtFree {
  void operator()(nf_conntrack* c) const { nfct_destroy(c); }
};
using Ct = std::unique_ptr<nf_conntrack, CtFree>;

Handle open_handle() {
  Handle h(nfct_open(CONNTRACK, 0));
  if (!h) throw Error(std::string("cannot open conntrack netlink: ") + std::strerror(errno));
  return h;
}

base::Addr addr(const nf_conntrack* ct, bool v6, int attr4, int attr6) {
  base::Addr a;
  if (v6) {
    a.family = base::Family::V6;
    if (const void* p = nfct_get_attr(ct, nf_conntrack_attr(attr6))) std::memcpy(a.bytes.data(), p, 16);
  } else {
    uint32_t v = nfct_get_attr_u32(ct, nf_conntrack_attr(attr4));
    std::memcpy(a.bytes.data(), &v, 4);
  }
  return a;
}

Flow flow_of(const nf_conntrack* ct) {
  Flow f;
  bool v6 = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) == AF_INET6;
  f.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
  f.orig.src = addr(ct, v6, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC);
  f.orig.dst = addr(ct, v6, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST);
  f.reply.src = addr(ct, v6, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC);
  f.reply.dst = addr(ct, v6, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST);
  if (f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP || f.proto == IPPROTO_SCTP) {
    f.orig.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
    f.orig.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
    f.reply.sport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
    f.reply.dport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST));
  }
  f.status = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
  if (f.proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE))
    f.tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
  if (nfct_attr_is_set(ct, ATTR_TIMEOUT)) f.timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
  if (nfct_attr_is_set(ct, ATTR_TIMESTAMP_START)) f.start_ns = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START);
  return f;
}

// A conntrack object holding `f`'s original tuple: what a delete names.
Ct tuple_of(const Flow& f) {
  Ct ct(nfct_new());
  if (!ct) throw Error("out of memory");
  bool v6 = f.orig.src.family == base::Family::V6;
  nfct_set_attr_u8(ct.get(), ATTR_ORIG_L3PROTO, v6 ? AF_INET6 : AF_INET);
  nfct_set_attr_u8(ct.get(), ATTR_ORIG_L4PROTO, f.proto);
  if (v6) {
    nfct_set_attr(ct.get(), ATTR_ORIG_IPV6_SRC, f.orig.src.bytes.data());
    nfct_set_attr(ct.get(), ATTR_ORIG_IPV6_DST, f.orig.dst.bytes.data());
  } else {
    uint32_t src = 0, dst = 0;
    std::memcpy(&src, f.orig.src.bytes.data(), 4);
    std::memcpy(&dst, f.orig.dst.bytes.data(), 4);
    nfct_set_attr_u32(ct.get(), ATTR_ORIG_IPV4_SRC, src);
    nfct_set_attr_u32(ct.get(), ATTR_ORIG_IPV4_DST, dst);
  }
  if (f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP || f.proto == IPPROTO_SCTP) {
    nfct_set_attr_u16(ct.get(), ATTR_ORIG_PORT_SRC, htons(f.orig.sport));
    nfct_set_attr_u16(ct.get(), ATTR_ORIG_PORT_DST, htons(f.orig.dport));
  }
  return ct;
}

size_t destroy(const std::vector<Ct>& doomed) {
  Handle h = open_handle();
  size_t deleted = 0;
  for (const Ct& ct : doomed) {
    if (nfct_query(h.get(), NFCT_Q_DESTROY, ct.get()) == 0)
      ++deleted;
    else if (errno != ENOENT)  // gone meanwhile is fine
      throw Error(std::string("cannot delete a conntrack entry: ") + std::strerror(errno));
  }
  return deleted;
}

// Conntrack events until `each` says stop. A burst larger than the socket
// buffer loses events (ENOBUFS): said once per burst, then watching goes on.
void watch_events(const std::function<bool(Event, const Flow&)>& each) {
  Handle h(nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY));
  if (!h) throw Error(std::string("cannot listen to conntrack events: ") + std::strerror(errno));
  nfnl_rcvbufsiz(nfct_nfnlh(h.get()), 8u << 20);
  struct Ctx {
    const std::function<bool(Event, const Flow&)>* each;
  } ctx{&each};
  nfct_callback_register(
      h.get(), NFCT_T_ALL,
      [](enum nf_conntrack_msg_type type, nf_conntrack* ct, void* data) -> int {
        Event e = type == NFCT_T_DESTROY ? Event::Destroy : Event::New;
        if (type != NFCT_T_NEW && type != NFCT_T_DESTROY) return NFCT_CB_CONTINUE;
        return (*static_cast<Ctx*>(data)->each)(e, flow_of(ct)) ? NFCT_CB_CONTINUE : NFCT_CB_STOP;
      },
      &ctx);
  for (;;) {
    if (nfct_catch(h.get()) >= 0) return;  // stopped by `each`
    if (errno == ENOBUFS) {
      std::fputs("natc: conntrack events were lost (a burst larger than the socket buffer)\n", stderr);
      continue;
    }
    if (errno == EINTR) continue;
    throw Error(std::string("cannot read conntrack events: ") + std::strerror(errno));
  }
}

// Runs a dump and hands each entry to `each` (a clone it may keep).
void for_each_entry(const std::function<void(nf_conntrack*)>& each) {
  Handle h = open_handle();
  struct Ctx {
    const std::function<void(nf_conntrack*)>* each;
  } ctx{&each};
  nfct_callback_register(
      h.get(), NFCT_T_ALL,
      [](enum nf_conntrack_msg_type, nf_conntrack* ct, void* data) -> int {
        (*static_cast<Ctx*>(data)->each)(ct);
        return NFCT_CB_CONTINUE;
      },
      &ctx);
  // Both families in one dump: the kernel walks its whole hash table for
  // each dump, whatever it holds (13 ms each on the test VM).
  uint32_t family = AF_UNSPEC;
  if (nfct_query(h.get(), NFCT_Q_DUMP, &family) < 0 && errno != ENOENT)
    throw Error(std::string("cannot read the conntrack table: ") + std::strerror(errno));
}

std::vector<Flow> dump() {
  std::vector<Flow> out;
  for_each_entry([&](nf_conntrack* ct) { out.push_back(flow_of(ct)); });
  return out;
}

size_t delete_flows(const std::vector<Translation>& translations) {
  if (translations.empty()) return 0;
  // Collect first: a handle cannot delete while it dumps.
  std::vector<Ct> doomed;
  for_each_entry([&](nf_conntrack* ct) {
    Flow f = flow_of(ct);
    for (const auto& t : translations)
      if (matches(t, f)) {
        doomed.emplace_back(nfct_clone(ct));
        break;
      }
  });
  return destroy(doomed);
}

std::map<std::string, uint64_t> read_stats(const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::ifstream in(path);
  std::string header;
  if (!std::getline(in, header)) return out;
  std::vector<std::string> names;
  std::istringstream hs(header);
  for (std::string n; hs >> n;) names.push_back(n);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    for (size_t i = 0; i < names.size(); ++i) {
      std::string hex;
      if (!(ls >> hex)) break;
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
      if (ec != std::errc() || end != hex.data() + hex.size()) return {};  // not the kernel's format
      // "entries" is the same global count on every CPU line.
      if (names[i] == "entries")
        out[names[i]] = v;
      else
        out[names[i]] += v;
    }
  }
  return out;
}

class NetfilterTable : public Table {
 public:
  explicit NetfilterTable(std::string stats_path) : stats_path_(std::move(stats_path)) {}
  std::vector<Flow> flows() override { return dump(); }
  size_t remove(const std::vector<Translation>& translations) override { return delete_flows(translations); }
  std::map<std::string, uint64_t> stats() override { return read_stats(stats_path_); }
  size_t remove_flows(const std::vector<Flow>& flows) override {
    std::vector<Ct> doomed;
    doomed.reserve(flows.size());
    for (const Flow& f : flows) doomed.push_back(tuple_of(f));
    return destroy(doomed);
  }
  void watch(const std::function<bool(Event, const Flow&)>& each) override { watch_events(each); }

 private:
  std::string stats_path_;
};

}  // namespace

std::unique_ptr<Table> netfilter_table(std::string stats_path) {
  return std::make_unique<NetfilterTable>(std::move(stats_path));
}

}  // namespace natc::conntrack
