#!/usr/bin/python3
"""Conntrack-aware apply, judged by `conntrack -L` and by held connections.
Usage: conntrack_test.py NATC   (exit 77: not root)"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import Topology  # noqa: E402

NATC = None
SPEC = """
version: 1
interfaces: {wan: eth0}
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
  - {name: lab, cidr: 10.9.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: chat, ingress: wan, protocol: tcp, port: 7000, to: "10.0.0.5:7000"}
  - {name: other, ingress: wan, protocol: tcp, port: 7001, to: "10.0.0.5:7001"}
"""
MOVED = SPEC.replace('to: "10.0.0.5:7000"', 'to: "10.9.0.5:7000"')


class ConntrackAware(unittest.TestCase):
    def setUp(self):
        self.t = Topology()
        self.addCleanup(self.t.close)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.t.serve_lines("lan", 7000, "old")
        self.t.serve_lines("lan", 7001, "kept")
        self.t.serve_lines("other", 7000, "new")
        self.t.serve_lines("inet", 7100, "far")

    def spec(self, text, name):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def natc(self, *args):
        r = subprocess.run([NATC, *args, "--netns", self.t.ns["gw"], "--sysctl-dir", self.dir,
                            "--lock", os.path.join(self.dir, "lock")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def flows_from(self, addr, port):
        """conntrack -L as the judge: entries whose reply comes from addr:port."""
        r = self.t.run(self.t.ns["gw"], "conntrack", "-L", "-p", "tcp", "--reply-src", addr, "--reply-port-src", str(port),
                       check=False)
        return [l for l in r.stdout.splitlines() if "src=" in l]

    def hold_flows(self):
        self.natc("apply", self.spec(SPEC, "spec.yaml"), "--yes")
        forwarded = self.t.connect("inet", "203.0.113.1", 7000)
        other = self.t.connect("inet", "203.0.113.1", 7001)
        outbound = self.t.connect("lan", "203.0.113.2", 7100)
        self.assertEqual(forwarded.say("a"), "old a")
        self.assertEqual(other.say("b"), "kept b")
        self.assertEqual(outbound.say("c"), "far c")
        self.assertEqual(len(self.flows_from("10.0.0.5", 7000)), 1)
        return forwarded, other, outbound

    def test_moving_a_forward_resets_only_its_old_flows(self):
        forwarded, other, outbound = self.hold_flows()
        plan = self.natc("plan", self.spec(MOVED, "moved.yaml"))
        self.assertIn("chat:", plan)
        self.assertIn("1 flow will be reset", plan)
        out = self.natc("apply", self.spec(MOVED, "moved.yaml"), "--yes")
        self.assertIn("Reset 1 flow", out)
        self.assertEqual(self.flows_from("10.0.0.5", 7000), [])
        # Every other flow lives on: another forward, and masqueraded traffic.
        self.assertEqual(other.say("d"), "kept d")
        self.assertEqual(outbound.say("e"), "far e")
        self.assertEqual(len(self.flows_from("10.0.0.5", 7001)), 1)
        # New connections take the new rule.
        fresh = self.t.connect("inet", "203.0.113.1", 7000)
        self.assertEqual(fresh.say("f"), "new f")

    def test_keep_flows_leaves_the_old_flows_alone(self):
        forwarded, _, _ = self.hold_flows()
        out = self.natc("apply", self.spec(MOVED, "moved.yaml"), "--yes", "--keep-flows")
        self.assertNotIn("Reset", out)
        self.assertEqual(len(self.flows_from("10.0.0.5", 7000)), 1)
        self.assertEqual(forwarded.say("g"), "old g")

    def test_removing_a_forward_resets_its_flows(self):
        self.hold_flows()
        gone = SPEC.replace('  - {name: chat, ingress: wan, protocol: tcp, port: 7000, to: "10.0.0.5:7000"}\n', "")
        out = self.natc("apply", self.spec(gone, "gone.yaml"), "--yes")
        self.assertIn("Reset 1 flow", out)
        self.assertEqual(self.flows_from("10.0.0.5", 7000), [])
        self.assertEqual(len(self.flows_from("10.0.0.5", 7001)), 1)

    def test_renaming_a_forward_resets_nothing(self):
        self.hold_flows()
        renamed = SPEC.replace("name: chat", "name: talk")
        out = self.natc("apply", self.spec(renamed, "renamed.yaml"), "--yes")
        self.assertNotIn("Reset", out)
        self.assertEqual(len(self.flows_from("10.0.0.5", 7000)), 1)


def main():
    global NATC
    if os.geteuid() != 0:
        print("skipped: needs root for network namespaces")
        sys.exit(77)
    NATC = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
