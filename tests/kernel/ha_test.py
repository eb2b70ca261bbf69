"""A gateway pair from one spec: keepalived and conntrackd in namespaces.

    inet (203.0.113.100, bridge) --wan-- gwa (.2) / gwb (.3) --lan-- client (10.0.0.5, bridge)
                                          \\---- sync 192.168.100.1/.2 ----/

Both gateways apply the same spec (priority and peer apart); keepalived
and conntrackd run in the foreground inside each gateway's namespace with
their files under a temp dir, killed by pid. Long-lived flows (the server
pushing every 200 ms with the client idle, and the client sending) must
survive each way of failing gwa: no reset, data continues, the gap printed.
Skips (77) when keepalived or conntrackd is not installed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from topology import sh  # noqa: E402

NATC = None

SPEC = """
version: 1
interfaces: {{wan: eth0, lan: eth1, sync: eth2}}
forwarding: {{policy: drop}}
subnets:
  - {{name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}}
port_forwards:
  - {{name: web, ingress: wan, protocol: tcp, port: 8080, to: "10.0.0.5:9100", destination: 203.0.113.50}}
ha:
  peer: {peer}
  sync_interface: sync
  priority: {priority}
  advert_interval: {advert}
  state_sync: {sync}
  strict_tcp: {strict}
  virtual_addresses:
    - {{interface: wan, address: 203.0.113.50/24, vrid: 50}}
    - {{interface: lan, address: 10.0.0.1/24, vrid: 51}}
"""

# Sends "<n>\n" every 200 ms to whoever connects, until they go.
PUSH_SERVER = r"""
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
def push(c):
    n = 0
    try:
        while True:
            c.sendall(b"%d\n" % n)
            n += 1
            time.sleep(0.2)
    except OSError as e:
        print("ERR %s" % e, flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=push, args=(c,), daemon=True).start()
"""

# Echoes every line back.
ECHO_SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
def echo(c):
    with c:
        f = c.makefile("rb")
        for line in f:
            c.sendall(line)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
"""

# Connects and prints "<time> <line>" for every line it reads; with
# "send", it sends a line every 200 ms and reads the echo. "ERR ..." and
# exit when the connection breaks.
CLIENT = r"""
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
f = c.makefile("rb")
send = sys.argv[3] == "send"
n = 0
try:
    while True:
        if send:
            c.sendall(b"%d\n" % n)
            n += 1
        line = f.readline()
        if not line:
            print("ERR closed", flush=True)
            break
        print("%.3f %s" % (time.time(), line.decode().strip()), flush=True)
        if send:
            time.sleep(0.2)
except OSError as e:
    print("ERR %s" % e, flush=True)
"""

KEEPALIVED_MAIN = """
global_defs {{
  script_user root
  router_id {name}
}}
include {include}
"""


