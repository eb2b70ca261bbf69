#include "conntrack/conntrack.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <fstream>
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
    std::memcpy(a.bytes.data(), nfct_get_attr(ct, nf_conntrack_attr(attr6)), 16);
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

}  // namespace

bool Flow::assured() const { return status & IPS_ASSURED; }

bool matches(const Translation& t, const Flow& f) {
  if (f.proto != t.proto || f.orig.dport != t.port) return false;
  if (t.destination && f.orig.dst != *t.destination) return false;
  // The reply comes from the target the flow was translated to.
  return f.reply.src == t.target && f.reply.sport == t.target_port;
}

FlowIndex::FlowIndex(const std::vector<Flow>& flows) {
  for (const Flow& f : flows) ++by_target_[{f.proto, f.orig.dport, f.reply.src, f.reply.sport}][f.orig.dst];
}

size_t FlowIndex::count(const Translation& t) const {
  auto it = by_target_.find({t.proto, t.port, t.target, t.target_port});
  if (it == by_target_.end()) return 0;
  if (t.destination) {
    auto d = it->second.find(*t.destination);
    return d == it->second.end() ? 0 : d->second;
  }
  size_t n = 0;
  for (const auto& [dst, count] : it->second) n += count;
  return n;
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
    if (nfct_query(h.get(), NFCT_Q_DESTROY, ct.get()) == 0) ++deleted;
    else if (errno != ENOENT)  // gone meanwhile is fine
      throw Error(std::string("cannot delete a conntrack entry: ") + std::strerror(errno));
  }
  return deleted;
}

std::map<std::string, uint64_t> stats(const std::string& path) {
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
      uint64_t v = std::stoull(hex, nullptr, 16);
      // "entries" is the same global count on every CPU line.
      if (names[i] == "entries") out[names[i]] = v;
      else out[names[i]] += v;
    }
  }
  return out;
}

}  // namespace natc::conntrack
