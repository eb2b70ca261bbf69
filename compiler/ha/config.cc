#include "ha/config.h"

#include <charconv>
#include <cstdio>

#include "base/binary.h"
#include "nft/build.h"
#include "nft/render.h"
#include "sysctl/conf.h"

namespace natc::ha {
namespace {

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string instance_name(const ir::Vip& v) { return "natc_" + std::to_string(v.vrid); }

// "0.2" for 200 ms: keepalived reads the advert interval in seconds.
std::string seconds(uint32_t ms) {
  std::string out = std::to_string(ms / 1000);
  if (ms % 1000) {
    char frac[8];
    std::snprintf(frac, sizeof frac, "%03u", ms % 1000);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

std::string notify(const Paths& p, std::string_view state) {
  return "\"" + (p.natc.empty() ? std::string("/usr/bin/natc") : p.natc) + " ha notify " + std::string(state) +
         " --conntrackd-conf " + p.conntrackd_conf + " --ha-dir " + p.run_dir + "\"";
}

}  // namespace

std::string pair_hash(const ir::Ir& ir, const nft::Table* built) {
  std::string shared = (built ? nft::render_text(*built) : nft::render_text(nft::build(ir))) + sysctl::render_conf(ir);
  if (ir.ha) {
    const ir::Ha& h = *ir.ha;
    shared += "sync " + h.sync.name + " advert " + std::to_string(h.advert_ms) + " state_sync " +
              std::to_string(h.state_sync) + " strict_tcp " + std::to_string(h.strict_tcp) + "\n";
    for (const ir::Vip& v : h.vips)
      shared += "vip " + v.iface.name + " " + base::to_string(v.addr) + "/" + std::to_string(v.len) + " " +
                std::to_string(v.vrid) + "\n";
  }
  return hex(base::checksum64(shared));
}

std::string keepalived_conf(const ir::Ha& ha, const Paths& p, std::string_view hash) {
  std::string out = std::string(kHeader) + "\n" + std::string(kHashLine) + std::string(hash) + "\n";
  out += "# natc-priority: " + std::to_string(ha.priority) + "\n\n";
  out += "vrrp_sync_group natc {\n  group {\n";
  for (const ir::Vip& v : ha.vips) out += "    " + instance_name(v) + "\n";
  out += "  }\n";
  out += "  notify_master " + notify(p, "primary") + "\n";
  out += "  notify_backup " + notify(p, "backup") + "\n";
  out += "  notify_fault " + notify(p, "fault") + "\n";
  out += "}\n";
  for (const ir::Vip& v : ha.vips) {
    // Both nodes start as backups: the higher priority wins the election
    // and takes the addresses back when it returns (preemption).
    out += "\nvrrp_instance " + instance_name(v) + " {\n";
    out += "  state BACKUP\n";
    out += "  interface " + v.iface.name + "\n";
    out += "  virtual_router_id " + std::to_string(v.vrid) + "\n";
    out += "  version 3\n";  // sub-second adverts
    out += "  priority " + std::to_string(ha.priority) + "\n";
    out += "  advert_int " + seconds(ha.advert_ms) + "\n";
    out += "  virtual_ipaddress {\n    " + base::to_string(v.addr) + "/" + std::to_string(v.len) + " dev " +
           v.iface.name + "\n  }\n";
    out += "}\n";
  }
  return out;
}

std::string conntrackd_conf(const ir::Ir& ir, const Paths& p) {
  const ir::Ha& ha = *ir.ha;
  bool v4 = ha.peer.family == base::Family::V4;
  // The hash table holds every flow of the pair: room for the kernel's
  // own limit, twice over.
  uint64_t limit = 131072;
  for (const ir::Sysctl& s : ir.sysctls)
    if (s.key == "net.netfilter.nf_conntrack_max") {
      uint64_t max = 0;
      std::from_chars(s.value.data(), s.value.data() + s.value.size(), max);
      limit = std::max(limit, 2 * max);
    }
  std::string out = std::string(kHeader) + "\n";
  out += "Sync {\n";
  // The backup keeps the primary's flows in its external cache; the notify
  // commits them into the kernel when it becomes primary.
  out += "  Mode FTFW {\n    DisableExternalCache Off\n    ResendQueueSize 131072\n  }\n";
  out += "  UDP {\n";
  out += std::string("    ") + (v4 ? "IPv4_Destination_Address " : "IPv6_Destination_Address ") +
         base::to_string(ha.peer) + "\n";
  out += "    Port 3780\n    Interface " + ha.sync.name + "\n    Checksum on\n  }\n";
  out += "}\n";
  out += "General {\n";
  out += "  HashSize 32768\n  HashLimit " + std::to_string(limit) + "\n";
  out += "  LogFile " + p.run_dir + "/conntrackd.log\n  Syslog off\n";
  out += "  LockFile " + p.lock_file() + "\n";
  out += "  UNIX {\n    Path " + p.socket() + "\n  }\n";
  out += "  NetlinkBufferSize 2097152\n  NetlinkBufferSizeMaxGrowth 8388608\n";
  out += "  Filter From Userspace {\n    Protocol Accept {\n      TCP\n      UDP\n    }\n";
  out += "    Address Ignore {\n      IPv4_address 127.0.0.1\n      IPv6_address ::1\n    }\n  }\n";
  out += "}\n";
  return out;
}

bool is_natc_file(std::string_view content) { return content.starts_with(kHeader); }

Published read_published(std::string_view text) {
  Published out;
  if (!is_natc_file(text)) return out;
  auto line_after = [&](std::string_view key) -> std::string_view {
    size_t at = text.find(key);
    if (at == std::string_view::npos) return {};
    std::string_view rest = text.substr(at + key.size());
    return rest.substr(0, std::min(rest.find('\n'), size_t(64)));
  };
  std::string_view hash = line_after(kHashLine);
  if (hash.size() == 16 && hash.find_first_not_of("0123456789abcdef") == std::string_view::npos) out.hash = hash;
  std::string_view prio = line_after("# natc-priority: ");
  int v = -1;
  auto [end, ec] = std::from_chars(prio.data(), prio.data() + prio.size(), v);
  if (ec == std::errc() && end == prio.data() + prio.size() && v >= 1 && v <= 254) out.priority = v;
  return out;
}

}  // namespace natc::ha
