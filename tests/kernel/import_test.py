#!/usr/bin/python3
"""natc import, proven by traffic. Each ruleset of tests/import/ (written by
iptables-restore, ip6tables-restore or nft -f, the tools that produce such
rulesets) is loaded into a gateway namespace and a fixed set of connections
is made, each recording what the far side saw; then `natc import` writes a
spec (compared with tests/import/golden/NAME.yaml), natc applies it, the
removal commands import printed are run, and the same connections must see
the same: for every ruleset import says it carried over whole (exit 0).
The partly imported ones (exit 3) list what they left out in their golden.
`natc import --from FILE` (natc's own reading of an nft file, no kernel)
must write the same spec as the import of what is loaded, but for the
comments naming where each entry came from: for each nft file of the
corpus, and for what `nft list ruleset` prints of every ruleset loaded
(iptables-nft's too).
Usage: import_test.py NATC [--update]   (exit 77: not root)"""
import glob
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import Topology, main  # noqa: E402

NATC = None
UPDATE = "--update" in sys.argv
if UPDATE:
    sys.argv.remove("--update")
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "import")

# (host, URL): what each connection reaches, and from where.
CONNECTIONS = [
    ("inet", "http://203.0.113.1:80/"), ("inet", "http://203.0.113.1:443/"), ("inet", "http://203.0.113.1:8080/"),
    ("inet", "http://203.0.113.1:2222/"), ("inet", "http://203.0.113.1:3000/"), ("inet", "http://203.0.113.1:10005/"),
    ("inet", "http://203.0.113.1:8443/"), ("inet", "http://10.0.0.5:80/"), ("inet", "http://10.9.0.5:80/"),
    ("lan", "http://203.0.113.2:8000/"), ("other", "http://203.0.113.2:8000/"), ("lan", "http://203.0.113.1:8080/"),
    ("other", "http://10.0.0.5:80/"), ("lan", "http://203.0.113.2:80/"),
    ("inet", "http://[2001:db8:1::1]:8080/"), ("lan", "http://[2001:db8:1::2]:8000/"),
]


def corpus():
    return sorted(p for p in glob.glob(os.path.join(CORPUS, "*")) if p.endswith((".rules", ".rules6", ".nft")))


class Import(unittest.TestCase):
    def gateway(self):
        t = Topology()
        self.addCleanup(t.close)
        gw = t.ns["gw"]
        for a in ("203.0.113.50", "203.0.113.51", "203.0.113.52", "203.0.113.53"):
            t.run(gw, "ip", "addr", "add", a + "/32", "dev", "eth0")
        for ns, dev, addr in ((gw, "eth0", "2001:db8:1::1/64"), (t.ns["inet"], "eth0", "2001:db8:1::2/64"),
                              (gw, "eth1", "fd00:10::1/64"), (t.ns["lan"], "eth0", "fd00:10::5/64")):
            t.run(ns, "ip", "addr", "add", addr, "dev", dev, "nodad")
        t.run(t.ns["lan"], "ip", "-6", "route", "add", "default", "via", "fd00:10::1")
        t.run(t.ns["inet"], "ip", "route", "add", "10.0.0.0/8", "via", "203.0.113.1")
        t.run(gw, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        for host, ports in (("lan", (80, 22, 443, 8080, 10005)), ("other", (80,)), ("inet", (8000, 80))):
            for port in ports:
                t.serve(host, port, f"{host}{port}")
        return t

    def connections(self, t):
        return [(host, url, t.fetch(host, url, timeout=1)) for host, url in CONNECTIONS]

    def natc(self, t, *args, stdin=None):
        d = self.dir
        return subprocess.run([NATC, *args, "--netns", t.ns["gw"], "--lock", os.path.join(d, "lock"),
                               "--state-dir", os.path.join(d, "state"), "--sysctl-dir", d],
                              capture_output=True, text=True, input=stdin)

    def load(self, t, path):
        gw = t.ns["gw"]
        with open(path) as f:
            text = f.read()
        for line in text.splitlines():
            if line.startswith("# sysctl: "):
                t.run(gw, "sysctl", "-qw", line[len("# sysctl: "):])
        tool = {".rules": ["iptables-restore"], ".rules6": ["ip6tables-restore"], ".nft": ["nft", "-f", "-"]}
        t.run(gw, *tool[os.path.splitext(path)[1]], input=text)

    def round_trip(self, path):
        self.dir = tempfile.mkdtemp()
        t = self.gateway()
        self.load(t, path)
        before = self.connections(t)
        r = self.natc(t, "import")
        self.assertIn(r.returncode, (0, 3), r.stderr)
        r.stdout = r.stdout.replace(t.ns["gw"], "gw")
        name = os.path.splitext(os.path.basename(path))[0]
        golden = os.path.join(CORPUS, "golden", name + ".yaml")
        if UPDATE:
            with open(golden, "w") as f:
                f.write(r.stdout)
        with open(golden) as f:
            self.assertEqual(r.stdout, f.read(), f"{name}: the import differs from its golden")
        partial = "# Left out" in r.stdout
        self.assertEqual(r.returncode, 3 if partial else 0)
        if path.endswith(".nft"):
            self.same_from_file(t, path, r, reasons=True)
        # nft lists some xt matches as what they do (`-m statistic` as
        # numgen), so a listing's left-out reasons may be worded otherwise.
        listing = t.run(t.ns["gw"], "nft", "list", "ruleset").stdout
        self.same_from_file(t, "-", r, reasons=False, stdin=listing)
        spec = os.path.join(self.dir, "spec.yaml")
        with open(spec, "w") as f:
            f.write(r.stdout)
        v = subprocess.run([NATC, "validate", spec], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stderr)
        if partial:
            return
        a = self.natc(t, "apply", spec, "--yes")
        self.assertEqual(a.returncode, 0, a.stdout + a.stderr)
        removal = [line.strip() for line in r.stderr.splitlines() if line.startswith("  nft ")]
        self.assertTrue(removal, r.stderr)
        for command in removal:
            t.run(t.ns["gw"], *shlex.split(command))
        after = self.connections(t)
        self.assertEqual(before, after, f"{name}: traffic differs after natc took over")
        self.assertTrue(any(seen for _, _, seen in before) or "docker" in name, f"{name}: no connection worked")

    def same_from_file(self, t, path, live, reasons, stdin=None):
        f = self.natc(t, "import", "--from", path, stdin=stdin)
        self.assertEqual(f.returncode, live.returncode, f.stderr)

        def body(text):
            # A file has no sysctls: the live import's conntrack section is its own.
            lines = text.split("\nconntrack:\n")[0].splitlines()
            return [line for line in lines if not line.lstrip().startswith("#")]

        def left(text):
            out = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("#   ")]
            return out if reasons else len(out)

        name = os.path.basename(path) if stdin is None else "nft list ruleset"
        self.assertEqual(body(f.stdout), body(live.stdout), f"{name}: --from differs from the loaded ruleset")
        self.assertEqual(left(f.stdout), left(live.stdout), f"{name}: --from leaves out other rules")
        self.assertIn("# from " + (path if stdin is None else "stdin") + ":", f.stdout)

    def test_every_ruleset_round_trips(self):
        self.assertGreaterEqual(len(corpus()), 12)
        for path in corpus():
            with self.subTest(ruleset=os.path.basename(path)):
                self.round_trip(path)


if __name__ == "__main__":
    main(globals())
