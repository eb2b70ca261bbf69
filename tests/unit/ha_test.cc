// A gateway pair: the spec's `ha:` section, what it changes in the ruleset,
// its checks, the daemons' files and natc ha notify, against a fake host.
#include <doctest/doctest.h>

#include <map>

#include "ha/config.h"
#include "ha/files.h"
#include "helpers.h"
#include "nft/build.h"
#include "nft/render.h"

using namespace natc;
using test::front;

namespace {

std::string pair_spec(const std::string& ha_extra = "", int priority = 150, const std::string& peer = "192.168.100.2",
                      const std::string& more = "") {
  return "version: 1\n"
         "interfaces: {wan: eth0, lan: eth1, sync: eth2}\n"
         "subnets:\n"
         "  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}\n"
         "port_forwards:\n"
         "  - {name: web, ingress: wan, protocol: tcp, port: 443, to: 10.0.0.10, destination: 203.0.113.50}\n" +
         more +
         "ha:\n"
         "  peer: " +
         peer +
         "\n"
         "  sync_interface: sync\n"
         "  priority: " +
         std::to_string(priority) +
         "\n"
         "  advert_interval: 200ms\n"
         "  virtual_addresses:\n"
         "    - {interface: wan, address: 203.0.113.50/24, vrid: 50}\n"
         "    - {interface: lan, address: 10.0.0.1/24, vrid: 51}\n" +
         ha_extra;
}

class FakeHost : public ha::Host {
 public:
  ha::Paths p{"/etc/k.conf", "/etc/c.conf", "/run/k.pid", "/run/natc", "/usr/bin/natc", ""};
  std::map<std::string, std::string> files;
  bool keepalived = true, conntrackd_up = true;
  std::vector<std::string> reloads, commands;
  std::string recorded;

  const ha::Paths& paths() const override { return p; }
  std::optional<std::string> read(const std::string& path) override {
    auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional(it->second);
  }
  void write(const std::string& path, const std::string& content) override { files[path] = content; }
  bool remove(const std::string& path) override { return files.erase(path) > 0; }
  bool installed(ha::Daemon) override { return true; }
  bool running(ha::Daemon d) override { return d == ha::Daemon::Keepalived ? keepalived : conntrackd_up; }
  bool reload(ha::Daemon d) override {
    reloads.emplace_back(ha::daemon_name(d));
    return running(d);
  }
  ha::Run conntrackd(const std::vector<std::string>& args) override {
    commands.push_back(args.at(0));
    return {conntrackd_up ? 0 : 1, ""};
  }
  void record_state(const std::string& state) override { recorded = state; }
  void pause_ms(int) override {}
  void make_run_dir() override {}
};

}  // namespace

TEST_CASE("a pair's spec reads and lowers: masquerade becomes SNAT to the virtual address") {
  auto r = front(pair_spec());
  REQUIRE(r.codes() == "");
  REQUIRE(r.ir.ha);
  CHECK(r.ir.ha->advert_ms == 200);
  CHECK(r.ir.ha->vips.size() == 2);
  CHECK(r.ir.ha->sync.name == "eth2");
  REQUIRE(r.ir.subnets.size() == 1);
  CHECK(r.ir.subnets[0].snat == ir::SnatKind::To);
  CHECK(base::to_string(r.ir.subnets[0].to) == "203.0.113.50");
  std::string nft = nft::render_text(nft::build(r.ir));
  CHECK(nft.find("tcp flags & (fin|syn|rst|ack) != syn drop") != std::string::npos);
  CHECK(nft.find("ct state invalid drop") != std::string::npos);
  CHECK(nft.find("masquerade") == std::string::npos);
  bool liberal = false;
  for (const auto& s : r.ir.sysctls) liberal = liberal || (s.key == "net.netfilter.nf_conntrack_tcp_be_liberal");
  CHECK(liberal);
}

TEST_CASE("without state sync or strict TCP, neither the sysctl nor the rules are there, and it warns") {
  auto r = front(pair_spec("  state_sync: false\n  strict_tcp: false\n"));
  CHECK(r.codes() == "W3021");
  std::string nft = nft::render_text(nft::build(r.ir));
  CHECK(nft.find("tcp flags") == std::string::npos);
  for (const auto& s : r.ir.sysctls) CHECK(s.key != "net.netfilter.nf_conntrack_tcp_be_liberal");
  FakeHost host;
  auto p = ha::plan(r.ir, &host, host.paths());
  REQUIRE(p.files.size() == 1);  // keepalived's only
  CHECK(p.files[0].daemon == ha::Daemon::Keepalived);
}

