#!/usr/bin/python3
"""Data-plane benchmark (not a test): what a new flow costs the gateway
with 1 port forward and with N, under natc's rules. Root needed.

Three namespaces per measurement: an internet host, the gateway (natc
applies N UDP port forwards, each to its own 10.x.y.z target, routed to a
sink host through one next hop) and the sink (drops and counts what
arrives). The internet host sends M UDP packets through a raw socket, each
a new flow (its own source address and port) to one of the forwards
(spread over all N), and times the sending: on veth the gateway's whole
path (conntrack, the DNAT map, forwarding, the sink's receive) runs in the
sender's system call. Sizes are measured in turn, run after run; prints
ns per new flow, the ratio to the first size, and how many flows the
gateway's conntrack table and the sink saw.

Usage: bench/dataplane.py BUILD_DIR [N ...] [--runs R] [--packets M]"""
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apply import Netns, arguments, sh  # noqa: E402

ADDRESSES = 16  # public addresses the forwards use, 60,000 ports each


def forward(i):
    """The i-th forward's (public address, port, target)."""
    return (f"203.0.113.{64 + i // 60000 % ADDRESSES}", 1024 + i % 60000,
            f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}")


def spec(n):
    lines = ["version: 1", "interfaces:", "  wan: eth0", "  lan: eth1", "port_forwards:"]
    for i in range(n):
        dest, port, target = forward(i)
        lines += [f"  - name: fwd-{i}", "    ingress: wan", "    protocol: udp", f"    port: {port}",
                  f"    to: {target}:80", f"    destination: {dest}"]
    return "\n".join(lines) + "\n"


def send(n, m):
    """In the internet host: M new flows spread over the N forwards; prints seconds."""
    packets = []
    for j in range(m):
        dest, port, _ = forward(j * 7919 % n)  # a prime stride: every forward, out of order
        src = f"198.51.{100 + j // (250 * 60000)}.{1 + j // 60000 % 250}"
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                             socket.inet_aton(dest))
        packets.append((header + struct.pack("!HHHH", 1024 + j % 60000, port, 24, 0) + b"natc-dataplane-1", dest))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for p, d in packets[:16]:  # neighbours resolved before the clock starts
        s.sendto(p, (d, 0))
    time.sleep(0.3)
    start = time.perf_counter()
    for p, d in packets[16:]:
        s.sendto(p, (d, 0))
    print(time.perf_counter() - start)


class Gateway:
    """internet host -- gateway (natc) -- sink; natc applies `spec_path`."""

    def __init__(self, natc, spec_path, work):
        self.natc, self.spec_path, self.work = natc, spec_path, work

    def __enter__(self):
        self.spaces = [Netns(), Netns(), Netns()]
        self.net, self.gw, self.sink = (s.__enter__().name for s in self.spaces)
        for peer, dev, gw_addr, peer_addr in ((self.net, "eth0", "203.0.113.1/24", "203.0.113.2/24"),
                                              (self.sink, "eth1", "172.16.0.1/30", "172.16.0.2/30")):
            sh("ip", "link", "add", dev, "netns", self.gw, "type", "veth", "peer", "name", "up0", "netns", peer)
            sh("ip", "-n", self.gw, "addr", "add", gw_addr, "dev", dev)
            sh("ip", "-n", peer, "addr", "add", peer_addr, "dev", "up0")
            for ns, d in ((self.gw, dev), (peer, "up0")):
                sh("ip", "-n", ns, "link", "set", d, "up")
        for a in range(ADDRESSES):
            sh("ip", "-n", self.gw, "addr", "add", f"203.0.113.{64 + a}/32", "dev", "eth0")
        sh("ip", "-n", self.gw, "route", "add", "198.51.0.0/16", "via", "203.0.113.2")
        sh("ip", "-n", self.gw, "route", "add", "10.0.0.0/8", "via", "172.16.0.2")
        sh("ip", "-n", self.net, "route", "add", "default", "via", "203.0.113.1")
        sh("ip", "netns", "exec", self.sink, "nft", "add table ip sink; add chain ip sink in "
           "{ type filter hook prerouting priority -300; counter drop; }")
        sh(self.natc, "apply", self.spec_path, "--yes", "--netns", self.gw, *self.private())
        return self

    def private(self):
        return ["--sysctl-dir", self.work, "--lock", os.path.join(self.work, "lock"), "--state-dir",
                os.path.join(self.work, "state-" + self.gw)]

    def __exit__(self, *exc):
        for s in self.spaces:
            s.__exit__(*exc)

    def conntrack_count(self):
        return int(sh("ip", "netns", "exec", self.gw, "cat", "/proc/sys/net/netfilter/nf_conntrack_count").stdout)

    def sink_count(self):
        out = sh("ip", "netns", "exec", self.sink, "nft", "list", "table", "ip", "sink").stdout
        return int(out.split("packets ")[1].split()[0])


def main():
    if sys.argv[1] == "--send":
        send(int(sys.argv[2]), int(sys.argv[3]))
        return
    m = 200000
    if "--packets" in sys.argv:
        i = sys.argv.index("--packets")
        m = int(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    build, sizes, runs = arguments(5, [1, 100000])
    natc = os.path.join(build, "natc")
    work = tempfile.mkdtemp()
    specs = {}
    for n in sizes:
        specs[n] = os.path.join(work, f"udp{n}.yaml")
        with open(specs[n], "w") as f:
            f.write(spec(n))
    per_flow = {n: [] for n in sizes}
    seen = {}
    for _ in range(runs):
        for n in sizes:
            with Gateway(natc, specs[n], work) as g:
                r = sh("ip", "netns", "exec", g.net, sys.executable, os.path.abspath(__file__), "--send", str(n),
                       str(m))
                per_flow[n].append(float(r.stdout) / (m - 16) * 1e9)
                seen[n] = (g.conntrack_count(), g.sink_count())
    base = statistics.median(per_flow[sizes[0]])
    print(f"new flows through a port forward, {m} per run (median of {runs}):")
    for n in sizes:
        med = statistics.median(per_flow[n])
        print(f"  {n:>7} forwards: {med:7.0f} ns per new flow  ({med / base:.3f}x;"
              f" runs {', '.join(f'{x:.0f}' for x in per_flow[n])});"
              f" conntrack entries {seen[n][0]}, packets at the sink {seen[n][1]}")


if __name__ == "__main__":
    main()
