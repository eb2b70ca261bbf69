#include "kernel/route.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace natc::kernel {
namespace {

using Socket = std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)>;

// Requests per sendmsg: the kernel answers a whole buffer of them in one
// call, and the answers (about 100 bytes each) fit the receive buffer.
constexpr size_t kPerBatch = 256;
constexpr size_t kRequestBytes = 64;

void put_request(std::vector<char>& buf, uint32_t seq, const base::Addr& a) {
  size_t at = buf.size();
  buf.resize(at + MNL_ALIGN(kRequestBytes));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data() + at);
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = a.family == base::Family::V4 ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = uint8_t(a.size() * 8);
  mnl_attr_put(nlh, RTA_DST, a.size(), a.bytes.data());
  buf.resize(at + nlh->nlmsg_len);
}

// if_indextoname opens a socket per call: ask once per interface.
using Names = std::map<uint32_t, std::string>;

std::optional<RouteTo> parse(const nlmsghdr* reply, Names& names) {
  if (reply->nlmsg_type != RTM_NEWROUTE) return std::nullopt;  // an error: no route
  auto* r = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(reply));
  if (r->rtm_type != RTN_UNICAST && r->rtm_type != RTN_LOCAL) return std::nullopt;
  RouteTo out;
  out.local = r->rtm_type == RTN_LOCAL;
  uint32_t oif = 0;
  mnl_attr_parse(
      reply, sizeof(rtmsg),
      [](const nlattr* attr, void* data) -> int {
        if (mnl_attr_get_type(attr) == RTA_OIF) *static_cast<uint32_t*>(data) = mnl_attr_get_u32(attr);
        return MNL_CB_OK;
      },
      &oif);
  if (!oif) return out;
  auto it = names.find(oif);
  if (it == names.end()) {
    char name[IF_NAMESIZE] = {};
    it = names.emplace(oif, if_indextoname(oif, name) ? name : "").first;
  }
  out.oif = it->second;
  return out;
}

}  // namespace

std::map<base::Addr, RouteTo> routes_to(const std::vector<base::Addr>& addrs) {
  std::map<base::Addr, RouteTo> out;
  Socket nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return out;
  std::vector<base::Addr> todo(addrs);
  std::sort(todo.begin(), todo.end());
  todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
  uint32_t first_seq = uint32_t(time(nullptr));
  std::vector<char> rbuf(1 << 16);
  Names names;
  for (size_t start = 0; start < todo.size(); start += kPerBatch) {
    size_t n = std::min(kPerBatch, todo.size() - start);
    std::vector<char> req;
    for (size_t i = 0; i < n; ++i) put_request(req, first_seq + uint32_t(start + i), todo[start + i]);
    if (mnl_socket_sendto(nl.get(), req.data(), req.size()) < 0) return out;
    for (size_t answered = 0; answered < n;) {
      ssize_t got = mnl_socket_recvfrom(nl.get(), rbuf.data(), rbuf.size());
      if (got <= 0) return out;
      int left = int(got);
      for (auto* m = reinterpret_cast<const nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(m, left);
           m = mnl_nlmsg_next(m, &left)) {
        size_t i = m->nlmsg_seq - first_seq;
        ++answered;
        if (i < todo.size())
          if (auto r = parse(m, names)) out[todo[i]] = *r;
      }
    }
  }
  return out;
}

namespace {

// One dump request of `type` for every family; `each` sees every answer.
template <class F>
void dump(mnl_socket* nl, uint16_t type, F&& each) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = uint32_t(time(nullptr));
  auto* gen = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtgenmsg)));
  gen->rtgen_family = AF_UNSPEC;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) throw Error(errno, "cannot ask rtnetlink");
  uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
  for (;;) {
    ssize_t got = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (got <= 0) throw Error(errno, "cannot read rtnetlink");
    int ret = mnl_cb_run(
        buf.data(), size_t(got), seq, portid,
        [](const nlmsghdr* m, void* data) -> int {
          (*static_cast<F*>(data))(m);
          return MNL_CB_OK;
        },
        &each);
    if (ret == MNL_CB_STOP) return;
    if (ret < 0) throw Error(errno, "cannot read rtnetlink");
  }
}

template <class F>
void each_attr(const nlmsghdr* m, size_t offset, F&& f) {
  mnl_attr_parse(
      m, unsigned(offset),
      [](const nlattr* a, void* data) -> int {
        (*static_cast<std::remove_reference_t<F>*>(data))(a);
        return MNL_CB_OK;
      },
      &f);
}

}  // namespace

std::vector<Interface> interfaces() {
  Socket nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) throw Error(errno, "cannot open rtnetlink");
  std::map<uint32_t, Interface> by_index;
  dump(nl.get(), RTM_GETLINK, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return;
    auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
    each_attr(m, sizeof(ifinfomsg), [&](const nlattr* a) {
      if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
        by_index[uint32_t(ifi->ifi_index)].name = mnl_attr_get_str(a);
    });
  });
  dump(nl.get(), RTM_GETADDR, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWADDR || m->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return;
    auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(m));
    if (ifa->ifa_scope != RT_SCOPE_UNIVERSE) return;
    auto it = by_index.find(ifa->ifa_index);
    if (it == by_index.end()) return;
    uint32_t flags = ifa->ifa_flags;
    std::optional<base::Addr> addr;
    each_attr(m, sizeof(ifaddrmsg), [&](const nlattr* a) {
      uint16_t type = mnl_attr_get_type(a);
      size_t len = mnl_attr_get_payload_len(a);
      auto* v = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
      if (type == IFA_FLAGS && len == 4) flags = mnl_attr_get_u32(a);
      // IFA_LOCAL is the address itself on point-to-point links.
      if ((type == IFA_LOCAL || (type == IFA_ADDRESS && !addr)) && (len == 4 || len == 16)) {
        base::Addr x;
        x.family = len == 4 ? base::Family::V4 : base::Family::V6;
        std::copy(v, v + len, x.bytes.begin());
        addr = x;
      }
    });
    if (addr) it->second.addresses.push_back({*addr, (flags & IFA_F_PERMANENT) != 0, ifa->ifa_prefixlen});
  });
  std::vector<Interface> out;
  for (auto& [index, i] : by_index)
    if (!i.name.empty()) out.push_back(std::move(i));
  return out;
}

}  // namespace natc::kernel
