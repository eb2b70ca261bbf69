#!/usr/bin/python3
"""Conntrack-aware apply, judged by `conntrack -L` and by held connections.
Usage: conntrack_test.py NATC   (exit 77: not root)"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import Topology, main  # noqa: E402

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


METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({METRIC})(\{{{LABEL}={LABEL_VALUE}(?:,{LABEL}={LABEL_VALUE})*\}})? "
                    r"(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)$")


def check_exposition(text):
    """A strict reader of the Prometheus text format (0.0.4): every line is
    HELP, TYPE or a sample; TYPE once per metric, before its samples; a
    metric's samples together; no series twice; counters end in _total."""
    assert text.endswith("\n"), "no final newline"
    typed, seen_series, done, current = {}, set(), set(), None
    values = {}
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("# HELP "):
            assert re.match(rf"^# HELP {METRIC} .+$", line), f"line {n}: bad HELP"
            continue
        if line.startswith("# TYPE "):
            m = re.match(rf"^# TYPE ({METRIC}) (counter|gauge|histogram|summary|untyped)$", line)
            assert m, f"line {n}: bad TYPE"
            assert m.group(1) not in typed, f"line {n}: TYPE twice for {m.group(1)}"
            typed[m.group(1)] = m.group(2)
            continue
        assert not line.startswith("#"), f"line {n}: stray comment"
        m = SAMPLE.match(line)
        assert m, f"line {n}: not a sample: {line!r}"
        name = m.group(1)
        assert name in typed, f"line {n}: {name} has no TYPE before it"
        if typed[name] == "counter":
            assert name.endswith("_total"), f"line {n}: counter {name} does not end in _total"
        if name != current:
            assert name not in done, f"line {n}: samples of {name} are not together"
            if current:
                done.add(current)
            current = name
        series = name + (m.group(2) or "")
        assert series not in seen_series, f"line {n}: {series} twice"
        seen_series.add(series)
        values[series] = float(m.group(3))
    return values


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
        r = subprocess.run([NATC, *args, "--netns", self.t.ns["gw"], "--sysctl-dir", self.dir, "--state-dir", os.path.join(self.dir, "state"),
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

    def status(self, *args):
        return self.natc("status", *args)

    def test_status_counts_what_conntrack_counts(self):
        self.hold_flows()
        spec = self.spec(SPEC, "spec.yaml")
        st = json.loads(self.status(spec, "--format", "json"))
        judge = int(self.t.run(self.t.ns["gw"], "conntrack", "-C").stdout.strip())
        self.assertEqual(st["conntrack"]["count"], judge)
        max_ = int(self.t.run(self.t.ns["gw"], "cat", "/proc/sys/net/netfilter/nf_conntrack_max").stdout)
        self.assertEqual(st["conntrack"]["max"], max_)
        forwards = {f["entry"]: f["flows"] for f in st["port_forwards"]}
        self.assertEqual(forwards, {"chat": len(self.flows_from("10.0.0.5", 7000)),
                                    "other": len(self.flows_from("10.0.0.5", 7001))})
        self.assertEqual(forwards, {"chat": 1, "other": 1})
        subnets = {s["entry"]: s["flows"] for s in st["subnets"]}
        self.assertEqual(subnets["office"], 1)  # the held outbound connection
        ports = {(p["protocol"], p["port"]): p["flows"] for p in st["top_destination_ports"]}
        self.assertEqual(ports[("tcp", "7000")], 1)
        self.assertFalse(st["drift"]["differs"])
        moved = json.loads(self.status(self.spec(MOVED, "moved.yaml"), "--format", "json"))
        self.assertTrue(moved["drift"]["differs"])
        for reason in ("insert_failed", "drop", "early_drop"):
            self.assertIn(reason, st["drops"])

    def test_status_counts_packets_and_bytes_as_nft_does(self):
        forwarded, _, outbound = self.hold_flows()
        for i in range(5):
            self.assertEqual(forwarded.say(f"p{i}"), f"old p{i}")
            self.assertEqual(outbound.say(f"q{i}"), f"far q{i}")
        # The judge: nft's own listing of the counted elements (whatever
        # sets natc keeps them in), read before and after natc once the
        # flows are quiet (delayed ACKs).
        def counters():
            listing = self.t.run(self.t.ns["gw"], "nft", "list", "table", "inet", "natc").stdout
            found = []
            for element in ("10.0.0.5 . tcp . 7000", "10.0.0.0/24"):
                m = re.search(re.escape(element) + r' counter packets (\d+) bytes (\d+)', listing)
                self.assertIsNotNone(m, listing)
                found.append((int(m.group(1)), int(m.group(2))))
            return tuple(found)
        # Quiet means the counters held still for 0.3 s; give up after 10 s.
        before, deadline = counters(), time.monotonic() + 10
        while True:
            time.sleep(0.3)
            now = counters()
            if now == before:
                break
            self.assertLess(time.monotonic(), deadline, "the counters never stopped moving")
            before = now
        st = json.loads(self.status("--format", "json"))
        after = counters()
        self.assertEqual(before, after, "traffic while measuring")
        chat = next(f for f in st["port_forwards"] if f["entry"] == "chat")
        office = next(s for s in st["subnets"] if s["entry"] == "office")
        self.assertEqual((chat["packets"], chat["bytes"]), before[0])
        self.assertEqual((office["packets"], office["bytes"]), before[1])
        # 6 exchanges each way plus the handshake: every packet, not only the first.
        self.assertGreaterEqual(chat["packets"], 12)
        self.assertGreaterEqual(office["packets"], 12)

    def test_status_alerts_above_alert_percent(self):
        self.hold_flows()
        # 3 flows over the spec's threshold? Only with a tiny max: use
        # --proc-sys with a count and max that cross 80%.
        proc = os.path.join(self.dir, "proc")
        os.makedirs(os.path.join(proc, "net", "netfilter"))
        for key, value in (("nf_conntrack_count", "900"), ("nf_conntrack_max", "1000")):
            with open(os.path.join(proc, "net", "netfilter", key), "w") as f:
                f.write(value + "\n")
        text = self.status(self.spec(SPEC + "conntrack: {alert_percent: 85}\n", "alert.yaml"), "--proc-sys", proc)
        self.assertIn("900 of 1000 entries (90%)", text)
        self.assertIn("ALERT: above 85%", text)
        quiet = self.status(self.spec(SPEC + "conntrack: {alert_percent: 95}\n", "quiet.yaml"), "--proc-sys", proc)
        self.assertNotIn("ALERT", quiet)

    def test_prometheus_output_is_valid_exposition_format(self):
        self.hold_flows()
        text = self.status(self.spec(SPEC, "spec.yaml"), "--format", "prometheus")
        values = check_exposition(text)
        self.assertEqual(values['natc_port_forward_flows{entry="chat"}'], 1)
        self.assertEqual(values["natc_drift"], 0)
        self.assertEqual(values["natc_conntrack_entries"],
                         int(self.t.run(self.t.ns["gw"], "conntrack", "-C").stdout.strip()))
        self.assertIn('natc_conntrack_drops_total{reason="insert_failed"}', values)
        self.assertGreater(values['natc_entry_packets_total{entry="chat"}'], 0)

    def test_the_exposition_checker_rejects_what_it_should(self):
        for bad in ("natc_x 1\n",                                   # no TYPE
                    "# TYPE natc_x gauge\nnatc_x{a=\"b} 1\n",          # unterminated label
                    "# TYPE natc_x counter\nnatc_x 1\n",             # counter without _total
                    "# TYPE natc_x gauge\nnatc_x 1\nnatc_x 2\n",      # series twice
                    "# TYPE natc_x gauge\nnatc_x 1"):                # no final newline
            with self.assertRaises(AssertionError):
                check_exposition(bad)

    def test_validate_live_sees_a_busy_pool(self):
        # One address, two ports: two flows to one destination fill it.
        spec = self.spec(SPEC.replace("{name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}",
                                      "{name: office, cidr: 10.0.0.0/24, egress: wan, snat: {pool: tiny}}")
                         + "snat_pools: [{name: tiny, addresses: 203.0.113.1, ports: 40000-40001}]\n", "pool.yaml")
        self.natc("apply", spec, "--yes")
        first = self.t.connect("lan", "203.0.113.2", 7100)
        second = self.t.connect("lan", "203.0.113.2", 7100)
        self.assertEqual(first.say("x"), "far x")
        self.assertEqual(second.say("y"), "far y")
        r = subprocess.run([NATC, "validate", spec, "--live", "--netns", self.t.ns["gw"], "--state-dir",
                            os.path.join(self.dir, "state"), "--lock", os.path.join(self.dir, "lock")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning[W3010]: SNAT pool 'tiny' carries 2 flows to 203.0.113.2 tcp/7100 now, of about 2", r.stderr)

    def test_a_forward_with_two_source_ranges_counts_each_flow_once(self):
        two = SPEC.replace('to: "10.0.0.5:7000"}', 'to: "10.0.0.5:7000", allow_from: [203.0.113.0/24, 198.51.100.0/24]}')
        self.natc("apply", self.spec(two, "two.yaml"), "--yes")
        held = self.t.connect("inet", "203.0.113.1", 7000)
        self.assertEqual(held.say("a"), "old a")
        st = json.loads(self.status("--format", "json"))
        self.assertEqual({f["entry"]: f["flows"] for f in st["port_forwards"]}["chat"], 1)
        moved = two.replace('to: "10.0.0.5:7000"', 'to: "10.9.0.5:7000"')
        self.assertIn("1 flow will be reset", self.natc("plan", self.spec(moved, "two-moved.yaml")))

    def test_renaming_a_forward_resets_nothing(self):
        self.hold_flows()
        renamed = SPEC.replace("name: chat", "name: talk")
        out = self.natc("apply", self.spec(renamed, "renamed.yaml"), "--yes")
        self.assertNotIn("Reset", out)
        self.assertEqual(len(self.flows_from("10.0.0.5", 7000)), 1)


if __name__ == "__main__":
    main(globals())
