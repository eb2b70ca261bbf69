#!/usr/bin/python3
"""natc beside other rule owners: Docker's iptables rules (written by
Debian's iptables, i.e. iptables-nft, an independent writer) and plain nft
tables. natc's co-tenancy lints must name them, traffic must agree with
what they say, and natc must leave those tables exactly as they were.
Usage: cotenancy_test.py NATC   (exit 77: not root)"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import GATEWAY, Topology, main  # noqa: E402

NATC = None


# What dockerd (iptables: true) writes for one container publishing
# 8080 -> 172.17.0.2:80, in the order it writes it.
DOCKER_FILTER = """
-N DOCKER
-N DOCKER-USER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-ISOLATION-STAGE-2
-P FORWARD DROP
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
"""
DOCKER_NAT = """
-N DOCKER
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
"""


class Cotenancy(unittest.TestCase):
    def setUp(self):
        self.t = Topology()
        self.addCleanup(self.t.close)
        self.gw = self.t.ns["gw"]
        self.dir = tempfile.mkdtemp()
        self.sysctl_dir = os.path.join(self.dir, "sysctl.d")
        os.mkdir(self.sysctl_dir)
        self.t.serve("inet", 8000, "inet")
        self.t.serve("lan", 80, "lan")
        self.path = os.path.join(self.dir, "spec.yaml")
        with open(self.path, "w") as f:
            f.write(GATEWAY)

    def natc(self, *args):
        r = subprocess.run([NATC, *args, "--netns", self.gw, "--state-dir", os.path.join(self.dir, "state"),
                            "--lock", os.path.join(self.dir, "lock")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, f"natc {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
        return r

    def apply(self):
        subprocess.run([NATC, "apply", self.path, "--yes", "--netns", self.gw, "--sysctl-dir", self.sysctl_dir, "--state-dir", os.path.join(self.dir, "state"),
                        "--lock", os.path.join(self.dir, "lock")], check=True, capture_output=True)

    def warnings(self, code=None):
        """natc validate --live: the warning lines (with their help), by code."""
        out = self.natc("validate", self.path, "--live").stderr
        found = re.findall(r"warning\[(W\d+)\]: (.*)\n(?:.*\n)*?  = help: (.*)", out)
        return [(c, m, h) for c, m, h in found if code is None or c == code]

    def iptables(self, table, rules):
        for line in rules.strip().splitlines():
            self.t.run(self.gw, "iptables", "-t", table, *shlex.split(line))

    def nft(self, *args, input=None):
        return self.t.run(self.gw, "nft", *args, input=input).stdout

    def test_dockers_rules_are_named_by_table_chain_and_rule(self):
        self.iptables("filter", DOCKER_FILTER)
        self.iptables("nat", DOCKER_NAT)
        drops = self.warnings("W3011")
        self.assertIn(("table ip filter, chain FORWARD (policy drop) drops new connections of port forward 'web' "
                       "(tcp 8080 to 10.0.0.5:80)"), [m for _, m, _ in drops])
        self.assertIn(("table ip filter, chain FORWARD (policy drop) drops traffic leaving through wan of subnet "
                       "'office' (10.0.0.0/24)"), [m for _, m, _ in drops])
        handle = re.search(r"dport 8080 .*# handle (\d+)", self.nft("-a", "list", "chain", "ip", "nat", "DOCKER")).group(1)
        [(_, claim, _)] = self.warnings("W3012")
        self.assertEqual(claim, f"table ip nat, chain DOCKER, rule handle {handle} also translates tcp port 8080 of "
                                "port forward 'web': DNAT to 172.17.0.2:80; table ip nat chain PREROUTING runs at "
                                "priority -100 like natc's: the chain created first decides, so a reboot or a reload "
                                "can change which")
        # Docker's masquerade of 172.17.0.0/16 does not touch office.
        self.assertEqual(self.warnings("W3013"), [])
        # plan shows them too, before anything changes.
        plan = self.natc("plan", self.path).stderr
        self.assertIn("warning[W3011]", plan)
        self.assertIn("warning[W3012]", plan)

    def test_the_warning_and_the_traffic_agree_and_its_help_fixes_it(self):
        self.iptables("filter", DOCKER_FILTER)
        self.apply()
        # natc's own accepts are in place, yet Docker's FORWARD drops both ways.
        self.assertIsNone(self.t.fetch("inet", "http://203.0.113.1:8080/"))
        self.assertIsNone(self.t.fetch("lan", "http://203.0.113.2:8000/"))
        # Run exactly the commands natc suggests until it has nothing to say.
        for _ in range(4):
            drops = self.warnings("W3011")
            if not drops:
                break
            for _, _, help in drops:
                command = re.search(r"(iptables -I DOCKER-USER .*? -j ACCEPT)", help).group(1)
                self.t.run(self.gw, *shlex.split(command))
        self.assertEqual(self.warnings("W3011"), [])
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2:8000/"), "inet 203.0.113.1")

    def test_foreign_tables_are_identical_after_apply_and_destroy(self):
        self.iptables("filter", DOCKER_FILTER)
        self.iptables("nat", DOCKER_NAT)
        self.nft("-f", "-", input=FIREWALL)

        def state():
            saved = self.t.run(self.gw, "iptables-save").stdout
            return ([line for line in saved.splitlines() if not line.startswith("#")],
                    self.nft("-a", "list", "table", "ip", "filter"), self.nft("-a", "list", "table", "ip", "nat"),
                    self.nft("-a", "list", "table", "inet", "fw"))
        before = state()
        self.apply()
        self.natc("validate", self.path, "--live")
        self.assertEqual(state(), before)
        subprocess.run([NATC, "destroy", "--yes", "--netns", self.gw, "--sysctl-dir", self.sysctl_dir, "--state-dir", os.path.join(self.dir, "state"),
                        "--lock", os.path.join(self.dir, "lock")], check=True, capture_output=True)
        self.assertEqual(state(), before)

    def test_a_nat_chain_before_natcs_decides_and_natc_says_so(self):
        self.nft("-f", "-", input="""
