#!/usr/bin/python3
"""natc against the real kernel, in network namespaces, judged by traffic
and by nft. Usage: round_trip_test.py NATC   (exit 77: not root)"""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topology import GATEWAY, Topology, main, sh  # noqa: E402

NATC = None


def read(path):
    with open(path) as f:
        return f.read().strip()



class Gateway(unittest.TestCase):
    def setUp(self):
        self.t = Topology()
        self.addCleanup(self.t.close)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.sysctl_dir = os.path.join(self.dir, "sysctl.d")
        os.mkdir(self.sysctl_dir)
        self.lock = os.path.join(self.dir, "natc.lock")
        self.state_dir = os.path.join(self.dir, "state")
        self.t.serve("inet", 8000, "inet")
        self.t.serve("lan", 80, "lan")

    def spec(self, text, name="spec.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def natc(self, *args, check=True):
        r = subprocess.run([NATC, *args, "--netns", self.t.ns["gw"], "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state_dir,
                            "--lock", self.lock], capture_output=True, text=True)
        if check and r.returncode != 0:
            self.fail(f"natc {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def nft(self, *args):
        return self.t.run(self.t.ns["gw"], "nft", *args, check=False)

    def test_masquerade_lets_the_lan_out_with_the_public_address(self):
        self.assertIsNone(self.t.fetch("lan", "http://203.0.113.2:8000/"))
        self.natc("apply", self.spec(GATEWAY), "--yes")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2:8000/"), "inet 203.0.113.1")

    def test_port_forward_reaches_the_server_which_sees_the_real_client(self):
        self.assertIsNone(self.t.fetch("inet", "http://203.0.113.1:8080/", timeout=1))
        self.natc("apply", self.spec(GATEWAY), "--yes")
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")

    def test_drop_policy_blocks_an_undeclared_subnet(self):
        # The internet host can route to 10.9.0.0/24, so only the policy stops it.
        self.t.run(self.t.ns["inet"], "ip", "route", "add", "10.9.0.0/24", "via", "203.0.113.1")
        self.t.serve("other", 80, "other")
        accept = GATEWAY.replace("policy: drop", "policy: accept")
        self.natc("apply", self.spec(accept), "--yes")
        self.assertEqual(self.t.fetch("inet", "http://10.9.0.5:80/"), "other 203.0.113.2")
        self.natc("apply", self.spec(GATEWAY), "--yes")
        self.assertIsNone(self.t.fetch("inet", "http://10.9.0.5:80/", timeout=1))
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2:8000/"), "inet 203.0.113.1")

    def test_a_second_apply_plans_nothing(self):
        path = self.spec(GATEWAY)
        self.natc("apply", path, "--yes")
        r = self.natc("plan", path, "--detailed-exitcode", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No changes", r.stdout)

    def test_nft_lists_the_table_and_accepts_its_own_listing(self):
        self.natc("apply", self.spec(GATEWAY), "--yes")
        listing = self.nft("list", "table", "inet", "natc")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn('comment "web"', listing.stdout)
        check = self.t.run(self.t.ns["gw"], "nft", "-c", "-f", "-", input=listing.stdout, check=False)
        self.assertEqual(check.returncode, 0, check.stderr)

    def test_one_changed_forward_is_one_element_out_and_one_in(self):
        path = self.spec(GATEWAY)
        self.natc("apply", path, "--yes")
        before = self.nft("-a", "list", "chain", "inet", "natc", "prerouting").stdout
        moved = self.spec(GATEWAY.replace("10.0.0.5:80", "10.0.0.6:80"), "moved.yaml")
        plan = json.loads(self.natc("plan", moved, "--format", "json").stdout)
        self.assertEqual(plan["operations"], 4)  # an element out and in, in the map and the accept set
        self.assertEqual([c["entry"] for c in plan["changes"]], ["web"])
        self.natc("apply", moved, "--yes")
        # The rules, handles included, are untouched.
        self.assertEqual(self.nft("-a", "list", "chain", "inet", "natc", "prerouting").stdout, before)

    def test_flows_through_unchanged_entries_live_on(self):
        self.t.serve_lines("lan", 7000)
        spec = GATEWAY + "  - {name: chat, ingress: wan, protocol: tcp, port: 7000, to: \"10.0.0.5:7000\"}\n"
        self.natc("apply", self.spec(spec), "--yes")
        held = self.t.connect("inet", "203.0.113.1", 7000)
        self.assertEqual(held.say("one"), "echo one")
        # Another forward moves and a new one arrives: the held flow is untouched.
        changed = spec.replace("10.0.0.5:80", "10.0.0.6:80") + "  - {name: dns, ingress: wan, protocol: udp, port: 53, to: 10.0.0.2}\n"
        self.natc("apply", self.spec(changed, "changed.yaml"), "--yes")
        self.assertEqual(held.say("two"), "echo two")

    def test_a_docker_bridge_publishes_masquerades_and_hairpins(self):
        # docker0 on the gateway with two "containers" behind it, as dockerd
        # with "iptables": false would leave it: natc owns the NAT.
        gw = self.t.ns["gw"]
        self.t.run(gw, "ip", "link", "add", "docker0", "type", "bridge")
        self.t.run(gw, "ip", "addr", "add", "172.17.0.1/16", "dev", "docker0")
        self.t.run(gw, "ip", "link", "set", "docker0", "up")
        containers = []
        for n in (2, 3):
            ns = f"natc-ctr{n}-{self.t.id}"
            subprocess.run(["ip", "netns", "add", ns], check=True)
            self.addCleanup(subprocess.run, ["ip", "netns", "del", ns], capture_output=True)
            veth = f"vc{n}{self.t.id}"
            self.t.run(gw, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.t.run(gw, "ip", "link", "set", veth, "master", "docker0", "up")
            for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"172.17.0.{n}/16", "dev", "eth0"],
                        ["ip", "link", "set", "eth0", "up"], ["ip", "route", "add", "default", "via", "172.17.0.1"]):
                self.t.run(ns, *cmd)
            self.t.ns[f"ctr{n}"] = ns
            containers.append(ns)
        self.t.serve("ctr2", 80, "nginx")
        spec = self.spec("""
version: 1
docker:
  bridges:
    - name: docker0
      cidr: 172.17.0.0/16
      publish:
        - {name: nginx, protocol: tcp, port: 8081, to: "172.17.0.2:80"}
""", "docker.yaml")
        self.natc("apply", spec, "--yes")
        # Published: the internet host reaches the container, which sees it.
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8081/"), "nginx 203.0.113.2")
        # Outbound: the container reaches out with the host's address.
        self.assertEqual(self.t.fetch("ctr3", "http://203.0.113.2:8000/"), "inet 203.0.113.1")
        # Hairpin from the bridge itself: a container uses the host's
        # public address and port, and the answer comes back through it.
        self.assertEqual(self.t.fetch("ctr3", "http://203.0.113.1:8081/"), "nginx 172.17.0.1")

    def test_the_ruleset_loads_before_its_interfaces_exist(self):
        # As at boot: natc.service runs before network-pre.target, when eth0
        # does not exist yet. Interfaces are matched by name, so it loads.
        t = Topology(wire=False)
        self.addCleanup(t.close)
        r = subprocess.run([NATC, "apply", self.spec(GATEWAY), "--yes", "--netns", t.ns["gw"],
                            "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state_dir, "--lock", self.lock], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("eth0", t.run(t.ns["gw"], "ip", "link").stdout)
        t.wire()
        t.serve("inet", 8000, "inet")
        t.serve("lan", 80, "lan")
        self.assertEqual(t.fetch("lan", "http://203.0.113.2:8000/"), "inet 203.0.113.1")
        self.assertEqual(t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")

    def test_a_foreign_table_is_byte_identical_after_apply_and_destroy(self):
        docker = ("table ip nat {\n chain PREROUTING {\n type nat hook prerouting priority dstnat; policy accept;\n"
                  " fib daddr type local counter jump DOCKER\n }\n chain DOCKER {\n iifname != \"docker0\" tcp dport 8080 "
                  "dnat to 172.17.0.2:80\n }\n}\n")
        self.t.run(self.t.ns["gw"], "nft", "-f", "-", input=docker)
        before = self.nft("-a", "list", "table", "ip", "nat").stdout
        self.natc("apply", self.spec(GATEWAY), "--yes")
        self.assertEqual(self.nft("-a", "list", "table", "ip", "nat").stdout, before)
        self.natc("destroy", "--yes")
        self.assertEqual(self.nft("-a", "list", "table", "ip", "nat").stdout, before)
        self.assertNotEqual(self.nft("list", "table", "inet", "natc").returncode, 0)

    def test_destroy_removes_table_and_file_and_says_sysctls_stay(self):
        self.natc("apply", self.spec(GATEWAY), "--yes")
        self.assertTrue(os.path.exists(os.path.join(self.sysctl_dir, "90-natc.conf")))
        r = self.natc("destroy", "--yes")
        self.assertIn("left as they are", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.sysctl_dir, "90-natc.conf")))
        self.assertNotEqual(self.nft("list", "table", "inet", "natc").returncode, 0)

    def test_a_stale_saved_plan_is_refused_and_changes_nothing(self):
        path = self.spec(GATEWAY)
        self.natc("apply", path, "--yes")
        plan_file = os.path.join(self.dir, "plan.json")
        self.natc("plan", self.spec(GATEWAY.replace("8080", "8081"), "next.yaml"), "-o", plan_file)
        self.natc("apply", self.spec(GATEWAY.replace("8080", "9090"), "other.yaml"), "--yes")
        before = self.nft("list", "table", "inet", "natc").stdout
        r = self.natc("apply", plan_file, "--yes", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("E4002", r.stderr)
        self.assertEqual(self.nft("list", "table", "inet", "natc").stdout, before)

    def test_a_fresh_saved_plan_applies(self):
        self.natc("apply", self.spec(GATEWAY), "--yes")
        plan_file = os.path.join(self.dir, "plan.json")
        self.natc("plan", self.spec(GATEWAY.replace("8080", "8081"), "next.yaml"), "-o", plan_file)
        # Traffic moves natc's counters, not its state: the plan still holds.
        self.assertEqual(self.t.fetch("inet", "http://203.0.113.1:8080/"), "lan 203.0.113.2")
        self.assertEqual(self.t.fetch("lan", "http://203.0.113.2:8000/"), "inet 203.0.113.1")
        self.natc("apply", plan_file, "--yes")
        self.assertIn("tcp . 8081", self.nft("list", "table", "inet", "natc").stdout)

    def test_two_concurrent_applies_leave_exactly_one(self):
        a = self.spec(GATEWAY.replace("8080", "8081"), "a.yaml")
        b = self.spec(GATEWAY.replace("8080", "8082"), "b.yaml")
        results = {}
        def run(name, path):
            results[name] = self.natc("apply", path, "--yes", check=False)
        threads = [threading.Thread(target=run, args=(n, p)) for n, p in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([r.returncode for r in results.values()], [0, 0])
        listing = self.nft("list", "table", "inet", "natc").stdout
        self.assertEqual(("tcp . 8081" in listing) + ("tcp . 8082" in listing), 1, listing)
        # Whichever came last: a plan against it is empty.
        last = a if "tcp . 8081" in listing else b
        self.assertEqual(self.natc("plan", last, "--detailed-exitcode", check=False).returncode, 0)

    def test_racing_applies_without_the_lock_never_mix(self):
        # Separate lock files: only the batch's generation id keeps these
        # apart. Each loser gets ERESTART from the kernel and plans again.
        for round_ in range(5):
            specs = [self.spec(GATEWAY.replace("8080", str(9000 + 10 * round_ + i)), f"r{round_}{i}.yaml") for i in range(3)]
            procs = [subprocess.Popen([NATC, "apply", p, "--yes", "--netns", self.t.ns["gw"],
                                       "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state_dir, "--lock", self.lock + str(i)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for i, p in enumerate(specs)]
            outs = [p.communicate() for p in procs]
            self.assertEqual([p.returncode for p in procs], [0, 0, 0], outs)
            listing = self.nft("list", "table", "inet", "natc").stdout
            present = [p for i, p in enumerate(specs) if f"tcp . {9000 + 10 * round_ + i} " in listing]
            self.assertEqual(len(present), 1, listing)
            plan = subprocess.run([NATC, "plan", present[0], "--detailed-exitcode", "--netns", self.t.ns["gw"],
                                   "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state_dir, "--lock", self.lock],
                                  capture_output=True, text=True)
            self.assertEqual(plan.returncode, 0, plan.stdout)

    def test_a_commit_that_loses_the_race_plans_again_and_wins(self):
        # Deterministic: strace holds A's batch (its first sendmsg) for a
        # second, while B reads and commits. The kernel then refuses A's
        # batch with ERESTART (its generation moved), and A plans again.
        if not shutil.which("strace"):
            self.skipTest("strace is not installed")
        a = self.spec(GATEWAY.replace("8080", "8091"), "a.yaml")
        b = self.spec(GATEWAY.replace("8080", "8092"), "b.yaml")
        common = ["--yes", "--netns", self.t.ns["gw"], "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state_dir]
        slow = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=sendmsg",
                                 "-e", "inject=sendmsg:delay_enter=1000000:when=1", NATC, "apply", a, *common,
                                 "--lock", self.lock + "a"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # A has read the ruleset and sits in its held sendmsg
        fast = subprocess.run([NATC, "apply", b, *common, "--lock", self.lock + "b"], capture_output=True, text=True)
        out, err = slow.communicate()
        self.assertEqual(fast.returncode, 0, fast.stderr)
        self.assertEqual(slow.returncode, 0, err)
        self.assertIn("The ruleset changed while natc planned; planning again.", out)
        listing = self.nft("list", "table", "inet", "natc").stdout
        self.assertIn("tcp . 8091 ", listing)
        self.assertNotIn("tcp . 8092 ", listing)
        self.assertEqual(self.natc("plan", a, "--detailed-exitcode", check=False).returncode, 0)

    def test_the_lock_names_its_holder(self):
        with open(self.lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write("4242\n")
            f.flush()
            r = self.natc("apply", self.spec(GATEWAY), "--yes", "--lock-wait", "1", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("pid 4242", r.stderr)
        self.assertNotEqual(self.nft("list", "table", "inet", "natc").returncode, 0)

    def test_a_bad_spec_changes_nothing(self):
        r = self.natc("apply", self.spec(GATEWAY.replace("masquerade", "masqurade")), "--yes", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("E1014", r.stderr)
        self.assertNotEqual(self.nft("list", "table", "inet", "natc").returncode, 0)
        self.assertEqual(os.listdir(self.sysctl_dir), [])

    def test_a_plan_from_a_snapshot_equals_the_plan_from_live(self):
        self.natc("apply", self.spec(GATEWAY), "--yes")
        snap = os.path.join(self.dir, "snap.json")
        self.natc("snapshot", "-o", snap)
        changed = self.spec(GATEWAY.replace("10.0.0.5:80", "10.0.0.7:80") + "  - {name: dns, ingress: wan, protocol: udp, port: 53, to: 10.0.0.2}\n", "c.yaml")
        live = self.natc("plan", changed, "--format", "json").stdout
        # --state FILE needs neither the kernel nor the namespace.
        offline = subprocess.run([NATC, "plan", changed, "--state", snap, "--format", "json",
                                  "--sysctl-dir", self.sysctl_dir, "--state-dir", self.state_dir], capture_output=True, text=True)
        self.assertEqual(offline.returncode, 0, offline.stderr)
        # Flow counts come from the live conntrack table; a snapshot has none.
        # So do the live lints' warnings (W3001: the gateway's own address).
        live, offline = json.loads(live), json.loads(offline.stdout)
        for change in live["changes"]:
            change.pop("flows_reset", None)
        self.assertEqual([d["code"] for d in live.pop("diagnostics")], ["W3001"])
        self.assertEqual(offline.pop("diagnostics"), [])
        self.assertEqual(offline, live)

    def test_sysctls_ip_forward_first_equal_values_untouched_and_conntrack_via_proc_sys(self):
        proc = os.path.join(self.dir, "proc")
        os.makedirs(os.path.join(proc, "net", "ipv4"))
        os.makedirs(os.path.join(proc, "net", "netfilter"))
        for key, value in (("net/ipv4/ip_forward", "0"), ("net/netfilter/nf_conntrack_max", "65536"),
                           ("net/netfilter/nf_conntrack_tcp_timeout_established", "600")):
            with open(os.path.join(proc, key), "w") as f:
                f.write(value + "\n")
        untouched = os.path.join(proc, "net/netfilter/nf_conntrack_tcp_timeout_established")
        os.utime(untouched, (1, 1))
        spec = self.spec(GATEWAY + "conntrack: {max: 262144, timeouts: {tcp_established: 600}}\n")
        r = self.natc("apply", spec, "--yes", "--proc-sys", proc)
        lines = [l for l in r.stdout.splitlines() if "sysctl" in l]
        self.assertIn("net.ipv4.ip_forward", lines[0])
        self.assertEqual(read(os.path.join(proc, "net/ipv4/ip_forward")), "1")
        self.assertEqual(read(os.path.join(proc, "net/netfilter/nf_conntrack_max")), "262144")
        self.assertEqual(os.stat(untouched).st_mtime, 1)
        conf = read(os.path.join(self.sysctl_dir, "90-natc.conf"))
        self.assertIn("net.netfilter.nf_conntrack_max = 262144", conf)

    def test_a_refused_sysctl_is_named_and_the_ruleset_goes_back(self):
        # In a network namespace the real nf_conntrack_max is read-only (a
        # value equal to the current one would not be written at all).
        current = int(self.t.run(self.t.ns["gw"], "cat", "/proc/sys/net/netfilter/nf_conntrack_max").stdout)
        spec = self.spec(GATEWAY + "conntrack: {max: %d}\n" % (current - 1))
        r = self.natc("apply", spec, "--yes", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("E4003", r.stderr)
        self.assertIn("net.netfilter.nf_conntrack_max", r.stderr)
        self.assertNotEqual(self.nft("list", "table", "inet", "natc").returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(self.sysctl_dir, "90-natc.conf")))


if __name__ == "__main__":
    main(globals())