TEST_CASE("the pair's values are read strictly, each error at its line") {
  CHECK(front(pair_spec("", 0)).codes() == "E1014");
  CHECK(front(pair_spec("", 255)).codes() == "E1014");
  auto bad = [](const std::string& from, const std::string& to) {
    std::string s = pair_spec();
    s.replace(s.find(from), from.size(), to);
    return front(s).codes();
  };
  CHECK(bad("advert_interval: 200ms", "advert_interval: 205ms") == "E1014");
  CHECK(bad("advert_interval: 200ms", "advert_interval: 1.5s") == "W3020");
  CHECK(bad("advert_interval: 200ms", "advert_interval: fast") == "E1014");
  CHECK(bad("address: 203.0.113.50/24", "address: 203.0.113.50") == "E1010");
  CHECK(bad("address: 203.0.113.50/24", "address: 203.0.113.50/33") == "E1010");
  CHECK(bad("  virtual_addresses:\n    - {interface: wan, address: 203.0.113.50/24, vrid: 50}\n"
            "    - {interface: lan, address: 10.0.0.1/24, vrid: 51}\n",
            "  virtual_addresses: []\n") == "E1014");
  CHECK(bad("peer: 192.168.100.2", "peer: gwb") == "E1010");
  CHECK(bad("vrid: 51", "vrid: 50") == "E2014");
  CHECK(bad("address: 10.0.0.1/24", "address: 10.0.0.255/24") == "E2015");
  CHECK(bad("address: 10.0.0.1/24", "address: 10.0.0.0/24") == "E2015");
  CHECK(bad("destination: 203.0.113.50", "destination: 203.0.113.2") == "E2016");
  CHECK(bad("egress: wan", "egress: sync") == "E2017");
  CHECK(bad("{interface: lan, address: 10.0.0.1/24", "{interface: sync, address: 10.0.0.1/24") == "E2017");
  CHECK(bad("  sync_interface: sync\n", "") == "E1007");
  // Names go into the daemons' files: a wildcard or anything but a name is refused.
  CHECK(bad("sync_interface: sync", "sync_interface: \"eth2\\n}\"") == "E2006");
  CHECK(bad("{interface: lan,", "{interface: \"eth*\",") == "E2006");
  CHECK(bad("sync: eth2}", "sync: \"eth*\"}") == "E2006");
}

TEST_CASE("a masquerade on an egress without a virtual address warns that its flows die in a failover") {
  auto r = front(pair_spec("", 150, "192.168.100.2",
                           "redirects: []\n"
                           "static_nat: []\n") +
                 "");
  CHECK(r.codes() == "");
  std::string s = pair_spec();
  s.replace(s.find("  - {name: office"), 0, "  - {name: guests, cidr: 10.9.0.0/24, egress: eth3, snat: masquerade}\n");
  CHECK(front(s).codes() == "W3019");
}

TEST_CASE("the two nodes' files differ in priority and peer only, and their pair hash is one") {
  auto a = front(pair_spec("", 150, "192.168.100.2")), b = front(pair_spec("", 100, "192.168.100.1"));
  REQUIRE(a.codes() == "");
  REQUIRE(b.codes() == "");
  CHECK(ha::pair_hash(a.ir) == ha::pair_hash(b.ir));
  auto changed = front(pair_spec(
      "", 150, "192.168.100.2", "redirects:\n  - {name: dns, ingress: lan, protocol: udp, port: 53, to_port: 5353}\n"));
  CHECK(ha::pair_hash(changed.ir) != ha::pair_hash(a.ir));

  ha::Paths p;
  std::string k = ha::keepalived_conf(*a.ir.ha, p, ha::pair_hash(a.ir));
  CHECK(k.starts_with(ha::kHeader));
  CHECK(k.find("vrrp_instance natc_50 {") != std::string::npos);
  CHECK(k.find("virtual_router_id 51") != std::string::npos);
  CHECK(k.find("advert_int 0.2\n") != std::string::npos);
  CHECK(k.find("priority 150") != std::string::npos);
  CHECK(k.find("203.0.113.50/24 dev eth0") != std::string::npos);
  CHECK(k.find("notify_master \"/usr/bin/natc ha notify primary --conntrackd-conf /etc/conntrackd/conntrackd.conf "
               "--ha-dir /run/natc\"") != std::string::npos);
  auto published = ha::read_published(k);
  CHECK(published.hash == ha::pair_hash(a.ir));
  CHECK(published.priority == 150);
  CHECK(ha::read_published("vrrp_instance x {}\n").hash.empty());
  CHECK(ha::read_published(std::string(ha::kHeader) + "\n# natc-pair-hash: ../../etc\n").hash.empty());

  std::string c = ha::conntrackd_conf(a.ir, p);
  CHECK(c.find("IPv4_Destination_Address 192.168.100.2") != std::string::npos);
  CHECK(c.find("Interface eth2") != std::string::npos);
  CHECK(c.find("Path /run/natc/conntrackd.ctl") != std::string::npos);
  CHECK(c.find("DisableExternalCache Off") != std::string::npos);
}

