#!/usr/bin/python3
"""Faults natc meets on a real machine: a sysctl.d directory that is
missing, read-only or full (a tiny tmpfs in a private mount namespace),
sysctls the kernel refuses, the lock held by a stopped process or replaced
by a symlink, an output that cannot be written, and other tools' bytes in
natc's own sets. After each, the judges (nft's listing, the namespace's
/proc/sys, the sysctl.d file's bytes) say the machine is in the state
natc reported: the old one whole after a refusal, the new one whole after
a success. Usage: faults_test.py NATC   (exit 77: not root)"""
import hashlib
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import Topology, main, ruleset_of  # noqa: E402

NATC = None
OLD = """
version: 1
interfaces: {wan: eth0, lan: eth1}
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
conntrack: {timeouts: {tcp_established: 3600}}
"""
NEW = """
version: 1
interfaces: {wan: eth0, lan: eth1}
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: "10.0.0.5:80"}
conntrack: {timeouts: {tcp_established: 777, udp_stream: 99}}
"""
PROC = "/proc/sys/net/netfilter/"


class Faults(unittest.TestCase):
    def setUp(self):
        self.t = Topology()
        self.addCleanup(self.t.close)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.sysctl_dir = os.path.join(self.dir, "sysctl.d")
        os.mkdir(self.sysctl_dir)
        self.lock = os.path.join(self.dir, "lock")
        self.procs = []
        self.addCleanup(self.reap)

    def reap(self):
        for p in self.procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
            p.wait()
            if p.stdout:
                p.stdout.close()

    def spec(self, text, name):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def args(self, *args, sysctl_dir=None):
        return [NATC, *args, "--netns", self.t.ns["gw"], "--sysctl-dir", sysctl_dir or self.sysctl_dir,
                "--state-dir", os.path.join(self.dir, "state"), "--lock", self.lock]

    def natc(self, *args, sysctl_dir=None, stdout=subprocess.PIPE):
        return subprocess.run(self.args(*args, sysctl_dir=sysctl_dir), stdout=stdout, stderr=subprocess.PIPE,
                              text=True, stdin=subprocess.DEVNULL, timeout=120)

    def in_mounts(self, setup, *args):
        """natc in a private mount namespace after `setup` (shell), and the
        sysctl.d file's hash as that namespace sees it."""
        script = (setup + " && " + shlex.join(self.args(*args)) + "; echo \"exit=$?\"; "
                  f"sha256sum {shlex.quote(self.sysctl_dir)}/90-natc.conf 2>/dev/null || echo none")
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                           text=True, timeout=120)
        out = r.stdout.strip().splitlines()
        code = int(out[-2].split("=")[1])
        digest = out[-1].split()[0]
        return code, r.stderr, None if digest == "none" else digest

    def file_hash(self):
        try:
            with open(os.path.join(self.sysctl_dir, "90-natc.conf"), "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            return None

    def live(self):
        keys = ["nf_conntrack_tcp_timeout_established", "nf_conntrack_udp_timeout_stream"]
        return {k: self.t.run(self.t.ns["gw"], "cat", PROC + k).stdout.strip() for k in keys}

    def state(self):
        return ruleset_of(self.t, "gw"), self.live(), self.file_hash()

    def apply_old(self):
        r = self.natc("apply", self.spec(OLD, "old.yaml"), "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        return self.state()

    def assert_refused_whole(self, before, code, err, digest, why):
        self.assertEqual(code, 1, f"{why}: {err}")
        table, live, _ = self.state()
        self.assertEqual(table, before[0], f"{why}: the table moved")
        self.assertEqual(live, before[1], f"{why}: live sysctls moved")
        self.assertEqual(digest, before[2], f"{why}: the sysctl.d file moved")

    # --- the sysctl.d directory --------------------------------------------

    def test_a_missing_sysctl_dir_puts_table_and_live_values_back(self):
        before = self.apply_old()
        gone = os.path.join(self.dir, "no", "such", "dir")
        r = self.natc("apply", self.spec(NEW, "new.yaml"), "--yes", sysctl_dir=gone)
        # The file natc owns is where it always was; here it "moved" away.
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("error[E4003]", r.stderr)
        self.assertIn("no/such/dir", r.stderr)
        table, live, digest = self.state()
        self.assertEqual((table, live, digest), before)

    def test_a_read_only_sysctl_dir_puts_table_and_live_values_back(self):
        before = self.apply_old()
        d = shlex.quote(self.sysctl_dir)
        code, err, digest = self.in_mounts(f"mount --bind {d} {d} && mount -o remount,bind,ro {d}",
                                           "apply", self.spec(NEW, "new.yaml"), "--yes")
        self.assert_refused_whole(before, code, err, digest, "read-only")
        self.assertIn("Read-only file system", err)
        self.assertIn("error[E4003]", err)

    def test_a_full_sysctl_dir_puts_table_and_live_values_back(self):
        before = self.apply_old()
        d = shlex.quote(self.sysctl_dir)
        saved = shlex.quote(os.path.join(self.dir, "saved.conf"))
        shutil.copy(os.path.join(self.sysctl_dir, "90-natc.conf"), os.path.join(self.dir, "saved.conf"))
        setup = (f"mount -t tmpfs -o size=16k tmpfs {d} && cp {saved} {d}/90-natc.conf && "
                 f"(dd if=/dev/zero of={d}/fill bs=1k count=64 2>/dev/null; true)")
        code, err, digest = self.in_mounts(setup, "apply", self.spec(NEW, "new.yaml"), "--yes")
        self.assert_refused_whole(before, code, err, digest, "full")
        self.assertIn("No space left on device", err)

    def test_destroy_with_a_read_only_sysctl_dir_keeps_both_table_and_file(self):
        before = self.apply_old()
        d = shlex.quote(self.sysctl_dir)
        code, err, digest = self.in_mounts(f"mount --bind {d} {d} && mount -o remount,bind,ro {d}",
                                           "destroy", "--yes")
        # The file goes first: when it cannot, nothing else goes.
        self.assert_refused_whole(before, code, err, digest, "destroy read-only")
        self.assertIsNotNone(before[0])

    def test_stale_temporaries_of_a_killed_write_are_cleaned_up(self):
        self.apply_old()
        stale = os.path.join(self.sysctl_dir, "90-natc.conf.Qw12Er")
        with open(stale, "w") as f:
            f.write("half a file")
        old = time.time() - 3600
        os.utime(stale, (old, old))
        r = self.natc("apply", self.spec(NEW, "new.yaml"), "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(stale))
        self.assertEqual(sorted(os.listdir(self.sysctl_dir)), ["90-natc.conf"])

    # --- /proc/sys -----------------------------------------------------------

    def test_a_refused_udp_timeout_names_itself_and_puts_the_others_back(self):
        # A /proc/sys of files (--proc-sys), one of them read-only through
        # a bind mount in a private mount namespace: the kernel's EROFS.
        proc = os.path.join(self.dir, "proc")
        values = {"net/ipv4/ip_forward": "0", "net/ipv6/conf/all/forwarding": "0",
                  "net/netfilter/nf_conntrack_tcp_timeout_established": "432000",
                  "net/netfilter/nf_conntrack_udp_timeout_stream": "120"}
        for key, value in values.items():
            os.makedirs(os.path.dirname(os.path.join(proc, key)), exist_ok=True)
            with open(os.path.join(proc, key), "w") as f:
                f.write(value + "\n")

        def tree():
            out = {}
            for key in values:
                with open(os.path.join(proc, key)) as f:
                    out[key] = f.read().strip()
            return out
        r = self.natc("apply", self.spec(OLD, "old.yaml"), "--yes", "--proc-sys", proc)
        self.assertEqual(r.returncode, 0, r.stderr)
        before = (ruleset_of(self.t, "gw"), tree(), self.file_hash())
        self.assertEqual(before[1]["net/netfilter/nf_conntrack_tcp_timeout_established"], "3600")
        key = shlex.quote(os.path.join(proc, "net/netfilter/nf_conntrack_udp_timeout_stream"))
        code, err, digest = self.in_mounts(f"mount --bind {key} {key} && mount -o remount,bind,ro {key}",
                                           "apply", self.spec(NEW, "new.yaml"), "--yes", "--proc-sys", proc)
        self.assertEqual(code, 1, err)
        self.assertIn("error[E4003]", err)
        self.assertIn("nf_conntrack_udp_timeout_stream", err)
        self.assertNotIn("nf_conntrack_max", err)
        self.assertEqual((ruleset_of(self.t, "gw"), tree(), digest), before)

    def test_conntrack_max_outside_the_first_namespace_is_refused_with_its_hint(self):
        before = self.apply_old()
        spec = self.spec(NEW.replace("conntrack: {", "conntrack: {max: 65536, "), "max.yaml")
        r = self.natc("apply", spec, "--yes")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("error[E4003]", r.stderr)
        self.assertIn("nf_conntrack_max", r.stderr)
        self.assertEqual(self.state(), before)

    # --- the lock ------------------------------------------------------------

    def test_a_lock_held_by_a_stopped_process_is_named_and_waited_for_no_longer_than_asked(self):
        before = self.apply_old()
        holder = subprocess.Popen([sys.executable, "-c", (
            "import fcntl, os, signal, sys\n"
            f"f = open({self.lock!r}, 'w')\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\n"
            "f.write(str(os.getpid()) + '\\n'); f.flush()\n"
            "print('held', flush=True)\n"
            "os.kill(os.getpid(), signal.SIGSTOP)\n")], stdout=subprocess.PIPE, text=True)
        self.procs.append(holder)
        self.assertEqual(holder.stdout.readline().strip(), "held")
        start = time.monotonic()
        r = self.natc("apply", self.spec(NEW, "new.yaml"), "--yes", "--lock-wait", "1")
        self.assertLess(time.monotonic() - start, 30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"another natc (pid {holder.pid}, stopped) holds {self.lock}; gave up after 1s", r.stderr)
        self.assertEqual(self.state(), before)

    def test_a_lock_that_is_a_symlink_is_refused_and_its_target_kept(self):
        before = self.apply_old()
        victim = os.path.join(self.dir, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.unlink(self.lock)
        os.symlink(victim, self.lock)
        r = self.natc("apply", self.spec(NEW, "new.yaml"), "--yes")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("it is a symlink", r.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertEqual(self.state(), before)

    # --- outputs -------------------------------------------------------------

    def test_an_apply_whose_report_cannot_be_written_still_leaves_one_whole_state(self):
        self.apply_old()
        with open("/dev/full", "w") as full:
            r = self.natc("apply", self.spec(NEW, "new.yaml"), "--yes", stdout=full)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot write to standard output", r.stderr)
        # Applied whole (the report is what failed): the next plan is empty.
        r = self.natc("plan", self.spec(NEW, "new.yaml"), "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.live()["nf_conntrack_tcp_timeout_established"], "777")

    def test_snapshot_out_replaces_a_symlink_with_a_private_file(self):
        self.apply_old()
        victim = os.path.join(self.dir, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        out = os.path.join(self.dir, "snap.json")
        os.symlink(victim, out)
        r = self.natc("snapshot", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        st = os.lstat(out)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_other_tools_bytes_in_natc_sets_are_escaped_in_every_output(self):
        self.apply_old()
        r = self.natc("apply", self.spec(NEW, "new.yaml"), "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        # An element another tool added to natc's own map, its comment
        # holding an escape sequence, BEL and a byte that is not UTF-8.
        maps = json.loads(self.t.run(self.t.ns["gw"], "nft", "-j", "list", "maps", "inet").stdout)
        dnat = [m["map"]["name"] for m in maps["nftables"] if "map" in m and m["map"]["table"] == "natc"
                and m["map"]["name"].startswith("dnat4")][0]
        comment = b"\x1b]0;pwned\x07\x1b[2J\xff"
        script = (b"add element inet natc " + dnat.encode() + b" { tcp . 9999 comment \"" + comment +
                  b"\" : 10.0.0.5 . 80 }\n")
        subprocess.run(["ip", "netns", "exec", self.t.ns["gw"], "nft", "-f", "-"], input=script, check=True)
        plan = subprocess.run(self.args("plan", self.spec(NEW, "new.yaml")), capture_output=True)
        self.assertEqual(plan.returncode, 0, plan.stderr)
        for out in (plan.stdout, plan.stderr):
            self.assertNotIn(b"\x1b", out)
            self.assertNotIn(b"\x07", out)
            self.assertNotIn(b"\xff", out)
        self.assertIn(b"9999", plan.stdout)
        for args in (["plan", self.spec(NEW, "new.yaml"), "--format", "json"], ["status", "--format", "json"],
                     ["snapshot"]):
            r = subprocess.run(self.args(*args), capture_output=True)
            self.assertIn(r.returncode, (0, 2), f"{args}: {r.stderr[-300:]}")
            json.loads(r.stdout)  # whole, valid JSON (UTF-8), no abort
        for args in (["status"], ["plan", self.spec(NEW, "new.yaml"), "--format", "markdown"]):
            r = subprocess.run(self.args(*args), capture_output=True)
            self.assertNotIn(b"\x1b", r.stdout, args)


if __name__ == "__main__":
    main(globals())
