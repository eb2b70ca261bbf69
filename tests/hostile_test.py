#!/usr/bin/python3
"""Hostile and broken input, without root: YAML bombs, huge scalars,
repeated mistakes, recursive aliases, bytes that are not UTF-8 in paths,
output files that are symlinks, an output that cannot be written, broken
snapshots. Each gets a bounded diagnostic and a non-zero exit, and changes
no file it should not.

The bounds asserted are on output and memory, never on time (the machines
are noisy); every natc run has a generous timeout all the same, so a loop
fails the test instead of hanging it. Usage: hostile_test.py NATC
"""
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NATC = os.path.abspath(sys.argv.pop(1)) if __name__ == "__main__" else "natc"
SNAPSHOT = os.path.join(ROOT, "examples", "ci", "gateway.snapshot.json")
EXAMPLE = os.path.join(ROOT, "examples", "port-forward.yaml")


def natc(*args, cwd=None, stdout=subprocess.PIPE, umask=None):
    """Runs natc; returns (exit, stdout, stderr, peak RSS in bytes)."""
    def pre():
        if umask is not None:
            os.umask(umask)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = subprocess.run([NATC] + [os.fsencode(a) if isinstance(a, str) else a for a in args], cwd=cwd,
                       stdout=stdout, stderr=subprocess.PIPE, timeout=120, preexec_fn=pre)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: only a new
    # maximum is this run's; otherwise this run stayed below it.
    return r.returncode, r.stdout or b"", r.stderr, max(peak, before) * 1024


