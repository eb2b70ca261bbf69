#!/usr/bin/python3
"""Safe change on a remote gateway, against the real kernel: the lockout
guard, confirmation windows whose guard rolls back even when natc is
killed, a reboot inside a window, exact saved plans, history and rollback.
Held TCP sessions and curl are the judges of traffic; nft's listing, the
namespace's /proc/sys and the sysctl.d file's bytes the judges of state.
Usage: safety_test.py NATC   (exit 77: not root)"""
import hashlib
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import Topology, main, ruleset_of  # noqa: E402

NATC = None
FIRST = """
version: 1
interfaces: {wan: eth0, lan: eth1}
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: "10.0.0.5:80"}
"""
# Drops new connections the first accepted (10.9.0.0/24 to the LAN), and
# takes the gateway's own port 22 for a LAN host.
SECOND = """
version: 1
interfaces: {wan: eth0, lan: eth1}
forwarding: {policy: drop}
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 8081, to: "10.0.0.5:80"}
  - {name: take, ingress: wan, protocol: tcp, port: 22, to: "10.0.0.5:22", destination: 203.0.113.1, allow_capture: true}
conntrack: {timeouts: {tcp_established: 777}}
"""
TIMEOUT = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"


class Safety(unittest.TestCase):
    def setUp(self):
        self.t = Topology()
        self.addCleanup(self.t.close)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.sysctl_dir = os.path.join(self.dir, "sysctl.d")
        os.mkdir(self.sysctl_dir)
        self.state = os.path.join(self.dir, "state")
        self.addCleanup(self.kill_guard)
        self.t.serve("lan", 80, "lan")

    def common(self, ns=None):
        return ["--netns", ns or self.t.ns["gw"], "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state,
                "--lock", os.path.join(self.dir, "lock")]

    def spec(self, text, name):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def natc(self, *args, env=None, ns=None):
        return subprocess.run([NATC, *args, *self.common(ns)], capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args, **kw):
        r = self.natc(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def kill_guard(self):
        try:
            with open(os.path.join(self.state, "guard.pid")) as f:
                pid = int(f.read())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def state_now(self, ns=None):
        """natc's table, the namespace's timeout sysctl, the sysctl.d file's hash."""
        ns = ns or "gw"
        timeout = self.t.run(self.t.ns[ns], "cat", TIMEOUT).stdout.strip()
        try:
            with open(os.path.join(self.sysctl_dir, "90-natc.conf"), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            digest = None
        return ruleset_of(self.t, ns), timeout, digest

    def pending(self):
        return os.path.exists(os.path.join(self.state, "pending.json"))

    def wait_until_settled(self, seconds):
        deadline = time.monotonic() + seconds
        while self.pending():
            self.assertLess(time.monotonic(), deadline, "the window never closed")
            time.sleep(0.1)

    def sessions(self):
        """One session through the gateway (10.9.0.5 to a LAN host's SSH
        port) and one to the gateway itself (port 22 there)."""
        self.t.serve_lines("lan", 22, "lan")
        self.t.serve_lines("gw", 22, "gw")
        through = self.t.connect("other", "10.0.0.5", 22)
        to_gw = self.t.connect("inet", "203.0.113.1", 22)
        self.assertEqual(through.say("a"), "lan a")
        self.assertEqual(to_gw.say("b"), "gw b")
        return through, to_gw

    def test_the_guard_names_both_sessions_and_an_unconfirmed_change_goes_back_whole(self):
        self.ok("apply", self.spec(FIRST, "first.yaml"), "--yes")
        through, to_gw = self.sessions()
        before = self.state_now()
        second = self.spec(SECOND, "second.yaml")
        refused = self.natc("apply", second, "--yes", "--confirm", "3s")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("error[E4005]: this change would cut 2 management sessions; nothing was applied", refused.stderr)
        self.assertIn("! this change would cut the session tcp 10.9.0.5:", refused.stdout)
        self.assertIn("-> 10.0.0.5:22: new connections like it would be dropped by table inet natc, chain forward "
                      "(policy drop)", refused.stdout)
        self.assertIn("-> 203.0.113.1:22: new connections like it would go to 10.0.0.5:22 instead of this gateway",
                      refused.stdout)
        self.assertEqual(self.state_now(), before)
        started = time.monotonic()
        out = self.ok("apply", second, "--yes", "--force", "--confirm", "3s")
        self.assertIn("waits for confirmation", out)
        self.assertNotEqual(self.state_now(), before)  # the change is in
        self.wait_until_settled(10)
        self.assertGreaterEqual(time.monotonic() - started, 2.5)  # not before the window ended
        self.assertEqual(self.state_now(), before)
        self.assertEqual(through.say("c"), "lan c")  # the held sessions never noticed
        self.assertEqual(to_gw.say("d"), "gw d")
        with open(os.path.join(self.state, "log")) as f:
            self.assertIn("rolled back change #2 (not confirmed in time)", f.read())
        history = json.loads(self.ok("history", "--format", "json"))
        self.assertEqual([e["status"] for e in history["entries"]], ["applied", "rolled back"])

    def test_a_confirmed_change_stays(self):
        self.ok("apply", self.spec(FIRST, "first.yaml"), "--yes")
        out = self.ok("apply", self.spec(SECOND, "second.yaml"), "--yes", "--confirm", "30s")
        after = self.state_now()
        status = self.ok("status")
        self.assertRegex(status, r"pending confirmation: change #2, \d+s left")
        blocked = self.natc("apply", self.spec(FIRST, "first.yaml"), "--yes")
        self.assertEqual(blocked.returncode, 1)
        self.assertIn("error[E4006]: change #2 is waiting for confirmation", blocked.stderr)
        with open(os.path.join(self.state, "guard.pid")) as f:
            guard = int(f.read())
        self.assertIn("Confirmed change #2", self.ok("confirm"))
        for _ in range(50):  # its guard goes
            if not os.path.exists(f"/proc/{guard}"):
                break
            time.sleep(0.1)
        self.assertFalse(os.path.exists(f"/proc/{guard}"))
        self.assertEqual(self.state_now(), after)
        self.assertNotIn("pending", self.ok("status"))
        self.assertEqual(self.natc("confirm").returncode, 1)  # nothing left to confirm

    def test_natc_killed_while_it_waits_still_rolls_back_on_time(self):
        self.ok("apply", self.spec(FIRST, "first.yaml"), "--yes")
        before = self.state_now()
        # A terminal, so natc waits for Enter; then SIGKILL right after it says so.
        leader, follower = pty.openpty()
        p = subprocess.Popen([NATC, "apply", self.spec(SECOND, "second.yaml"), "--yes", "--confirm", "3s",
                              *self.common()], stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(follower)
        self.addCleanup(os.close, leader)
        seen = ""
        while "waits for confirmation" not in seen:
            line = p.stdout.readline()
            self.assertTrue(line, "natc ended before it waited")
            seen += line
        started = time.monotonic()
        p.kill()
        p.wait()
        self.assertNotEqual(self.state_now(), before)
        self.wait_until_settled(10)
        self.assertLess(time.monotonic() - started, 6)  # on time
        self.assertEqual(self.state_now(), before)

    def test_a_reboot_inside_the_window_brings_back_the_last_confirmed_state(self):
        self.ok("apply", self.spec(FIRST, "first.yaml"), "--yes")
        before = self.state_now()
        self.ok("apply", self.spec(SECOND, "second.yaml"), "--yes", "--confirm", "60s")
        self.kill_guard()  # the machine goes down: its processes with it
        # ... and comes up: fresh namespaces, the same state dir and sysctl.d.
        rebooted = Topology()
        self.addCleanup(rebooted.close)
        out = subprocess.run([NATC, "apply", self.spec(SECOND, "second.yaml"), "--yes", "--boot",
                              *self.common(rebooted.ns["gw"])], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("change #2 was never confirmed", out.stdout)
        rebooted.serve("lan", 80, "lan")
        self.assertEqual(ruleset_of(rebooted, "gw"), before[0])
        self.assertEqual(rebooted.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")
        self.assertIsNone(rebooted.fetch("inet", "http://203.0.113.1:8081/", timeout=1))
        self.assertFalse(self.pending())

    def test_a_forward_onto_a_port_the_gateway_listens_on_is_an_error_unless_allowed(self):
        self.t.serve_lines("gw", 22, "gw")
        spec = FIRST + '  - {name: take, ingress: wan, protocol: tcp, port: 22, to: "10.0.0.5:22", destination: 203.0.113.1}\n'
        r = self.natc("apply", self.spec(spec, "take.yaml"), "--yes")
        self.assertEqual(r.returncode, 1)
        self.assertIn("error[E2011]: port forward 'take' takes tcp/22 on 203.0.113.1, where python3 listens: new "
                      "connections to python3 on this gateway would go to 10.0.0.5", r.stderr)
        self.assertIsNone(ruleset_of(self.t, "gw"))
        allowed = spec.replace("destination: 203.0.113.1}", "destination: 203.0.113.1, allow_capture: true}")
        self.ok("apply", self.spec(allowed, "allowed.yaml"), "--yes")
        self.assertIn("tcp . 22", self.t.run(self.t.ns["gw"], "nft", "list", "table", "inet", "natc").stdout)

    def test_a_saved_plan_is_exact_and_needs_no_second_question(self):
        self.ok("apply", self.spec(FIRST, "first.yaml"), "--yes")
        plan = os.path.join(self.dir, "plan.json")
        self.ok("plan", self.spec(FIRST.replace("8080", "8082"), "next.yaml"), "-o", plan)
        self.t.run(self.t.ns["gw"], "sysctl", "-qw", "net.ipv4.ip_forward=0")
        stale = self.natc("apply", plan)
        self.assertEqual(stale.returncode, 1)
        self.assertIn("error[E4002]: the state changed since the plan was made (sysctl net.ipv4.ip_forward (1, now 0))",
                      stale.stderr)
        self.assertEqual(self.t.run(self.t.ns["gw"], "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip(), "0")
        self.ok("plan", self.spec(FIRST.replace("8080", "8082"), "next.yaml"), "-o", plan)
        out = self.ok("apply", plan)  # no --yes, no terminal: the plan was the review
        self.assertIn("Apply complete.", out)
        self.assertIn("tcp . 8082", self.t.run(self.t.ns["gw"], "nft", "list", "table", "inet", "natc").stdout)

    def test_rollback_to_an_entry_of_the_history(self):
        for port in (8081, 8082, 8083):
            self.ok("apply", self.spec(FIRST.replace("8080", str(port)), f"p{port}.yaml"), "--yes")
        first = json.loads(self.ok("history", "--format", "json"))["entries"][0]
        self.assertEqual(first["n"], 1)
        self.ok("rollback", "--to", "1", "--yes")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8081/"), "lan 203.0.113.2")
        self.assertIsNone(self.t.fetch("inet", "http://203.0.113.1:8083/", timeout=1))
        entries = json.loads(self.ok("history", "--format", "json"))["entries"]
        self.assertEqual(entries[-1]["note"], "rollback to #1")
        plan = subprocess.run([NATC, "plan", self.spec(FIRST.replace("8080", "8081"), "p8081.yaml"),
                               "--detailed-exitcode", *self.common()], capture_output=True, text=True)
        self.assertEqual(plan.returncode, 0, plan.stdout)


if __name__ == "__main__":
    main(globals())
