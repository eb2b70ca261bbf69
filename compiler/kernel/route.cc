#include "kernel/route.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <ctime>
#include <memory>
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

}  // namespace natc::kernel
