#!/usr/bin/python3
"""What an operator and their automation see (issue 15): apply and destroy
with --format json (one JSON object on stdout, the words on stderr),
--warnings-as-errors stopping an apply before anything changes, and a
saved plan not written when warnings stop it. Judged by nft's listing of
the gateway namespace. Usage: operator_test.py NATC   (exit 77: not root)"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import GATEWAY, Topology, main, ruleset_of  # noqa: E402

NATC = None
# W3014: 'wna' is one letter from the alias 'wan'.
TYPO = GATEWAY + "  - {name: typo, ingress: wna, protocol: tcp, port: 8081, to: \"10.0.0.5:80\"}\n"


class GatewayCase(unittest.TestCase):
    """A gateway topology, a temporary directory for natc's files, and
    natc run against the gateway's namespace with them."""

    def setUp(self):
        self.t = Topology()
        self.addCleanup(self.t.close)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def spec(self, text, name="natc.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def natc(self, *args):
        argv = [NATC, *args, "--netns", self.t.ns["gw"], "--sysctl-dir", self.dir, "--state-dir",
                os.path.join(self.dir, "state"), "--lock", os.path.join(self.dir, "lock")]
        return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)

    def apply(self, text):
        r = self.natc("apply", self.spec(text), "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)


class Operator(GatewayCase):
    def test_apply_and_destroy_json(self):
        r = self.natc("apply", self.spec(GATEWAY), "--yes", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)  # stdout is the JSON object and nothing else
        self.assertEqual(out["status"], "applied")
        self.assertGreater(out["operations"], 0)
        self.assertEqual(out["operations"], out["plan"]["operations"])
        self.assertEqual(out["entry"], 1)
        self.assertIsNone(out["confirm_deadline_ms"])
        self.assertIn("web", [c["entry"] for c in out["plan"]["changes"]])
        # The live lints' warning (a static address under masquerade) is in it.
        self.assertEqual([d["code"] for d in out["diagnostics"]], ["W3001"])
        self.assertIn("commit", out["timings_ms"])
        self.assertIn("Apply complete.", r.stderr)  # the words went to stderr
        self.assertIsNotNone(ruleset_of(self.t, "gw"))

        r = self.natc("apply", self.spec(GATEWAY), "--yes", "--format", "json")
        self.assertEqual(json.loads(r.stdout)["status"], "unchanged")
        self.assertEqual(json.loads(r.stdout)["operations"], 0)

        r = self.natc("destroy", "--yes", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["status"], "applied")
        self.assertIn("Destroy complete.", r.stderr)
        self.assertIsNone(ruleset_of(self.t, "gw"))

    def test_json_failure_is_json(self):
        r = self.natc("apply", self.spec(GATEWAY), "--format", "json")  # no terminal, no --yes
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["status"], "declined")
        self.assertIsNone(ruleset_of(self.t, "gw"))
        r = self.natc("apply", self.spec("version: 1\nsubnets: 3\n", "bad.yaml"), "--yes", "--format", "json")
        self.assertEqual((r.returncode, json.loads(r.stdout)["status"]), (1, "failed"))
        self.assertIn("E1006", r.stderr)

    def test_warnings_as_errors_change_nothing(self):
        spec = self.spec(TYPO)
        r = self.natc("apply", spec, "--yes", "--warnings-as-errors")
        self.assertEqual(r.returncode, 1)
        self.assertIn("warning[W3014]", r.stderr)
        self.assertIn("--warnings-as-errors", r.stderr)
        self.assertIsNone(ruleset_of(self.t, "gw"))

        plan = os.path.join(self.dir, "plan.json")
        r = self.natc("plan", spec, "--warnings-as-errors", "-o", plan)
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(plan))

        r = self.natc("apply", spec, "--yes", "--warnings-as-errors", "--allow", "W3014,W3015", "--allow", "w3001")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("W3014", r.stderr)
        self.assertNotIn("W3001", r.stderr)
        self.assertNotIn("W3015", r.stderr)
        self.assertIsNotNone(ruleset_of(self.t, "gw"))

    def test_live_warning_stops_apply(self):
        # W3015 (no interface eth7 on the gateway) is a live warning: only
        # the kernel read says so, after the spec passed.
        spec = self.spec(GATEWAY.replace("lan: eth1", "lan: eth1, dmz: eth7") +
                         "  - {name: dmz, ingress: dmz, protocol: tcp, port: 8082, to: \"10.0.0.5:80\"}\n")
        r = self.natc("apply", spec, "--yes", "--warnings-as-errors", "--format", "json")
        self.assertEqual(r.returncode, 1)
        out = json.loads(r.stdout)
        self.assertEqual(out["status"], "declined")
        self.assertIn("W3015", [d["code"] for d in out["diagnostics"]])
        self.assertIsNone(ruleset_of(self.t, "gw"))

    def hold(self, mode):
        """flock(1) holding natc's lock file (-x or -s) until killed."""
        lock = os.path.join(self.dir, "lock")
        p = subprocess.Popen(["flock", mode, lock, "sleep", "30"])
        self.addCleanup(lambda: (p.kill(), p.wait()))
        for _ in range(50):  # until flock(1) has it
            if subprocess.run(["flock", "-n", "-x", lock, "true"]).returncode != 0:
                return
            time.sleep(0.05)
        self.fail("flock(1) did not take the lock")

    def test_reads_wait_for_a_writer(self):
        spec = self.spec(GATEWAY)
        self.hold("-x")  # as apply holds it
        for args in (["plan", spec], ["status"], ["snapshot"], ["validate", spec, "--live"]):
            r = self.natc(*args, "--lock-wait", "0")
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("gave up after 0s", r.stderr, args)

    def test_a_reader_does_not_block_another_reader(self):
        spec = self.spec(GATEWAY)
        self.hold("-s")
        for args in (["plan", spec], ["status"], ["snapshot"], ["validate", spec, "--live"]):
            r = self.natc(*args, "--lock-wait", "0")
            self.assertEqual(r.returncode, 0, (args, r.stderr))
        r = self.natc("apply", spec, "--yes", "--lock-wait", "0")  # a writer waits for readers
        self.assertEqual(r.returncode, 1)
        self.assertIn("gave up after 0s", r.stderr)
        self.assertIsNone(ruleset_of(self.t, "gw"))


