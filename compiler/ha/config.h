// A gateway pair's daemons, configured from the spec: keepalived moves the
// virtual addresses (VRRP), conntrackd replicates the flows (FTFW over UDP
// on the sync link). natc writes their configuration and drives them with
// their own commands; it never replicates anything itself.
#pragma once

#include <string>
#include <string_view>

#include "ir/ir.h"
#include "nft/model.h"

namespace natc::ha {

// Where the daemons' files are on this node. The defaults are where
// Debian's packages read them; a test gives each node its own.
struct Paths {
  // Included from keepalived.conf (`include /etc/keepalived/conf.d/*.conf`).
  std::string keepalived_conf = "/etc/keepalived/conf.d/natc.conf";
  std::string conntrackd_conf = "/etc/conntrackd/conntrackd.conf";
  std::string keepalived_pid = "/run/keepalived.pid";  // keepalived's parent process
  // conntrackd's lock, control socket and log, and the state notify records.
  std::string run_dir = "/run/natc";
  // What keepalived runs on a state change: this natc ("": /usr/bin/natc).
  std::string natc;
  // The peer's keepalived file, copied here, for validate --live to
  // compare the two nodes' specs ("": not compared).
  std::string peer_conf;
  std::string lock_file() const { return run_dir + "/conntrackd.lock"; }
  std::string socket() const { return run_dir + "/conntrackd.ctl"; }
  std::string state_file() const { return run_dir + "/vrrp-state"; }
};

// The first line of every file natc writes for the pair: a file without it
// is not natc's (Debian's sample conntrackd.conf, an operator's own).
inline constexpr std::string_view kHeader = "# natc: generated; natc apply rewrites this file, do not edit";
// keepalived's file names the pair's shared hash on a line of its own.
inline constexpr std::string_view kHashLine = "# natc-pair-hash: ";

// The hash of everything both nodes must agree on: the compiled ruleset,
// the sysctls, and the pair's settings but this node's priority and peer.
// `built`: the table nft::build(ir) made already, not built again.
std::string pair_hash(const ir::Ir& ir, const nft::Table* built = nullptr);

// keepalived: one VRRP instance per virtual address, all in one sync group
// so they move together, each state change running `natc ha notify`.
std::string keepalived_conf(const ir::Ha& ha, const Paths& p, std::string_view hash);
// conntrackd: FTFW to the peer over UDP on the sync interface.
std::string conntrackd_conf(const ir::Ir& ir, const Paths& p);

// What a natc-written keepalived file says of the pair: its hash, and
// the node's priority; nullopt values when it does not say.
struct Published {
  std::string hash;
  int priority = -1;
};
Published read_published(std::string_view keepalived_conf);

bool is_natc_file(std::string_view content);

}  // namespace natc::ha
