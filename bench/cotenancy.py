#!/usr/bin/python3
"""Co-tenancy benchmark (not a test): what the live checks add to natc apply,
at N port forwards, with no other table and beside Docker's rules (written
by iptables-nft), in a throwaway namespace whose interfaces route the
targets. Prints the medians of natc's own phase timings (-v) and of the
whole apply, for a re-apply that changes nothing. Root needed.

Usage: bench/cotenancy.py BUILD_DIR [N ...] [--runs R]"""
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apply import Netns, arguments, phases, sh  # noqa: E402

DOCKER = [
    "-P FORWARD DROP", "-N DOCKER-USER", "-A DOCKER-USER -j RETURN", "-A FORWARD -j DOCKER-USER",
    "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
    "-t nat -N DOCKER", "-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    "-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
    "-t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
]


def main():
    build, sizes, runs = arguments(5, [1000, 10000])
    natc = os.path.join(build, "natc")
    work = tempfile.mkdtemp()
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_spec.py")
    for n in sizes:
        spec = os.path.join(work, f"spec{n}.yaml")
        with open(spec, "w") as f:
            f.write(sh(sys.executable, gen, str(n)).stdout)
        for docker in (False, True):
            with Netns() as ns, Netns() as far:
                for name, addr in (("eth0", "203.0.113.1/24"), ("eth1", "10.0.0.1/8")):
                    sh("ip", "link", "add", name, "netns", ns.name, "type", "veth", "peer", "name", "p" + name,
                       "netns", far.name)
                    sh("ip", "-n", ns.name, "addr", "add", addr, "dev", name)
                    sh("ip", "-n", ns.name, "link", "set", name, "up")
                if docker:
                    for rule in DOCKER:
                        sh("ip", "netns", "exec", ns.name, "iptables", *shlex.split(rule))
                common = ["--yes", "-v", "--netns", ns.name, "--sysctl-dir", work, "--lock", os.path.join(work, "lock"), "--state-dir", os.path.join(work, "state")]
                sh(natc, "apply", spec, *common)
                checks, total = [], []
                for _ in range(runs):
                    start = time.perf_counter()
                    r = subprocess.run([natc, "apply", spec, *common], capture_output=True, text=True)
                    total.append(time.perf_counter() - start)
                    checks.append(phases(r.stderr).get("live checks", 0.0))
                warned = r.stderr.count("warning[W30")
                print(f"{n:>7} forwards, {'beside Docker' if docker else 'alone        '}: live checks "
                      f"{statistics.median(checks):7.1f} ms of {statistics.median(total) * 1000:7.1f} ms "
                      f"(re-apply, median of {runs}); {warned} warnings printed")


if __name__ == "__main__":
    main()
