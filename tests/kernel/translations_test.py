#!/usr/bin/python3
"""1:1 NAT, prefix maps and NPTv6 (issue 17), judged by real traffic
between namespaces: what address each far end saw, and conntrack's
table for the stateless translation. Usage: translations_test.py NATC
(exit 77: not root)"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from operator_test import GatewayCase  # noqa: E402
from topology import GATEWAY, main  # noqa: E402

NATC = None

class Case(GatewayCase):
    def setUp(self):
        import operator_test
        operator_test.NATC = NATC
        super().setUp()

    def serve(self, host, port, tag):
        self.t.serve(host, port, tag)  # both families

    def gw(self, *argv):
        return self.t.run(self.t.ns["gw"], *argv)


class StaticNat(Case):
    """static_nat: every port of the public address reaches the private
    host, whose own connections leave from the public address (not the
    subnet's masquerade); a /28 maps host .5 to .69 and back."""

    def setUp(self):
        super().setUp()
        self.serve("lan", 80, "lan")
        self.serve("lan", 8443, "lan8443")
        self.serve("inet", 80, "inet")

    def test_one_host_every_port_both_ways(self):
        self.gw("ip", "addr", "add", "203.0.113.70/32", "dev", "eth0")
        self.apply(GATEWAY + "static_nat:\n  - {name: mail, public: 203.0.113.70, private: 10.0.0.5, "
                   "interface: wan, hairpin: true}\n")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.70/"), "lan 203.0.113.2")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.70:8443/"), "lan8443 203.0.113.2")
        # Out: the public address, not the office's masquerade (203.0.113.1).
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2/"), "inet 203.0.113.70")
        # The port forward on the gateway's own address still works.
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")
        # Hairpin: the LAN reaches the public address, answered through the gateway.
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.70/"), "lan 10.0.0.1")
        # The kernel reads back as the spec: nothing to do.
        r = self.natc("plan", self.spec(GATEWAY + "static_nat:\n  - {name: mail, public: 203.0.113.70, "
                                        "private: 10.0.0.5, interface: wan, hairpin: true}\n"))
        self.assertIn("No changes", r.stdout + r.stderr)
        # Counted against the entry in status.
        status = json.loads(self.natc("status", "--format", "json").stdout)
        mail = [c for c in status["static_nat"] if c["entry"] == "mail"]
        self.assertTrue(mail and mail[0]["packets"] > 0, status)

    def test_prefix_map_host_by_host(self):
        self.gw("ip", "addr", "add", "203.0.113.69/32", "dev", "eth0")
        self.apply(GATEWAY + "static_nat:\n  - {name: lab, public: 203.0.113.64/28, private: 10.0.0.0/28, "
                   "interface: wan}\n")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.69/"), "lan 203.0.113.2")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2/"), "inet 203.0.113.69")

    def test_without_it_the_host_is_masqueraded(self):
        """The same topology without static_nat: the test can fail."""
        self.gw("ip", "addr", "add", "203.0.113.70/32", "dev", "eth0")
        self.apply(GATEWAY)
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2/"), "inet 203.0.113.1")
        self.assertIsNone(self.t.fetch("inet", "http://203.0.113.70:8443/", timeout=1))

    def test_moving_the_private_host_resets_its_flows(self):
        self.gw("ip", "addr", "add", "203.0.113.70/32", "dev", "eth0")
        spec = GATEWAY + "static_nat:\n  - {name: mail, public: 203.0.113.70, private: %s, interface: wan}\n"
        self.apply(spec % "10.0.0.5")
        self.t.serve_lines("lan", 7000, "held")
        flow = self.t.connect("inet", "203.0.113.70", 7000)
        self.assertEqual(flow.say("hi"), "held hi")
        listed = json.loads(self.natc("flows", "mail", "--format", "json").stdout)["flows"]
        self.assertEqual([(f["entry"], f["kind"]) for f in listed], [("mail", "dnat")])
        plan = self.natc("plan", self.spec(spec % "10.0.0.6"))
        self.assertIn("1 flow will be reset", plan.stdout)  # the plan says so first
        self.apply(spec % "10.0.0.6")
        held = self.gw("conntrack", "-L", "-p", "tcp", "--dport", "7000").stdout
        self.assertNotIn("src=10.0.0.5", held)

    def test_address_not_on_the_interface_warns(self):
        r = self.natc("validate", "--live", self.spec(GATEWAY + "static_nat:\n  - {name: mail, public: 203.0.113.70, "
                                                      "private: 10.0.0.5, interface: wan}\n"))
        self.assertIn("W3016", r.stdout + r.stderr)