TEST_CASE("the daemons' files are written when they change, and a daemon reloads only for what it reads") {
  auto a = front(pair_spec());
  FakeHost host;
  auto first = ha::plan(a.ir, &host, host.paths());
  REQUIRE(first.files.size() == 2);
  CHECK_FALSE(first.files[0].old);
  auto notes = ha::apply(first, host);
  CHECK(host.reloads == std::vector<std::string>{"keepalived", "conntrackd"});
  // A restarted conntrackd that is not the primary's asks the primary for its flows.
  CHECK(host.commands == std::vector<std::string>{"-n"});
  CHECK(notes.back() == "conntrackd restarted; asked the peer for its flows");
  CHECK(ha::plan(a.ir, &host, host.paths()).empty());

  // Another forward moves the pair hash, a comment: rewritten, no reload.
  host.reloads.clear();
  auto changed = front(pair_spec(
      "", 150, "192.168.100.2", "redirects:\n  - {name: dns, ingress: lan, protocol: udp, port: 53, to_port: 5353}\n"));
  auto second = ha::plan(changed.ir, &host, host.paths());
  REQUIRE(second.files.size() == 1);
  ha::apply(second, host);
  CHECK(host.reloads.empty());

  // A faster advert is a change keepalived reads.
  std::string s = pair_spec();
  s.replace(s.find("200ms"), 5, "100ms");
  ha::apply(ha::plan(front(s).ir, &host, host.paths()), host);
  CHECK(host.reloads == std::vector<std::string>{"keepalived"});

  // Without `ha:`, natc's files go; conntrackd is stopped first.
  host.commands.clear();
  auto gone =
      ha::plan(front("version: 1\nsubnets: [{name: a, cidr: 10.0.0.0/24, egress: eth0}]\n").ir, &host, host.paths());
  REQUIRE(gone.files.size() == 2);
  CHECK(gone.files[0].remove);
  ha::apply(gone, host);
  CHECK(host.files.empty());
  CHECK(host.commands == std::vector<std::string>{"-k"});
}

TEST_CASE("a daemon's file that is not natc's is replaced when the spec asks, never removed") {
  FakeHost host;
  host.files["/etc/c.conf"] = "Sync { Mode FTFW {} }\n";
  auto none =
      ha::plan(front("version: 1\nsubnets: [{name: a, cidr: 10.0.0.0/24, egress: eth0}]\n").ir, &host, host.paths());
  CHECK(none.empty());
  auto p = ha::plan(front(pair_spec()).ir, &host, host.paths());
  REQUIRE(p.files.size() == 2);
  REQUIRE(p.files[1].old);
  CHECK_FALSE(ha::is_natc_file(*p.files[1].old));
}

TEST_CASE("notify drives conntrackd as the primary-backup script does, and is idempotent") {
  FakeHost host;
  ha::apply(ha::plan(front(pair_spec()).ir, &host, host.paths()), host);
  host.commands.clear();
  bool ok = false;
  ha::notify("primary", host, &ok);
  CHECK(ok);
  CHECK(host.recorded == "primary");
  CHECK(host.commands == std::vector<std::string>{"-c", "-f", "-R", "-B"});
  host.commands.clear();
  ha::notify("primary", host, &ok);
  CHECK(host.commands == std::vector<std::string>{"-c", "-f", "-R", "-B"});
  host.commands.clear();
  ha::notify("backup", host, &ok);
  CHECK(host.commands == std::vector<std::string>{"-t", "-n"});
  host.conntrackd_up = false;
  auto lines = ha::notify("fault", host, &ok);
  CHECK_FALSE(ok);
  CHECK(host.recorded == "fault");
  CHECK_THROWS_AS(ha::notify("master", host, &ok), ha::Error);

  FakeHost bare;  // no state sync: conntrackd is left alone
  ha::notify("primary", bare, &ok);
  CHECK(ok);
  CHECK(bare.commands.empty());
}

TEST_CASE("conntrackd's statistics are read, and anything else is not") {
  std::string s =
      "cache internal:\ncurrent active connections:\t          12\nconnections created:\t\t 3\tfailed:\t 0\n\n"
      "cache external:\ncurrent active connections:\t           7\n\n"
      "UDP traffic (active device=eth2):\n                   8 Bytes sent                    0 Bytes recv\n"
      "                   41 Pckts sent                    39 Pckts recv\n"
      "                   1 Error send                    2 Error recv\n\n"
      "message tracking:\n                   0 Malformed msgs                    5 Lost msgs\n";
  auto st = ha::parse_stats(s);
  REQUIRE(st);
  CHECK(st->internal == 12);
  CHECK(st->external == 7);
  CHECK(st->sent == 41);
  CHECK(st->received == 39);
  CHECK(st->send_errors == 1);
  CHECK(st->receive_errors == 2);
  CHECK(st->lost == 5);
  CHECK_FALSE(ha::parse_stats("Error: can't connect\n"));
  CHECK_FALSE(ha::parse_stats(std::string(100000, 'x')));
  CHECK(ha::parse_recorded("primary 1700000000000\n")->state == "primary");
  CHECK_FALSE(ha::parse_recorded("master 12\n"));
  CHECK_FALSE(ha::parse_recorded(""));
}
