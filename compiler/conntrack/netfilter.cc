#include "conntrack/netfilter.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <charconv>
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
  return f;
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
  for (uint32_t family : {uint32_t(AF_INET), uint32_t(AF_INET6)}) {
    if (nfct_query(h.get(), NFCT_Q_DUMP, &family) < 0 && errno != ENOENT)
      throw Error(std::string("cannot read the conntrack table: ") + std::strerror(errno));
  }
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

 private:
  std::string stats_path_;
};

}  // namespace

std::unique_ptr<Table> netfilter_table(std::string stats_path) {
  return std::make_unique<NetfilterTable>(std::move(stats_path));
}

}  // namespace natc::conntrack
