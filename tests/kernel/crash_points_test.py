#!/usr/bin/python3
"""Crash points: `natc apply` killed (SIGKILL) at every syscall it makes
while holding the lock, in a network namespace, changing a ruleset of a
few thousand entries and a conntrack timeout. After each kill: natc's
table is the old one or the new one (nft lists it), the live timeout is
the old or the new value, the sysctl.d file is the old or the new bytes;
then a plain apply converges and a plan afterwards is empty.

strace counts injections per syscall, so the k-th global syscall is
reached as "the n-th call of its name": the points come from one traced
run from the same old state. Usage: crash_points_test.py NATC (exit 77:
not root). NATC_CRASH_POINTS=N caps the points (spread evenly) for a
quick run; the default is every one."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import main, without_counters  # noqa: E402

NATC = None
FORWARDS = 2000
TIMEOUT = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"


def spec(first_port, timeout):
    lines = ["version: 1", "interfaces: {wan: eth0, lan: eth1}", "subnets:",
             "  - {name: office, cidr: 10.0.0.0/16, egress: wan, snat: masquerade}", "port_forwards:"]
    lines += [f"  - {{name: f{i}, ingress: wan, protocol: tcp, port: {first_port + i}, "
              f"to: \"10.0.{i // 250}.{i % 250 + 1}:80\"}}" for i in range(FORWARDS)]
    lines.append(f"conntrack: {{timeouts: {{tcp_established: {timeout}}}}}")
    return "\n".join(lines) + "\n"


SYSCALL = re.compile(r"^\d+ +([a-z_0-9]+)\(")


class CrashPoints(unittest.TestCase):
    def setUp(self):
        self.ns = f"natc-crash-{uuid.uuid4().hex[:6]}"
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.ns], capture_output=True)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.sysctl_dir = os.path.join(self.dir, "sysctl.d")
        os.mkdir(self.sysctl_dir)
        self.old = self.write("old.yaml", spec(10000, 3600))
        # Half the forwards move, half stay; the timeout changes.
        self.new = self.write("new.yaml", spec(11000, 777))

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def argv(self, *args):
        return [NATC, *args, "--netns", self.ns, "--sysctl-dir", self.sysctl_dir,
                "--state-dir", os.path.join(self.dir, "state"), "--lock", os.path.join(self.dir, "lock")]

    def natc(self, *args):
        return subprocess.run(self.argv(*args), capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, timeout=120)

    def apply(self, path):
        r = self.natc("apply", path, "--yes")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])

    def state(self):
        r = subprocess.run(["ip", "netns", "exec", self.ns, "nft", "-j", "list", "table", "inet", "natc"],
                           capture_output=True, text=True)
        table = None
        if r.returncode == 0:
            table = hashlib.sha256(json.dumps(without_counters(
                [o for o in json.loads(r.stdout)["nftables"] if "metainfo" not in o]), sort_keys=True).encode()).hexdigest()
        live = subprocess.run(["ip", "netns", "exec", self.ns, "cat", TIMEOUT], capture_output=True,
                              text=True).stdout.strip()
        try:
            with open(os.path.join(self.sysctl_dir, "90-natc.conf"), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            digest = None
        return table, live, digest

    def points(self):
        """(name, n) for every syscall between taking and releasing the lock."""
        trace = os.path.join(self.dir, "trace")
        r = subprocess.run(["strace", "-f", "-o", trace] + self.argv("apply", self.new, "--yes"),
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        seen, out, holding = {}, [], False
        with open(trace) as f:
            for line in f:
                m = SYSCALL.match(line)
                if not m:
                    continue
                name = m.group(1)
                seen[name] = seen.get(name, 0) + 1
                if name == "flock" and "LOCK_EX" in line:
                    holding = True
                    continue
                if holding:
                    out.append((name, seen[name]))
                if name == "flock" and "LOCK_UN" in line:
                    break
        return out

    def test_every_kill_leaves_old_or_new_and_the_next_apply_converges(self):
        self.apply(self.old)
        old = self.state()
        self.apply(self.new)
        new = self.state()
        self.assertNotEqual(old[0], new[0])
        self.assertEqual((old[1], new[1]), ("3600", "777"))
        self.apply(self.old)
        points = self.points()
        self.assertGreater(len(points), 50)
        cap = int(os.environ.get("NATC_CRASH_POINTS", "0"))
        if cap and cap < len(points):
            points = [points[i * len(points) // cap] for i in range(cap)]
        start, mixed, outcomes = time.monotonic(), [], {"old": 0, "new": 0, "between": 0}
        unreached = []
        for name, n in points:
            self.apply(self.old)
            # A kill may cut the output inside a character.
            r = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e", f"inject={name}:signal=SIGKILL:when={n}"]
                               + self.argv("apply", self.new, "--yes"), capture_output=True, text=True,
                               errors="replace", timeout=120)
            now = self.state()
            if r.returncode == 0:
                # The Nth call did not come this time (a count that varies
                # from run to run, like getrandom's): natc ran to the end.
                self.assertEqual(now, new, f"{name} #{n}: natc said it applied")
                unreached.append(f"{name} #{n}")
                continue
            for part, what in zip(range(3), ("table", "live timeout", "sysctl.d file")):
                if now[part] not in (old[part], new[part]):
                    mixed.append(f"{name} #{n}: the {what} is neither old nor new")
            outcomes["old" if now == old else "new" if now == new else "between"] += 1
            self.apply(self.new)
            r = self.natc("plan", self.new, "--detailed-exitcode")
            self.assertEqual(r.returncode, 0, f"{name} #{n}: no convergence\n{r.stdout[-2000:]}")
            self.assertEqual(self.state(), new, f"{name} #{n}")
        self.assertEqual(mixed, [])
        self.assertLessEqual(len(unreached), max(2, len(points) // 20), unreached)
        print(f"\n{len(points)} kill points ({len(unreached)} not reached: {', '.join(unreached) or 'none'}) in {time.monotonic() - start:.0f}s: "
              f"{outcomes['old']} left the old state, {outcomes['new']} the new, "
              f"{outcomes['between']} old in part and new in part (each whole); all converged", file=sys.stderr)


if __name__ == "__main__":
    main(globals())