class FromGateway(GatewayCase):
    """The gateway's own connections to a forwarded port (the output hook),
    judged by a server in the LAN that answers with the client's address."""

    def setUp(self):
        super().setUp()
        self.t.serve("lan", 80, "lan")

    def apply(self, extra):
        super().apply(GATEWAY.replace('to: "10.0.0.5:80"}', 'to: "10.0.0.5:80"' + extra + "}"))

    def test_the_gateway_reaches_its_own_forward_with_hairpin(self):
        self.apply("")
        self.assertIsNone(self.t.fetch("gw", "http://203.0.113.1:8080/"))  # the issue: refused
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")
        self.apply(", hairpin: true")  # from_gateway follows hairpin
        self.assertEqual(self.t.fetch("gw", "http://203.0.113.1:8080/"), "lan 203.0.113.1")
        self.apply(", hairpin: true, from_gateway: false")
        self.assertIsNone(self.t.fetch("gw", "http://203.0.113.1:8080/"))
        self.apply(", from_gateway: true")
        self.assertEqual(self.t.fetch("gw", "http://203.0.113.1:8080/"), "lan 203.0.113.1")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")

    def test_loopback_keeps_the_gateways_own_service(self):
        self.t.serve("gw", 8080, "gateway")
        self.apply(", from_gateway: true, allow_capture: true")
        self.assertEqual(self.t.fetch("gw", "http://203.0.113.1:8080/"), "lan 203.0.113.1")
        self.assertEqual(self.t.fetch("gw", "http://127.0.0.1:8080/"), "gateway 127.0.0.1")
        listing = self.t.run(self.t.ns["gw"], "nft", "list", "chain", "inet", "natc", "output").stdout
        self.assertIn("type nat hook output priority -100", listing)
        self.assertIn("ip daddr 127.0.0.0/8 accept", listing)