class Nptv6(Case):
    """nptv6: the inside prefix leaves as the outside one and comes back,
    host bits kept, TCP intact both ways, and no conntrack entry."""

    def setUp(self):
        super().setUp()
        ns = self.t.ns
        for host, dev, addr in (("gw", "eth0", "2001:db8:ffff::1/64"), ("gw", "eth1", "fd00:10::1/64"),
                                ("inet", "eth0", "2001:db8:ffff::2/64"), ("lan", "eth0", "fd00:10::5/64")):
            self.t.run(ns[host], "ip", "addr", "add", addr, "dev", dev, "nodad")
        self.t.run(ns["inet"], "ip", "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:ffff::1")
        self.t.run(ns["lan"], "ip", "-6", "route", "add", "default", "via", "fd00:10::1")
        # Neighbour discovery needs the link-local addresses, which are
        # tentative for a second after the links come up.
        for _ in range(100):
            if not any(self.t.run(ns[h], "ip", "-6", "addr", "show", "tentative").stdout for h in ("gw", "inet", "lan")):
                break
            time.sleep(0.05)
        self.serve("lan", 80, "lan")
        self.serve("inet", 80, "inet")

    NPT = GATEWAY + ("nptv6:\n  - {name: site, inside: fd00:10::/64, outside: 2001:db8:1::/64, "
                     "interface: wan}\n")

    def test_both_ways_stateless(self):
        self.apply(self.NPT)
        self.assertEqual(self.t.fetch("lan", "http://[2001:db8:ffff::2]/"), "inet 2001:db8:1::5")
        self.assertEqual(self.t.fetch("inet", "http://[2001:db8:1::5]/"), "lan 2001:db8:ffff::2")
        listed = self.t.run(self.t.ns["gw"], "conntrack", "-L", "-f", "ipv6", check=False)
        self.assertNotIn("fd00:10::5", listed.stdout)
        self.assertNotIn("2001:db8:1::5", listed.stdout)
        r = self.natc("plan", self.spec(self.NPT))
        self.assertIn("No changes", r.stdout + r.stderr)
        status = json.loads(self.natc("status", "--format", "json").stdout)
        site = [c for c in status["nptv6"] if c["entry"] == "site"]
        self.assertTrue(site and site[0]["packets"] > 0, status)

    def test_without_it_nothing_is_translated(self):
        self.apply(GATEWAY)
        self.assertIsNone(self.t.fetch("inet", "http://[2001:db8:1::5]/", timeout=1))


# A minimal FTP server: USER, PASS, TYPE, PASV, PORT, RETR (one file), QUIT.
FTP_SERVER = r"""
import socket, sys, threading
DATA = b"natc-ftp-payload\n" * 64
def serve(c):
    f = c.makefile("rb")
    say = lambda line: c.sendall(line.encode() + b"\r\n")
    say("220 natc test")
    pasv = port = None
    for raw in f:
        cmd, _, arg = raw.decode().strip().partition(" ")
        cmd = cmd.upper()
        if cmd in ("USER", "PASS", "TYPE"):
            say("331 ok" if cmd == "USER" else "230 ok" if cmd == "PASS" else "200 ok")
        elif cmd == "PASV":
            pasv = socket.socket()
            pasv.bind((c.getsockname()[0], 0))
            pasv.listen(1)
            h, p = pasv.getsockname()
            say("227 Entering Passive Mode (%s,%d,%d)" % (h.replace(".", ","), p >> 8, p & 255))
        elif cmd == "PORT":
            n = [int(x) for x in arg.split(",")]
            port = (".".join(map(str, n[:4])), n[4] * 256 + n[5])
            say("200 ok")
        elif cmd == "RETR":
            say("150 sending")
            try:
                if pasv:
                    pasv.settimeout(3)
                    d, _ = pasv.accept()
                else:
                    d = socket.create_connection(port, timeout=3)
                d.sendall(DATA)
                d.close()
                say("226 done")
            except OSError:
                say("425 no data connection")
        elif cmd == "QUIT":
            say("221 bye")
            return
        else:
            say("502 no")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 21))
s.listen(8)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# Fetches the file; prints its size, or the error.
FTP_CLIENT = r"""
import ftplib, sys
try:
    f = ftplib.FTP(timeout=4)
    f.connect(sys.argv[1], 21)
    f.login("anonymous", "x")
    f.set_pasv(sys.argv[2] == "passive")
    got = []
    f.retrbinary("RETR file", got.append)
    print(sum(map(len, got)))
except Exception as e:
    print("failed:", e)
"""


class Helpers(Case):
    """helpers: FTP through NAT both ways: a client outside reaches the
    server inside through a port forward (passive mode: the server's
    PASV address is rewritten and its data port expected), and a client
    inside reaches a server outside through masquerade (active mode: its
    PORT address is rewritten and the server's connection back expected).
    Without the helper entry both data connections fail."""

    SIZE = str(len(b"natc-ftp-payload\n") * 64)
    SPEC = GATEWAY + "  - {name: ftp, ingress: wan, protocol: tcp, port: 21, to: 10.0.0.5}\n"
    HELPER = "helpers:\n  - {name: ftp, protocol: tcp, port: 21}\n"

    def setUp(self):
        super().setUp()
        for host in ("lan", "inet"):
            p = subprocess.Popen(["ip", "netns", "exec", self.t.ns[host], sys.executable, "-c", FTP_SERVER],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.t.procs.append(p)
            self.t.wait_listening(host, 21)

    def fetch(self, host, server, mode):
        return self.t.run(self.t.ns[host], sys.executable, "-c", FTP_CLIENT, server, mode).stdout.strip()

    def test_ftp_both_ways_with_the_helper(self):
        self.apply(self.SPEC + self.HELPER)
        self.assertEqual(self.fetch("inet", "203.0.113.1", "passive"), self.SIZE)
        self.assertEqual(self.fetch("lan", "203.0.113.2", "active"), self.SIZE)
        r = self.natc("plan", self.spec(self.SPEC + self.HELPER))
        self.assertIn("No changes", r.stdout + r.stderr)

    def test_without_the_helper_the_data_connections_fail(self):
        self.apply(self.SPEC)
        self.assertIn("failed", self.fetch("inet", "203.0.113.1", "passive"))
        self.assertIn("failed", self.fetch("lan", "203.0.113.2", "active"))
        # ... and natc said so.
        r = self.natc("validate", self.spec(self.SPEC))
        self.assertIn("W3018", r.stdout + r.stderr)


if __name__ == "__main__":
    main(globals())
