"""Test hosts in network namespaces, built from veth pairs.

    inet (203.0.113.2) --wan-- gw (203.0.113.1 | 10.0.0.1 | 10.9.0.1) --lan-- lan (10.0.0.5)
                                                                  \\--lan9-- other (10.9.0.5)

The gateway's interfaces are named eth0 (wan), eth1 (lan), eth2 (other),
as the specs expect. Every namespace gets a unique prefix and is deleted
by close(); servers are processes inside the namespaces, killed by pid.
"""
import os
import subprocess
import sys
import time
import uuid

# The gateway spec most kernel tests start from.
GATEWAY = """
version: 1
interfaces: {wan: eth0, lan: eth1}
forwarding:
  policy: drop
subnets:
  - {name: office, cidr: 10.0.0.0/24, egress: wan, snat: masquerade}
port_forwards:
  - {name: web, ingress: wan, protocol: tcp, port: 8080, to: "10.0.0.5:80"}
"""

# IPv4 and IPv6 on one socket; an IPv4 client is named as IPv4.
ECHO_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(64)
while True:
    c, addr = s.accept()
    try:
        c.recv(4096)
        who = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
        body = ("%s %s\n" % (sys.argv[2], who)).encode()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    finally:
        c.close()
"""


# Holds one TCP connection open: each line on stdin is sent, each answer
# printed, so a test can use one flow before and after an apply.
LINE_CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
for line in sys.stdin:
    c.sendall(line.encode())
    print(c.recv(4096).decode().strip(), flush=True)
"""

LINE_SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
def serve(c):
    with c:
        while True:
            data = c.recv(4096)
            if not data:
                return
            c.sendall(sys.argv[2].encode() + b" " + data)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def sh(*argv, check=True, input=None):
    r = subprocess.run(argv, capture_output=True, text=True, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


class Topology:
    def __init__(self, wire=True):
        self.id = uuid.uuid4().hex[:6]
        self.ns = {name: f"natc-{name}-{self.id}" for name in ("gw", "inet", "lan", "other")}
        self.procs = []
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
            self.run(ns, "ip", "link", "set", "lo", "up")
        if wire:
            self.wire()

    def wire(self):
        """The links; a test of boot order creates them after natc applied."""
        self.link("gw", "eth0", "203.0.113.1/24", "inet", "203.0.113.2/24")
        self.link("gw", "eth1", "10.0.0.1/24", "lan", "10.0.0.5/24", gw="10.0.0.1")
        self.link("gw", "eth2", "10.9.0.1/24", "other", "10.9.0.5/24", gw="10.9.0.1")

    def link(self, a, a_if, a_addr, b, b_addr, gw=None):
        peer = f"v{self.id}{b[:3]}"
        sh("ip", "link", "add", a_if, "netns", self.ns[a], "type", "veth", "peer", "name", peer, "netns", self.ns[b])
        self.run(self.ns[b], "ip", "link", "set", peer, "name", "eth0")
        self.run(self.ns[a], "ip", "addr", "add", a_addr, "dev", a_if)
        self.run(self.ns[a], "ip", "link", "set", a_if, "up")
        self.run(self.ns[b], "ip", "addr", "add", b_addr, "dev", "eth0")
        self.run(self.ns[b], "ip", "link", "set", "eth0", "up")
        if gw:
            self.run(self.ns[b], "ip", "route", "add", "default", "via", gw)

    def run(self, ns, *argv, check=True, input=None):
        return sh("ip", "netns", "exec", ns, *argv, check=check, input=input)

    def serve(self, host, port, tag):
        """A TCP server in `host` that answers '<tag> <client address>'."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[host], sys.executable, "-c", ECHO_SERVER, str(port), tag],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.wait_listening(host, port)

    def wait_listening(self, host, port):
        for _ in range(50):
            if self.run(self.ns[host], "ss", "-ltn", f"sport = :{port}").stdout.count("LISTEN"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"no server came up on {host}:{port}")

    def serve_lines(self, host, port, tag="echo"):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[host], sys.executable, "-c", LINE_SERVER, str(port), tag],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.wait_listening(host, port)

    def connect(self, host, addr, port):
        """A held connection: .say(text) sends a line and returns the answer."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[host], sys.executable, "-c", LINE_CLIENT, addr, str(port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)

        class Flow:
            def say(self, text):
                try:
                    p.stdin.write(text + "\n")
                    p.stdin.flush()
                except BrokenPipeError:
                    return None
                return p.stdout.readline().strip() or None
        return Flow()

    def fetch(self, host, url, timeout=2):
        """What the server said, or None when it could not be reached."""
        r = self.run(self.ns[host], "curl", "-s", "--max-time", str(timeout), url, check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main(suite_globals):
    """Runs a kernel suite: skipped (77) without root; argv[1] is natc."""
    import unittest
    if os.geteuid() != 0:
        print("skipped: needs root for network namespaces")
        sys.exit(77)
    suite_globals["NATC"] = os.path.abspath(sys.argv.pop(1))
    unittest.main(module=suite_globals["__name__"], verbosity=2)


def without_counters(value):
    """nft's JSON with packet and byte counts taken out (they move with
    traffic), handles dropped and elements sorted: what a ruleset *is*."""
    import json
    if isinstance(value, dict):
        out = {k: without_counters(v) for k, v in value.items() if k not in ("counter", "handle", "packets", "bytes")}
        if isinstance(out.get("elem"), list):
            out["elem"] = sorted(out["elem"], key=lambda e: json.dumps(e, sort_keys=True))
        return out
    if isinstance(value, list):
        return [without_counters(v) for v in value if v != {"counter": None}]
    return value


def ruleset_of(topology, host):
    """natc's table in `host`, as nft lists it, without counters; None when absent."""
    import json
    r = topology.run(topology.ns[host], "nft", "-j", "list", "table", "inet", "natc", check=False)
    if r.returncode != 0:
        return None
    return without_counters([o for o in json.loads(r.stdout)["nftables"] if "metainfo" not in o])