class Flows(GatewayCase):
    """natc flows: conntrack entries in spec terms, judged against
    `conntrack -L` in the gateway's namespace."""

    def setUp(self):
        super().setUp()
        self.apply(GATEWAY)
        self.t.serve_lines("lan", 80, "lan")
        self.t.serve_lines("inet", 9000, "inet")
        self.web = self.t.connect("inet", "203.0.113.1", 8080)  # through the forward 'web'
        self.assertEqual(self.web.say("hi"), "lan hi")
        self.out = self.t.connect("lan", "203.0.113.2", 9000)  # out through the subnet 'office'
        self.assertEqual(self.out.say("hi"), "inet hi")

    def conntrack_ports(self):
        """Original destination ports of the gateway's TCP flows, by conntrack -L."""
        out = self.t.run(self.t.ns["gw"], "conntrack", "-L", "-p", "tcp").stdout
        return sorted(int(line.split("dport=")[1].split()[0]) for line in out.splitlines() if "dport=" in line)

    def test_list_names_each_flow_by_its_entry(self):
        r = self.natc("flows", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        flows = {f["entry"]: f for f in json.loads(r.stdout)["flows"]}
        self.assertEqual(sorted(flows), ["office", "web"])
        web, office = flows["web"], flows["office"]
        self.assertEqual((web["kind"], web["protocol"], web["state"]), ("dnat", "tcp", "ESTABLISHED"))
        self.assertEqual((web["original"]["src"], web["original"]["dst"], web["original"]["dport"]),
                         ("203.0.113.2", "203.0.113.1", 8080))
        self.assertEqual((web["translated"]["dst"], web["translated"]["dport"]), ("10.0.0.5", 80))
        self.assertGreater(web["expires_s"], 0)
        self.assertEqual((office["kind"], office["original"]["src"], office["translated"]["src"]),
                         ("snat", "10.0.0.5", "203.0.113.1"))
        r = self.natc("flows", "web")
        self.assertIn("203.0.113.2:", r.stdout)
        self.assertIn("→ 203.0.113.1:8080", r.stdout)
        self.assertIn("1 flow.", r.stdout)
        self.assertNotIn("office", r.stdout)
        r = self.natc("flows", "--src", "10.0.0.0/24", "--format", "json")
        self.assertEqual([f["entry"] for f in json.loads(r.stdout)["flows"]], ["office"])
        r = self.natc("flows", "wbe")
        self.assertEqual(r.returncode, 1)
        self.assertIn("did you mean 'web'?", r.stderr)

    def test_watch_streams_new_and_ended_translations(self):
        p = subprocess.Popen([NATC, "flows", "--watch", "--count", "2", "--format", "json", "--netns",
                              self.t.ns["gw"], "--lock", os.path.join(self.dir, "lock")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        time.sleep(0.5)  # listening
        flow = self.t.connect("inet", "203.0.113.1", 8080)  # new
        self.assertEqual(flow.say("hi"), "lan hi")
        self.assertEqual(self.natc("flows", "reset", "web", "--yes").returncode, 0)  # destroy
        out, err = p.communicate(timeout=30)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(events[0]["event"], "new")
        self.assertEqual([e["entry"] for e in events], ["web", "web"])
        self.assertEqual(events[1]["event"], "destroy")

    def test_reset_deletes_one_entrys_flows_only(self):
        self.assertEqual(self.conntrack_ports(), [8080, 9000])
        r = self.natc("flows", "reset", "web")  # no terminal, no --yes: nothing goes
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.conntrack_ports(), [8080, 9000])
        r = self.natc("flows", "reset", "web", "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Reset 1 flow of 'web'.", r.stdout)
        self.assertEqual(self.conntrack_ports(), [9000])  # office's flow lives on
        self.assertEqual(self.out.say("still"), "inet still")
        r = self.natc("flows", "reset", "web", "--yes")
        self.assertIn("No flows of 'web' to reset.", r.stdout)


class Redirects(GatewayCase):
    """redirects: a LAN client's HTTP to the internet host is answered by a
    listener on the gateway's port 3128, which sees the client's address;
    `except` and other ports pass through untouched."""

    def setUp(self):
        super().setUp()
        self.t.serve("inet", 80, "inet")
        self.t.serve("inet", 81, "inet81")
        self.t.serve("gw", 3128, "proxy")

    def apply(self, extra=""):
        super().apply(GATEWAY + "redirects:\n  - {name: web-proxy, ingress: lan, protocol: tcp, port: 80, "
                      "to_port: 3128" + extra + "}\n")

    def test_lan_http_goes_to_the_gateways_proxy(self):
        self.apply()
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2/"), "proxy 10.0.0.5")  # the client's own address
        # Named by its entry in natc flows and counted in natc status.
        flows = json.loads(self.natc("flows", "web-proxy", "--format", "json").stdout)["flows"]
        self.assertTrue(flows and all(f["kind"] == "redirect" for f in flows), flows)
        status = json.loads(self.natc("status", "--format", "json").stdout)
        self.assertEqual([(c["entry"], c["flows"] > 0) for c in status["redirects"]], [("web-proxy", True)])
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2:81/"), "inet81 203.0.113.1")  # other ports pass
        # The gateway's own connections are not caught (no prerouting).
        self.assertEqual(self.t.fetch("gw", "http://203.0.113.2/"), "inet 203.0.113.1")
        # Arriving on the WAN, nothing is redirected: the forward 'web' still works.
        self.t.serve("lan", 80, "lan")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")

    def test_except_leaves_a_source_alone(self):
        self.apply(", except: [10.0.0.5]")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2/"), "inet 203.0.113.1")
        self.apply(", from: [10.0.0.0/24]")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2/"), "proxy 10.0.0.5")


class StateImage(GatewayCase):
    """Issue 12: an apply plans from the image of the last one while the
    ruleset generation is the one natc left, and reads the table whole
    after anyone else's commit, in natc's table or any other."""

    TWO = GATEWAY + "  - {name: mail, ingress: wan, protocol: tcp, port: 2525, to: \"10.0.0.6:25\"}\n"

    def apply_v(self, text):
        r = self.natc("apply", self.spec(text), "--yes", "-v")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def maps(self):
        r = self.t.run(self.t.ns["gw"], "nft", "-j", "list", "table", "inet", "natc")
        return [o["map"]["name"] for o in json.loads(r.stdout)["nftables"] if "map" in o]

    def test_image_then_fallback_on_foreign_changes(self):
        self.apply_v(self.TWO)
        written = ruleset_of(self.t, "gw")
        self.assertTrue(os.path.exists(os.path.join(self.dir, "state", "image.bin")))
        r = self.apply_v(self.TWO)
        self.assertIn("read live (image)", r.stderr)
        self.assertIn("No changes", r.stdout)

        # Someone else empties natc's DNAT map: the generation moved, natc
        # reads the table whole and puts back exactly the two forwards.
        dnat = [m for m in self.maps() if m.startswith("dnat")]
        self.assertTrue(dnat)
        for m in dnat:
            self.t.run(self.t.ns["gw"], "nft", "flush", "map", "inet", "natc", m)
        self.assertNotEqual(ruleset_of(self.t, "gw"), written)
        r = self.apply_v(self.TWO)
        self.assertIn("read live (dump: the ruleset changed since natc's last apply)", r.stderr)
        self.assertIn("Plan: 2 to add, 0 to change, 0 to remove.", r.stdout)
        self.assertEqual(ruleset_of(self.t, "gw"), written)
        r = self.apply_v(self.TWO)
        self.assertIn("read live (image)", r.stderr)
        self.assertIn("No changes", r.stdout)

        # A commit to another table moves the generation too.
        self.t.run(self.t.ns["gw"], "nft", "add", "table", "ip", "other")
        r = self.apply_v(self.TWO)
        self.assertIn("read live (dump: the ruleset changed since natc's last apply)", r.stderr)
        self.assertIn("No changes", r.stdout)

        # A change planned from the image: one forward goes, exactly.
        r = self.apply_v(GATEWAY)
        self.assertIn("read live (image)", r.stderr)
        self.assertIn("Plan: 0 to add, 0 to change, 1 to remove.", r.stdout)
        self.apply(self.TWO)
        self.assertEqual(ruleset_of(self.t, "gw"), written)

    def test_damaged_image_is_read_past(self):
        self.apply(GATEWAY)
        image = os.path.join(self.dir, "state", "image.bin")
        with open(image, "r+b") as f:
            f.seek(40)
            f.write(b"\xff\xff")
        r = self.apply_v(GATEWAY)
        self.assertIn("read live (dump: the image of the last apply is damaged (checksum mismatch))", r.stderr)
        self.assertIn("No changes", r.stdout)
        r = self.apply_v(GATEWAY)
        self.assertIn("read live (image)", r.stderr)


class SpecDirectory(GatewayCase):
    """Issue 12: a spec directory applies as the one file it splits, its
    history rolls back, a bad file is named, and the parse cache is used,
    and ignored when damaged."""

    def write_dir(self, files):
        d = os.path.join(self.dir, "natc.d")
        os.makedirs(d, exist_ok=True)
        old = time.time() - 60  # files written seconds ago are not cached
        for name, text in files.items():
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(text)
            os.utime(path, (old, old))
        return d

    BASE = ("version: 1\ninterfaces: {wan: eth0, lan: eth1}\nforwarding:\n  policy: drop\nsubnets:\n"
            "  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}\n")
    WEB = "port_forwards:\n  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: \"10.0.0.5:80\"}\n"

    def test_directory_applies_as_one_file_and_rolls_back(self):
        self.apply(GATEWAY)
        single = ruleset_of(self.t, "gw")
        self.natc("destroy", "--yes")
        d = self.write_dir({"00-base.yaml": self.BASE, "10-web.yaml": self.WEB, "README.txt": "not a spec"})
        r = self.natc("apply", d, "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(ruleset_of(self.t, "gw"), single)
        # The web server moves, in its own file; rollback puts back the directory as it was.
        self.write_dir({"10-web.yaml": self.WEB.replace("10.0.0.5:80", "10.0.0.6:80")})
        r = self.natc("apply", d, "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(ruleset_of(self.t, "gw"), single)
        r = self.natc("rollback", "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(ruleset_of(self.t, "gw"), single)

    def test_bad_file_is_named_and_changes_nothing(self):
        d = self.write_dir({"00-base.yaml": self.BASE, "10-web.yaml": self.WEB,
                            "20-dup.yaml": self.WEB.replace("8080", "8081")})
        r = self.natc("apply", d, "--yes")
        self.assertEqual(r.returncode, 1)
        self.assertIn(os.path.join(d, "20-dup.yaml") + ":2:12: error[E1009]", r.stderr)
        self.assertIn("first defined at line 2 of " + os.path.join(d, "10-web.yaml"), r.stderr)
        self.assertIsNone(ruleset_of(self.t, "gw"))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))  # no cache for a spec with errors

    def test_parse_cache_used_and_rewritten_when_damaged(self):
        d = self.write_dir({"00-base.yaml": self.BASE, "10-web.yaml": self.WEB})
        def validate():
            r = self.natc("validate", d, "-v")
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stderr
        self.assertIn("spec (0 of 2 files from the parse cache)", validate())
        self.assertIn("spec (2 of 2 files from the parse cache)", validate())
        state = os.path.join(self.dir, "state")
        entries = sorted(f for f in os.listdir(state) if f.startswith("parse-"))
        self.assertEqual(len(entries), 2)
        with open(os.path.join(state, entries[0]), "r+b") as f:
            f.seek(60)
            f.write(b"\x00\xff\x00")
        self.assertIn("spec (1 of 2 files from the parse cache)", validate())
        self.assertIn("spec (2 of 2 files from the parse cache)", validate())
        # An edited file is read again.
        self.write_dir({"10-web.yaml": self.WEB.replace("8080", "8088")})
        self.assertIn("spec (1 of 2 files from the parse cache)", validate())
        r = subprocess.run([NATC, "compile", d], capture_output=True, text=True, timeout=60)
        self.assertIn("8088", r.stdout)


if __name__ == "__main__":
    main(globals())