class Pair:
    def __init__(self, sync=True, strict=True):
        self.id = uuid.uuid4().hex[:6]
        self.ns = {n: f"natc-ha{n}-{self.id}" for n in ("inet", "client", "gwa", "gwb")}
        self.tmp = tempfile.mkdtemp(prefix="natc-ha-")
        self.procs = {}  # name -> Popen
        self.sync = sync
        self.strict = strict
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            self.run(ns, "ip", "link", "set", "lo", "up")
        self.bridge("inet", "203.0.113.100/24")
        self.bridge("client", "10.0.0.5/24")
        self.run(self.ns["client"], "ip", "route", "add", "default", "via", "10.0.0.1")
        for gw, host in (("gwa", 2), ("gwb", 3)):
            self.port(gw, "eth0", "inet", f"203.0.113.{host}/24")
            self.port(gw, "eth1", "client", f"10.0.0.{host}/24")
        sh("ip", "link", "add", "eth2", "netns", self.ns["gwa"], "type", "veth", "peer", "name", "eth2", "netns",
           self.ns["gwb"])
        for gw, host in (("gwa", 1), ("gwb", 2)):
            self.run(self.ns[gw], "ip", "addr", "add", f"192.168.100.{host}/24", "dev", "eth2")
            self.run(self.ns[gw], "ip", "link", "set", "eth2", "up")

    def bridge(self, host, addr):
        ns = self.ns[host]
        self.run(ns, "ip", "link", "add", "br0", "type", "bridge")
        self.run(ns, "ip", "addr", "add", addr, "dev", "br0")
        self.run(ns, "ip", "link", "set", "br0", "up")

    def port(self, gw, ifname, host, addr):
        peer = f"p{gw}{ifname}"
        sh("ip", "link", "add", ifname, "netns", self.ns[gw], "type", "veth", "peer", "name", peer, "netns",
           self.ns[host])
        self.run(self.ns[host], "ip", "link", "set", peer, "master", "br0")
        self.run(self.ns[host], "ip", "link", "set", peer, "up")
        self.run(self.ns[gw], "ip", "addr", "add", addr, "dev", ifname)
        self.run(self.ns[gw], "ip", "link", "set", ifname, "up")

    def run(self, ns, *argv, check=True):
        return sh("ip", "netns", "exec", ns, *argv, check=check)

    def dir(self, gw):
        d = os.path.join(self.tmp, gw)
        os.makedirs(d, exist_ok=True)
        return d

    def natc_args(self, gw):
        d = self.dir(gw)
        return ["--netns", self.ns[gw], "--sysctl-dir", d, "--state-dir", d + "/state", "--lock", d + "/natc.lock",
                "--keepalived-conf", d + "/natc-keepalived.conf", "--conntrackd-conf", d + "/conntrackd.conf",
                "--keepalived-pid", d + "/keepalived.pid", "--ha-dir", d + "/run"]

    def spec(self, gw, extra="", advert="200ms"):
        peer = "192.168.100.2" if gw == "gwa" else "192.168.100.1"
        priority = 150 if gw == "gwa" else 100
        path = os.path.join(self.dir(gw), "spec.yaml")
        with open(path, "w") as f:
            f.write(SPEC.format(peer=peer, priority=priority, advert=advert, sync="true" if self.sync else "false",
                                strict="true" if self.strict else "false") + extra)
        return path

    def natc(self, gw, *argv, check=True):
        r = subprocess.run([NATC, *argv, *self.natc_args(gw)], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"natc {' '.join(argv)} on {gw}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def apply(self, gw, extra=""):
        return self.natc(gw, "apply", "--yes", self.spec(gw, extra))

    def start_daemons(self, gw):
        d = self.dir(gw)
        if self.sync:
            self.spawn(f"{gw}-conntrackd", gw, ["conntrackd", "-C", d + "/conntrackd.conf"])
            self.wait_for(lambda: os.path.exists(d + "/run/conntrackd.ctl"), f"conntrackd on {gw}")
        main = os.path.join(d, "keepalived.conf")
        with open(main, "w") as f:
            f.write(KEEPALIVED_MAIN.format(name=gw, include=d + "/natc-keepalived.conf"))
        self.spawn(f"{gw}-keepalived", gw, ["keepalived", "-n", "-l", "-D", "-P", "-f", main, "-p",
                                             d + "/keepalived.pid", "-r", d + "/vrrp.pid"])
        self.wait_for(lambda: os.path.exists(d + "/keepalived.pid"), f"keepalived on {gw}")

    def spawn(self, name, host, argv, log=True):
        out = open(os.path.join(self.tmp, name + ".log"), "w") if log else subprocess.DEVNULL
        self.procs[name] = subprocess.Popen(["ip", "netns", "exec", self.ns[host], *argv], stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            os.killpg(p.pid, sig)
            p.wait()

    def wait_for(self, ok, what, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if ok():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def has_vip(self, gw):
        r = self.run(self.ns[gw], "ip", "-br", "addr", "show", "dev", "eth0", check=False)
        return "203.0.113.50/24" in r.stdout

    def state(self, gw):
        try:
            with open(os.path.join(self.dir(gw), "run", "vrrp-state")) as f:
                return f.read().split()[0]
        except OSError:
            return None

    def forwarded(self, gw):
        """Packets counted in natc's table on `gw` (its sets count per
        element the forwarded packets of each subnet and forward)."""
        r = self.run(self.ns[gw], "nft", "-j", "list", "table", "inet", "natc", check=False)

        def packets(v):
            if isinstance(v, dict):
                return sum(packets(x) for k, x in v.items() if k != "packets") + v.get("packets", 0)
            if isinstance(v, list):
                return sum(packets(x) for x in v)
            return 0
        return packets(json.loads(r.stdout)) if r.returncode == 0 else 0

    def close(self):
        for name in list(self.procs):
            self.kill(name)
        # conntrackd started by natc itself (a restart) is nobody's child.
        for gw in ("gwa", "gwb"):
            conf = os.path.join(self.dir(gw), "conntrackd.conf")
            subprocess.run(["pkill", "-9", "-f", "conntrackd -C " + conf], capture_output=True)
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Flow:
    """A client's long-lived connection, its lines recorded with the time
    they arrived."""

    def __init__(self, pair, host, addr, port, mode):
        self.pair = pair
        self.lines = []
        self.proc = subprocess.Popen(["ip", "netns", "exec", pair.ns[host], sys.executable, "-c", CLIENT, addr,
                                      str(port), mode], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def received(self):
        return [line for line in self.lines if not line.startswith("ERR")]

    def errors(self):
        return [line for line in self.lines if line.startswith("ERR")]

    def wait_lines(self, n, timeout=10):
        end = time.time() + timeout
        while time.time() < end and len(self.received()) < n:
            time.sleep(0.05)
        return len(self.received()) >= n

    def gap_since(self, t0):
        """The longest silence (seconds) around and after t0."""
        times = [float(line.split()[0]) for line in self.received()]
        before = [t for t in times if t <= t0]
        after = [t for t in times if t > t0]
        if not before or not after:
            return None
        seq = [before[-1]] + after
        return max(b - a for a, b in zip(seq, seq[1:]))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def need_daemons():
    missing = [d for d in ("keepalived", "conntrackd") if not shutil.which(d) and not os.path.exists("/usr/sbin/" + d)]
    if missing:
        print(f"skipped: {' and '.join(missing)} not installed (tools/setup installs them)")
        sys.exit(77)


class PairTest(unittest.TestCase):
    def setUp(self):
        self.pair = None
        self.flows = []

    def tearDown(self):
        for f in self.flows:
            f.stop()
        if self.pair:
            self.pair.close()

    def up(self, sync=True, strict=True):
        """Both nodes applied from one spec, their daemons started; gwa
        (priority 150) holds the virtual addresses."""
        p = self.pair = Pair(sync=sync, strict=strict)
        for gw in ("gwa", "gwb"):
            p.apply(gw)
        for gw in ("gwa", "gwb"):
            p.start_daemons(gw)
        p.wait_for(lambda: p.has_vip("gwa") and p.state("gwa") == "primary", "gwa to become primary")
        p.wait_for(lambda: p.state("gwb") == "backup", "gwb to become backup")
        self.assertFalse(p.has_vip("gwb"))
        p.spawn("push", "inet", [sys.executable, "-u", "-c", PUSH_SERVER, "9000"])
        p.spawn("echo", "inet", [sys.executable, "-c", ECHO_SERVER, "9001"], log=False)
        p.spawn("lanpush", "client", [sys.executable, "-c", PUSH_SERVER, "9100"], log=False)
        for host, port in (("inet", 9000), ("inet", 9001), ("client", 9100)):
            p.wait_for(lambda: "LISTEN" in p.run(p.ns[host], "ss", "-ltn", f"sport = :{port}").stdout,
                       f"a server on {host}:{port}")
        return p

    def start_flows(self):
        p = self.pair
        flows = {
            "server pushes": Flow(p, "client", "203.0.113.100", 9000, "read"),
            "client sends": Flow(p, "client", "203.0.113.100", 9001, "send"),
            "port forward": Flow(p, "inet", "203.0.113.50", 8080, "read"),
        }
        self.flows += flows.values()
        for name, f in flows.items():
            self.assertTrue(f.wait_lines(3), f"{name}: no data before the failover: {f.lines[-3:]}")
        # Let conntrackd carry the new flows to the backup.
        time.sleep(1.0)
        return flows

    def survive(self, flows, t0, what, limit=2.0, via=None):
        """Every flow goes on after the failover at t0: no error, data
        continues (through `via`, when given); the longest silence is
        printed and under `limit`."""
        time.sleep(2.0)
        if via:
            before = self.pair.forwarded(via)
            time.sleep(1.0)
            self.assertGreater(self.pair.forwarded(via) - before, 10, f"{what}: the flows do not pass {via}")
        else:
            time.sleep(1.0)
        gaps = {}
        for name, f in flows.items():
            self.assertEqual(f.errors(), [], f"{what}: {name} broke")
            gap = f.gap_since(t0)
            self.assertIsNotNone(gap, f"{what}: {name} got no data after the failover")
            last = float(f.received()[-1].split()[0])
            self.assertGreater(last, time.time() - 1.0, f"{what}: {name} stalled")
            gaps[name] = gap
        print(f"  {what}: longest gap " + ", ".join(f"{n} {g:.2f}s" for n, g in gaps.items()), flush=True)
        for name, gap in gaps.items():
            self.assertLess(gap, limit, f"{what}: {name} was silent {gap:.2f}s")

    def to(self, gw):
        p = self.pair
        p.wait_for(lambda: p.has_vip(gw) and p.state(gw) == "primary", f"{gw} to become primary")

    def test_failover_keeps_flows_three_ways_and_back(self):
        p = self.up()
        # The internet host sees the virtual address, never a node's own.
        flows = self.start_flows()
        seen = p.run(p.ns["inet"], "ss", "-tn", "sport = :9000").stdout
        self.assertIn("203.0.113.50:", seen)
        self.assertNotIn("203.0.113.2:", seen)

        # 1. gwa's links cut.
        t0 = time.time()
        for i in ("eth0", "eth1", "eth2"):
            p.run(p.ns["gwa"], "ip", "link", "set", i, "down")
        self.to("gwb")
        self.survive(flows, t0, "links cut", via="gwb")

        # Failback: gwa's links return, it preempts (priority 150).
        t0 = time.time()
        for i in ("eth0", "eth1", "eth2"):
            p.run(p.ns["gwa"], "ip", "link", "set", i, "up")
        self.to("gwa")
        p.wait_for(lambda: not p.has_vip("gwb"), "gwb to give the addresses back")
        self.survive(flows, t0, "failback after links cut", via="gwa")

        # 2. keepalived killed: its addresses stay on gwa, gwb announces them.
        time.sleep(1.0)
        t0 = time.time()
        p.kill("gwa-keepalived")
        self.to("gwb")
        self.survive(flows, t0, "keepalived killed", via="gwb")
        t0 = time.time()
        self.restart(p, "gwa", conntrackd=False)
        self.to("gwa")
        self.survive(flows, t0, "failback after keepalived killed", via="gwa")

        # 3. every process of gwa's namespace killed.
        time.sleep(1.0)
        t0 = time.time()
        pids = sh("ip", "netns", "pids", p.ns["gwa"]).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name in ("gwa-keepalived", "gwa-conntrackd"):
            p.procs.pop(name).wait()
        # The dead keepalived leaves its addresses on gwa: the flows move
        # when gwb announces them (gratuitous ARP), and must go on there.
        self.to("gwb")
        self.survive(flows, t0, "node's processes killed", via="gwb")
        t0 = time.time()
        self.restart(p, "gwa", conntrackd=True)
        self.to("gwa")
        self.survive(flows, t0, "failback after the node restarted", via="gwa")

    def proc_sys(self, p, gw):
        """nf_conntrack_max cannot be set outside the first namespace: a
        copy of /proc/sys's keys natc reads, in a temp dir."""
        root = os.path.join(p.dir(gw), "proc-sys")
        if not os.path.exists(root):
            for key in ("net/ipv4/ip_forward", "net/netfilter/nf_conntrack_max",
                        "net/netfilter/nf_conntrack_tcp_be_liberal", "net/netfilter/nf_conntrack_count",
                        "net/netfilter/nf_conntrack_buckets"):
                os.makedirs(os.path.dirname(os.path.join(root, key)), exist_ok=True)
                with open(os.path.join(root, key), "w") as f:
                    f.write("1\n" if "ip_forward" in key or "liberal" in key else "65536\n")
        return root

    def restart(self, p, gw, conntrackd):
        d = p.dir(gw)
        for f in ("keepalived.pid", "vrrp.pid"):
            if os.path.exists(os.path.join(d, f)):
                os.unlink(os.path.join(d, f))
        if conntrackd:
            if os.path.exists(d + "/run/conntrackd.lock"):
                os.unlink(d + "/run/conntrackd.lock")
            p.spawn(f"{gw}-conntrackd", gw, ["conntrackd", "-C", d + "/conntrackd.conf"])
            p.wait_for(lambda: os.path.exists(d + "/run/conntrackd.ctl"), f"conntrackd on {gw}")
            time.sleep(1.5)  # the resync from the primary
        main = os.path.join(d, "keepalived.conf")
        p.spawn(f"{gw}-keepalived", gw, ["keepalived", "-n", "-l", "-D", "-P", "-f", main, "-p",
                                          d + "/keepalived.pid", "-r", d + "/vrrp.pid"])

    def test_a_virtual_address_in_no_subnet_of_its_interface_stops_plan_and_apply(self):
        p = self.pair = Pair()
        extra = "\n"  # gwa has no address in 10.9.0.0/24 on its LAN side
        path = p.spec("gwa", extra)
        with open(path) as f:
            text = f.read().replace("address: 10.0.0.1/24", "address: 10.9.0.1/24")
        with open(path, "w") as f:
            f.write(text)
        for argv in (["plan", path], ["apply", "--yes", path]):
            r = p.natc("gwa", *argv, check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("E2015", r.stderr)
            self.assertIn("in no subnet of 'lan'", r.stderr)
            self.assertNotIn("warnings count as errors", r.stderr)
        self.assertEqual(p.run(p.ns["gwa"], "nft", "list", "tables").stdout.strip(), "")

    def test_without_state_sync_the_pushed_flow_dies(self):
        self.without_sync(strict=True)
        # The flow went quiet: the new primary dropped its mid-flow packets
        # (strict TCP) instead of answering them with a reset.
        self.assertNotIn("ERR", open(os.path.join(self.pair.tmp, "push.log")).read())

    def test_without_state_sync_or_strict_tcp_the_pushed_flow_is_reset(self):
        self.without_sync(strict=False)
        # The new primary took the server's next packet for a new flow to
        # the virtual address itself, and answered it with a reset.
        log = os.path.join(self.pair.tmp, "push.log")
        self.pair.wait_for(lambda: "ERR" in open(log).read(), "the server to see its connection reset", 5)
        self.assertIn("reset", open(log).read())

    def without_sync(self, strict):
        p = self.up(sync=False, strict=strict)
        self.assertFalse(os.path.exists(os.path.join(p.dir("gwa"), "conntrackd.conf")))
        f = Flow(p, "client", "203.0.113.100", 9000, "read")
        self.flows.append(f)
        self.assertTrue(f.wait_lines(3))
        t0 = time.time()
        p.kill("gwa-keepalived")
        for i in ("eth0", "eth1"):
            p.run(p.ns["gwa"], "ip", "link", "set", i, "down")
        self.to("gwb")
        time.sleep(4.0)
        after = [line for line in f.received() if float(line.split()[0]) > t0 + 0.5]
        print(f"  without conntrackd: {len(after)} lines after the failover, errors {f.errors()}", flush=True)
        self.assertEqual(after, [], "the flow went on without state sync: the failover test could not fail")

    def test_a_spec_change_rolled_out_to_both_drops_no_flow(self):
        p = self.up()
        flows = self.start_flows()
        # status on each node: its VRRP state, the addresses it holds, the sync.
        for gw, state in (("gwa", "primary"), ("gwb", "backup")):
            r = p.natc(gw, "status", "--format", "json", p.spec(gw))
            pair = json.loads(r.stdout)["pair"]
            self.assertEqual(pair["state"], state, r.stdout)
            self.assertEqual([a["held"] for a in pair["virtual_addresses"]], [gw == "gwa"] * 2)
            self.assertTrue(pair["keepalived_running"] and pair["conntrackd_running"] and pair["peer_seen"], pair)
        self.assertGreaterEqual(json.loads(p.natc("gwb", "status", "--format", "json", p.spec("gwb")).stdout)
                                ["pair"]["sync"]["external_flows"], 3)
        prom = p.natc("gwa", "status", "--format", "prometheus", p.spec("gwa")).stdout
        self.assertIn("natc_ha_primary 1", prom)
        self.assertIn('natc_ha_address_held{vrid="50",address="203.0.113.50/24",interface="eth0"} 1', prom)
        self.assertIn("natc_ha_peer_seen 1", prom)
        # The nodes' own VRRP adverts are never translated (a SNAT that
        # matched them would make the backup's adverts fail with EPERM).
        for gw in ("gwa", "gwb"):
            vrrp = [line.split() for line in p.run(p.ns[gw], "conntrack", "-L").stdout.splitlines()
                    if line.split()[:2] == ["unknown", "112"]]
            self.assertTrue(vrrp, f"no VRRP entry in {gw}'s conntrack table")
            for fields in vrrp:
                src = [f for f in fields if f.startswith("src=")]
                dst = [f for f in fields if f.startswith("dst=")]
                self.assertEqual((src[0][4:], dst[0][4:]), (dst[1][4:], src[1][4:]), " ".join(fields))
        # notify is idempotent: a second primary changes nothing.
        for _ in range(2):
            r = p.run(p.ns["gwa"], NATC, "ha", "notify", "primary", "--conntrackd-conf",
                      os.path.join(p.dir("gwa"), "conntrackd.conf"), "--ha-dir", os.path.join(p.dir("gwa"), "run"))
            self.assertIn("committed the peer's flows", r.stdout)
        t0 = time.time()
        spec_extra = ("\nredirects:\n  - {name: dns, ingress: lan, protocol: udp, port: 53, to_port: 5353}\n")
        for gw in ("gwb", "gwa"):  # backup first, then primary
            r = p.apply(gw, spec_extra)
            self.assertNotIn("keepalived reloaded", r.stderr)  # only the pair hash moved
            self.assertNotIn("conntrackd restarted", r.stderr)
            time.sleep(0.5)
        self.survive(flows, t0, "spec change on both nodes", limit=1.0)
        # A change to the pair itself reloads keepalived; one to conntrackd's
        # file restarts it, and it fetches the primary's flows again. The
        # backup goes first and stays the backup.
        spec_extra += "conntrack: {max: 200000}\n"
        r = p.natc("gwb", "apply", "--yes", p.spec("gwb", spec_extra, advert="300ms"), "--proc-sys",
                   self.proc_sys(p, "gwb"))
        self.assertIn("keepalived reloaded", r.stderr)
        self.assertIn("conntrackd restarted", r.stderr)
        time.sleep(2.0)
        self.assertTrue(p.has_vip("gwa"))
        self.assertFalse(p.has_vip("gwb"))
        pair = json.loads(p.natc("gwb", "status", "--format", "json", p.spec("gwb"), "--proc-sys",
                               self.proc_sys(p, "gwb")).stdout)["pair"]
        self.assertTrue(pair["conntrackd_running"] and pair["keepalived_running"], pair)
        self.assertGreaterEqual(pair["sync"]["external_flows"], 3, pair)
        self.survive(flows, t0, "the backup's daemons reloaded", limit=1.0)
        spec_extra = spec_extra.replace("conntrack: {max: 200000}\n", "")
        self.assertIn("restarted", p.natc("gwb", "apply", "--yes", p.spec("gwb", spec_extra)).stderr)
        # The nodes agree again, and say so.
        peer = os.path.join(p.dir("gwb"), "natc-keepalived.conf")
        r = p.natc("gwa", "validate", "--live", "--peer-config", peer, p.spec("gwa", spec_extra), check=False)
        self.assertNotIn("W3023", r.stderr)
        self.assertNotIn("W3022", r.stderr)
        r = p.natc("gwa", "validate", "--live", "--peer-config", peer, p.spec("gwa"), check=False)
        self.assertIn("W3023", r.stderr)
        self.assertIn("differs", r.stderr)


if __name__ == "__main__":
    need_daemons()
    from topology import main
    main(globals())