class Hostile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="natc-hostile-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def test_a_yaml_bomb_is_refused_in_a_few_lines(self):
        # 50,000 entries anchored once and aliased 2,000 times: 100 million
        # values from 900 KB.
        lines = ["version: 1", "x-list: &big"] + [f"  - 10.0.0.{i % 250}" for i in range(50000)]
        lines += ["interfaces:", "  wan: eth0", "subnets:"]
        lines += [f"  - {{name: s{i}, cidr: 10.0.0.0/24, egress: wan, snat: masquerade, x: *big}}" for i in range(2000)]
        path = self.write("bomb.yaml", "\n".join(lines) + "\n")
        code, _, err, rss = natc("validate", path)
        self.assertEqual(code, 1)
        self.assertIn(b"error[E1001]: aliases here make the spec stand for more than", err)
        self.assertLess(len(err), 2000)
        self.assertLess(rss, 300 << 20)

    def test_an_alias_inside_its_own_anchor_is_refused(self):
        path = self.write("loop.yaml", "version: 1\ninterfaces: &a\n  wan: eth0\n  more: *a\n")
        code, _, err, _ = natc("validate", path)
        self.assertEqual(code, 1)
        self.assertIn(b"error[E1001]", err)

    def test_a_huge_scalar_is_echoed_in_a_window(self):
        path = self.write("huge.yaml", "version: 1\ninterfaces:\n  wan: \"" + "a" * 20_000_000 + "\"\n")
        code, _, err, rss = natc("validate", path)
        self.assertEqual(code, 1)
        self.assertIn(b"error[E2006]", err)
        self.assertLess(len(err), 2000)
        for line in err.splitlines():
            self.assertLess(len(line), 400, line[:100])
        self.assertLess(rss, 20 * 20_000_000)

    def test_a_mistake_repeated_fifty_thousand_times_is_counted(self):
        lines = ["version: 1", "interfaces:", "  wan: eth0", "subnets:"]
        lines += [f"  - {{name: dup, cidr: 10.{i // 250}.{i % 250}.0/24, egress: wan, snat: masquerade}}"
                  for i in range(50000)]
        path = self.write("dups.yaml", "\n".join(lines) + "\n")
        code, _, err, _ = natc("validate", path)
        self.assertEqual(code, 1)
        self.assertEqual(err.count(b"error[E1009]"), 20)
        self.assertIn(b"... and 49979 more E1009", err)
        self.assertLess(len(err), 8000)
        code, out, _, _ = natc("validate", "--format", "json", path)
        report = json.loads(out)
        self.assertEqual(len(report["diagnostics"]), 20)
        self.assertEqual(report["not_shown"], {"E1009": 49979})

    def test_nft_files_that_never_end_or_double_are_refused(self):
        code, _, err, _ = natc("import", "--from", "/dev/zero")
        self.assertEqual(code, 1)
        self.assertIn(b"cannot read '/dev/zero': File too large", err)
        lines = ["define A0 = 10.0.0.1"] + [f"define A{i} = {{ $A{i - 1}, $A{i - 1} }}" for i in range(1, 40)]
        path = self.write("bomb.nft", "\n".join(lines) + "\ntable ip nat { chain c { ip saddr $A39 accept } }\n")
        code, out, err, rss = natc("import", "--from", path)
        self.assertEqual((code, out), (1, b""))
        self.assertIn(b"bomb.nft:19:16: variables expand to more than", err)
        self.assertIn(b"variables expand to more than", err)
        self.assertLess(rss, 400 << 20)

    def test_an_nft_set_of_a_hundred_thousand_forwards_is_left_out_whole(self):
        elements = ", ".join(f"{1024 + i % 60000} : 10.{i // 60000}.0.{1 + i % 250}" for i in range(100000))
        path = self.write("big.nft", "table ip nat { chain p { type nat hook prerouting priority dstnat;\n"
                                     f"  dnat to tcp dport map {{ {elements} }}\n}} }}\n")
        code, out, err, rss = natc("import", "--from", path)
        self.assertEqual(code, 3, err)
        self.assertIn(b"big.nft:2: a set of more than 4096 elements", err)
        self.assertLess(len(out) + len(err), 4000)
        self.assertLess(rss, 400 << 20)

    def test_explain_prints_each_line_as_one_line(self):
        code, out, _, _ = natc("explain", "tcp", "198.51.100.7:40000", "->", "203.0.113.50:443",
                               "--in", "wan\x1b[2J\nforged", os.path.join(ROOT, "examples", "gateway.yaml"))
        self.assertEqual(code, 0)
        self.assertNotIn(b"\x1b", out)
        self.assertIn(b", in wan\\x1b[2J\\x0aforged\n", out)

    def test_a_path_that_is_not_utf8_reaches_json_without_an_abort(self):
        path = self.write("spec-\xff.yaml".encode("latin-1").decode("utf-8", "surrogateescape"), "version: 2\n")
        code, out, err, _ = natc("validate", "--format", "json", os.fsencode(path))
        self.assertEqual(code, 1, err)
        report = json.loads(out)
        self.assertIn("\ufffd", report["diagnostics"][0]["file"])
        code, _, err, _ = natc("validate", os.fsencode(path))
        self.assertEqual(code, 1)
        self.assertIn(b"spec-\\xff.yaml", err)

    def test_plan_out_replaces_a_symlink_and_never_writes_through_it(self):
        victim = self.write("victim", "precious\n")
        link = os.path.join(self.tmp, "plan.json")
        os.symlink(victim, link)
        code, _, err, _ = natc("plan", EXAMPLE, "--state", SNAPSHOT, "-o", link, umask=0)
        self.assertEqual(code, 0, err)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        st = os.lstat(link)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(link) as f:
            self.assertIn('"natc_plan"', f.read())

    def test_stale_temporaries_of_an_interrupted_write_are_removed(self):
        out = os.path.join(self.tmp, "plan.json")
        stale = self.write("plan.json.Ab12Cd", "half")  # mkstemp's pattern
        old = os.path.getmtime(stale) - 3600
        os.utime(stale, (old, old))
        fresh = self.write("plan.json.Xy34Zw", "in flight")  # another writer's, right now
        code, _, err, _ = natc("plan", EXAMPLE, "--state", SNAPSHOT, "-o", out)
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(fresh))

    def test_an_output_that_cannot_be_written_is_an_error(self):
        runs = [["compile", EXAMPLE], ["validate", "--format", "json", EXAMPLE],
                ["plan", EXAMPLE, "--state", SNAPSHOT], ["__generate", "man"]]
        with open("/dev/full", "wb") as full:
            for args in runs:
                code, _, err, _ = natc(*args, stdout=full)
                self.assertEqual(code, 1, f"{args}: {err[-300:]}")
                self.assertIn(b"cannot write to standard output", err, args)

    def test_broken_snapshots_are_e4007_at_their_fault(self):
        with open(SNAPSHOT) as f:
            snap = json.load(f)
        cases = {
            "not json": (b'{"natc_snapshot": 1,\n "messages": [}', b":2:15: error[E4007]"),
            "no marker": (b"{}", b"error[E4007]: not a usable natc snapshot: it has no \"natc_snapshot\": 1"),
        }
        m = dict(snap, messages=dict(snap["messages"]))
        m["messages"]["chains"] = ["ff" + snap["messages"]["chains"][0][2:]]
        cases["length field"] = (json.dumps(m).encode(), b"message 1 of \"chains\" is not a whole nf_tables message")
        m = dict(snap, messages=dict(snap["messages"]))
        m["messages"]["rules"] = ["0g"]
        cases["not hex"] = (json.dumps(m).encode(), b"message 1 of \"rules\" is not a string of hex digits")
        for what, (data, expect) in cases.items():
            path = self.write("snap.json", data)
            code, out, err, _ = natc("plan", EXAMPLE, "--state", path)
            self.assertEqual(code, 1, what)
            self.assertIn(expect, err, f"{what}: {err[-400:]}")
            self.assertEqual(out, b"", what)

    def test_a_live_plan_without_privilege_says_what_to_do(self):
        # As nobody when run as root; as whoever runs the tests otherwise.
        drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
        r = subprocess.run(drop + [NATC, "plan", EXAMPLE], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"needs root (or CAP_NET_ADMIN)", r.stderr)
        self.assertIn(b"natc plan SPEC --state FILE", r.stderr)

    def test_out_of_range_options_are_refused_before_anything_runs(self):
        code, _, err, _ = natc("apply", EXAMPLE, "--lock-wait", "-5", "--netns", "natc-no-such-ns",
                               "--state-dir", self.tmp, "--sysctl-dir", self.tmp, "--lock",
                               os.path.join(self.tmp, "lock"))
        self.assertNotEqual(code, 0)
        self.assertIn(b"--lock-wait", err)
        self.assertEqual(os.listdir(self.tmp), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
