#include "kernel/sockets.h"

#include <dirent.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>

#include "base/source.h"

namespace natc::kernel {
namespace {

constexpr uint32_t kTcpListen = 10;      // TCP_LISTEN
constexpr uint32_t kUdpUnconnected = 7;  // TCP_CLOSE: a UDP socket with no peer

struct SocketClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
struct DirClose {
  void operator()(DIR* d) const { closedir(d); }
};
using Dir = std::unique_ptr<DIR, DirClose>;

struct Found {
  uint8_t proto;
  std::vector<Listener>* out;
  std::map<uint32_t, size_t>* by_inode;
};

void ask(mnl_socket* nl, uint8_t family, uint8_t proto, uint32_t states, std::vector<Listener>& out,
         std::map<uint32_t, size_t>& by_inode) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = uint32_t(time(nullptr));
  auto* req = static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
  req->sdiag_family = family;
  req->sdiag_protocol = proto;
  req->idiag_states = 1u << states;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) throw Error(errno, std::string("sock_diag: ") + strerror(errno));
  Found found{proto, &out, &by_inode};
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) throw Error(errno, std::string("sock_diag: ") + strerror(errno));
    int ret = mnl_cb_run(
        buf.data(), size_t(n), 0, 0,
        [](const nlmsghdr* m, void* data) -> int {
          auto* f = static_cast<Found*>(data);
          if (mnl_nlmsg_get_payload_len(m) < sizeof(inet_diag_msg)) return MNL_CB_OK;
          auto* d = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(m));
          Listener l;
          l.proto = f->proto;
          bool v6 = d->idiag_family == AF_INET6;
          l.addr.family = v6 ? base::Family::V6 : base::Family::V4;
          std::memcpy(l.addr.bytes.data(), d->id.idiag_src, l.addr.size());
          l.any = l.addr == base::Addr{l.addr.family};
          l.port = ntohs(d->id.idiag_sport);
          l.v6only = !v6;
          // A dual-stack socket on :: takes IPv4 connections too.
          mnl_attr_parse(
              m, sizeof(inet_diag_msg),
              [](const nlattr* a, void* v) -> int {
                if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY && mnl_attr_get_payload_len(a) >= 1)
                  *static_cast<bool*>(v) = *static_cast<const uint8_t*>(mnl_attr_get_payload(a)) != 0;
                return MNL_CB_OK;
              },
              &l.v6only);
          (*f->by_inode)[d->idiag_inode] = f->out->size();
          f->out->push_back(l);
          return MNL_CB_OK;
        },
        &found);
    if (ret <= MNL_CB_STOP) {
      if (ret < 0) throw Error(errno, std::string("sock_diag: ") + strerror(errno));
      return;
    }
  }
}

// Which program holds each socket: /proc/PID/fd/N links to "socket:[INODE]".
// Only while some listener is unnamed: every process's fds are a few
// thousand syscalls on a busy machine.
void name_processes(std::vector<Listener>& out, const std::map<uint32_t, size_t>& by_inode) {
  if (by_inode.empty()) return;
  Dir proc(opendir("/proc"));
  if (!proc) return;
  size_t named = 0;
  while (dirent* p = readdir(proc.get())) {
    if (named == by_inode.size()) return;
    if (p->d_name[0] < '0' || p->d_name[0] > '9') continue;
    std::string base = std::string("/proc/") + p->d_name;
    Dir fds(opendir((base + "/fd").c_str()));
    if (!fds) continue;
    std::string comm;
    while (dirent* fd = readdir(fds.get())) {
      char link[64] = {};
      ssize_t n = readlink((base + "/fd/" + fd->d_name).c_str(), link, sizeof link - 1);
      if (n <= 0 || std::strncmp(link, "socket:[", 8) != 0) continue;
      auto it = by_inode.find(uint32_t(std::strtoul(link + 8, nullptr, 10)));
      if (it == by_inode.end()) continue;
      if (comm.empty() && base::read_file(base + "/comm", &comm))
        while (!comm.empty() && comm.back() == '\n') comm.pop_back();
      if (out[it->second].process.empty()) ++named;
      out[it->second].process = comm;
    }
  }
}

}  // namespace

std::vector<Listener> listening_sockets() {
  std::unique_ptr<mnl_socket, SocketClose> nl(mnl_socket_open(NETLINK_SOCK_DIAG));
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    throw Error(errno, std::string("cannot open a sock_diag socket: ") + strerror(errno));
  std::vector<Listener> out;
  std::map<uint32_t, size_t> by_inode;
  for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
    ask(nl.get(), family, IPPROTO_TCP, kTcpListen, out, by_inode);
    ask(nl.get(), family, IPPROTO_UDP, kUdpUnconnected, out, by_inode);
  }
  name_processes(out, by_inode);
  return out;
}

}  // namespace natc::kernel