table ip early {
  chain pre {
    type nat hook prerouting priority -150;
    tcp dport 8080 redirect to :3128
  }
  chain post {
    type nat hook postrouting priority 50;
    ip saddr 10.0.0.0/24 oifname "eth0" snat to 203.0.113.77
  }
}
""")
        self.t.run(self.gw, "ip", "addr", "add", "203.0.113.77/24", "dev", "eth0")
        self.t.serve("gw", 3128, "proxy")
        self.apply()
        [(_, claim, _)] = self.warnings("W3012")
        self.assertIn("redirect to :3128; table ip early chain pre runs at priority -150, before natc's -100: it "
                      "decides, natc's rule never applies", claim)
        [(_, snat, _)] = self.warnings("W3013")
        self.assertIn("translates subnet 'office' (10.0.0.0/24) differently: SNAT to 203.0.113.77, natc: masquerade; "
                      "table ip early chain post runs at priority 50, before natc's 100", snat)
        # And so it is: the proxy answers, and the internet sees .77.
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "proxy 203.0.113.2")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2:8000/"), "inet 203.0.113.77")

    def test_what_natc_cannot_read_is_reported_as_unknown(self):
        # iptables-nft writes -m recent as an xt match: a blob natc cannot read.
        self.t.run(self.gw, "iptables", "-A", "FORWARD", "-m", "recent", "--rcheck", "--name", "bad", "-j", "DROP")
        self.nft("-f", "-", input="""
table inet odd {
  chain f {
    type filter hook forward priority 5; policy accept;
    limit rate over 1000/second drop
    meta mark 0x2a counter
    ip6 nexthdr ipv6-icmp accept
  }
}
""")
        messages = [m for _, m, _ in self.warnings("W3011")]
        handle = re.search(r"recent.*# handle (\d+)", self.nft("-a", "list", "chain", "ip", "filter", "FORWARD")).group(1)
        self.assertIn(f"table ip filter, chain FORWARD, rule handle {handle} may drop new connections of port forward "
                      "'web' (tcp 8080 to 10.0.0.5:80), depending on xt match 'recent' (natc cannot tell)", messages)
        self.assertTrue(any("chain f, rule handle" in m and "depending on expression 'limit'" in m for m in messages),
                        messages)

    def test_a_firewall_with_sets_and_verdict_maps_is_followed(self):
        self.nft("-f", "-", input=FIREWALL)
        self.assertEqual(self.warnings("W3011"), [])
        self.nft("delete", "element", "inet", "fw", "allowed", "{ 10.0.0.5 . 80 }")
        [(_, message, help)] = self.warnings("W3011")
        self.assertEqual(message, "table inet fw, chain forwarding (policy drop) drops new connections of port "
                                  "forward 'web' (tcp 8080 to 10.0.0.5:80)")
        # The suggested nft rule is valid and lets it through.
        self.apply()
        self.assertIsNone(self.t.fetch("inet", "http://203.0.113.1:8080/"))
        self.t.run(self.gw, *shlex.split(re.search(r"(nft insert rule .*? accept)", help).group(1)))
        self.assertEqual(self.warnings("W3011"), [])
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")


# A firewalld-like table: named and interval sets, a verdict map by
# interface, per-zone chains.
FIREWALL = """
table inet fw {
  set allowed { type ipv4_addr . inet_service; elements = { 10.0.0.5 . 80 } }
  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/24, 192.168.0.0/16 } }
  chain forwarding {
    type filter hook forward priority 10; policy drop;
    ct state established,related accept
    iifname vmap { "eth0" : jump from_wan, "eth1" : jump from_lan }
  }
  chain from_wan {
    ip daddr . tcp dport @allowed accept
  }
  chain from_lan {
    ip saddr @nets oifname "eth0" accept
  }
}
"""

if __name__ == "__main__":
    main(globals())
