#!/usr/bin/python3
"""Status benchmark (not a test): `natc status` beside `conntrack -L >
/dev/null` on a gateway whose conntrack table holds M flows through natc's
port forwards. Root needed.

The gateway of bench/dataplane.py (N UDP port forwards; an internet host
sends M packets, each a new flow to one of them), then, in turn, run after
run: `conntrack -L` into /dev/null, `natc status` (no spec: counts per
entry from the live table) and `natc status SPEC` (drift and timeouts
too). M is bounded by the kernel's nf_conntrack_max, which only the
initial namespace may raise (the VM's own: left alone here).

Usage: bench/status.py BUILD_DIR [--forwards N] [--flows M] [--runs R]"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apply import sh  # noqa: E402
from dataplane import Gateway, spec  # noqa: E402


def option(name, default):
    if name in sys.argv:
        i = sys.argv.index(name)
        value = int(sys.argv[i + 1])
        del sys.argv[i:i + 2]
        return value
    return default


def timed(argv):
    """Seconds argv took, its output into /dev/null."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main():
    n, runs = option("--forwards", 1000), option("--runs", 5)
    limit = int(open("/proc/sys/net/netfilter/nf_conntrack_max").read())
    m = option("--flows", limit - 1000)
    build = sys.argv[1]
    natc = os.path.join(build, "natc")
    work = tempfile.mkdtemp()
    spec_path = os.path.join(work, "udp.yaml")
    with open(spec_path, "w") as f:
        f.write(spec(n))
    with Gateway(natc, spec_path, work) as g:
        sh("ip", "netns", "exec", g.net, sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                       "dataplane.py"), "--send", str(n), str(m))
        flows = g.conntrack_count()
        status = [natc, "status", "--netns", g.gw, *g.private()]
        times = {"conntrack -L": [], "natc status": [], "natc status SPEC": []}
        for _ in range(runs):
            times["conntrack -L"].append(timed(["ip", "netns", "exec", g.gw, "conntrack", "-L"]))
            times["natc status"].append(timed(status))
            times["natc status SPEC"].append(timed(status[:2] + [spec_path] + status[2:]))
        out = (sh(*status, "-v").stderr.strip().splitlines() or ["(none)"])[-1]
        after = g.conntrack_count()
    base = statistics.median(times["conntrack -L"])
    print(f"{flows} conntrack entries ({after} after), {n} port forwards, median of {runs}:")
    for name, t in times.items():
        print(f"  {name:18} {statistics.median(t) * 1000:8.1f} ms  ({statistics.median(t) / base:.2f}x)")
    print(f"  natc status -v: {out}")


if __name__ == "__main__":
    main()
