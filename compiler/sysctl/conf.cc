#include "sysctl/conf.h"

#include "ir/lower.h"

namespace natc::sysctl {

std::string render_conf(const ir::Ir& ir) {
  std::string out =
      "# Written by natc from its spec; natc apply replaces this file and\n"
      "# natc destroy removes it. Edit the spec, not this file.\n";
  for (const ir::Sysctl& s : ir.sysctls) out += "\n# " + s.entry.name + "\n" + s.key + " = " + s.value + "\n";
  return out;
}

std::vector<std::string> relevant_keys() {
  std::vector<std::string> keys = {"net.ipv4.ip_forward",
                                   "net.ipv6.conf.all.forwarding",
                                   "net.netfilter.nf_conntrack_max",
                                   "net.netfilter.nf_conntrack_buckets",
                                   "net.netfilter.nf_conntrack_count",
                                   "net.netfilter.nf_conntrack_tcp_be_liberal"};
  for (std::string_view k : ir::timeout_keys()) keys.push_back("net.netfilter." + ir::timeout_sysctl(k));
  return keys;
}

std::map<std::string, std::string> managed_values(Store& s) {
  std::map<std::string, std::string> out;
  for (const auto& key : relevant_keys())
    if (key != "net.netfilter.nf_conntrack_count")
      if (auto v = s.value(key)) out[key] = *v;
  return out;
}

}  // namespace natc::sysctl
