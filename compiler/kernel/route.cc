#include "kernel/route.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <ctime>
#include <memory>
#include <vector>

namespace natc::kernel {

std::optional<RouteTo> route_to(const base::Addr& a) {
  std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)> nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return std::nullopt;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = uint32_t(time(nullptr));
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = a.family == base::Family::V4 ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = uint8_t(a.size() * 8);
  mnl_attr_put(nlh, RTA_DST, a.size(), a.bytes.data());
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) return std::nullopt;
  ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
  if (n <= 0) return std::nullopt;
  auto* reply = reinterpret_cast<nlmsghdr*>(buf.data());
  if (!mnl_nlmsg_ok(reply, int(n)) || reply->nlmsg_type != RTM_NEWROUTE) return std::nullopt;  // an error: no route
  auto* r = static_cast<rtmsg*>(mnl_nlmsg_get_payload(reply));
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
  char name[IF_NAMESIZE] = {};
  if (oif && if_indextoname(oif, name)) out.oif = name;
  return out;
}

}  // namespace natc::kernel
