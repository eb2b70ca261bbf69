#!/usr/bin/python3
"""Apply benchmark (not a test): natc apply beside `nft -f` of natc's own
compiled script, at N port forwards, in throwaway network namespaces on
the same machine in the same run. Root needed.

For each N: a full apply into an empty namespace, a one-change apply (one
forward's target moved) onto the loaded table, and an apply that changes
nothing. Prints medians, the ratios, natc's phase timings (-v) and the
one-change batch size. With
--json natc applies the same specs as JSON specs (compile --format
spec-json); nft -f gets the same script either way.

Usage: bench/apply.py BUILD_DIR [N ...] [--runs R] [--json]"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

here = os.path.dirname(os.path.abspath(__file__))


def sh(*argv, input=None):
    r = subprocess.run(argv, capture_output=True, text=True, input=input)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr}")
    return r


class Netns:
    def __enter__(self):
        self.name = "natc-bench-" + uuid.uuid4().hex[:6]
        sh("ip", "netns", "add", self.name)
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name])


def timed(argv, input=None):
    start = time.perf_counter()
    r = sh(*argv, input=input)
    return time.perf_counter() - start, r


def peak_rss_mib(argv):
    """Runs argv (natc itself, not through another program) and returns its
    peak resident set size in MiB, from the kernel's accounting at exit."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}")
    return usage.ru_maxrss / 1024


def phases(stderr):
    m = re.search(r"natc: (.*)", stderr)
    return {k.strip(): float(v) for k, v in re.findall(r"([^,]+?) ([0-9.]+) ms", m.group(1))} if m else {}


def arguments(runs, sizes):
    """BUILD_DIR [N ...] [--runs R] [--json] -> (build, sizes, runs)."""
    args = [a for a in sys.argv[1:] if a != "--json"]
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    return args[0], [int(n) for n in args[1:]] or sizes, runs


def main():
    build, sizes, runs = arguments(3, [1000, 10000, 100000])
    natc = os.path.join(build, "natc")
    work = tempfile.mkdtemp()
    for n in sizes:
        spec = os.path.join(work, f"f{n}.yaml")
        with open(spec, "w") as f:
            subprocess.run([sys.executable, os.path.join(here, "gen_spec.py"), str(n)], stdout=f, check=True)
        moved = spec.replace(".yaml", "-moved.yaml")
        with open(spec) as f, open(moved, "w") as g:
            g.write(f.read().replace("to: 10.0.0.0:80", "to: 10.0.0.1:81", 1))
        script = sh(natc, "compile", spec).stdout
        moved_script = sh(natc, "compile", moved).stdout
        if "--json" in sys.argv:
            for yaml_path in (spec, moved):
                with open(yaml_path[:-5] + ".json", "w") as f:
                    f.write(sh(natc, "compile", yaml_path, "--format", "spec-json").stdout)
            spec, moved = spec[:-5] + ".json", moved[:-5] + ".json"
        nft_full, natc_full, nft_one, natc_one, commit_full, commit_one, ops_one = [], [], [], [], [], [], []
        natc_same, phases_one, phases_same, rss_full = [], [], [], []
        for _ in range(runs):
            sysctl_dir = tempfile.mkdtemp()
            with Netns() as ns:
                t, _ = timed(["ip", "netns", "exec", ns.name, "nft", "-f", "-"], input=script)
                nft_full.append(t)
                t, _ = timed(["ip", "netns", "exec", ns.name, "nft", "-f", "-"], input=moved_script)
                nft_one.append(t)
            with Netns() as ns:
                common = ["--netns", ns.name, "--yes", "-v", "--sysctl-dir", sysctl_dir, "--lock", os.path.join(work, "lock"), "--state-dir", os.path.join(work, "state")]
                t, r = timed([natc, "apply", spec, *common])
                natc_full.append(t)
                commit_full.append(phases(r.stderr).get("commit", 0) / 1000)
                t, r = timed([natc, "apply", moved, *common])
                natc_one.append(t)
                commit_one.append(phases(r.stderr).get("commit", 0) / 1000)
                phases_one.append(phases(r.stderr))
                ops_one.append(int(re.search(r"(\d+) kernel operations", r.stdout).group(1)))
                t, r = timed([natc, "apply", moved, *common])
                natc_same.append(t)
                phases_same.append(phases(r.stderr))
            with Netns() as ns:  # a full apply again, for its peak memory
                rss_full.append(peak_rss_mib([natc, "apply", spec, "--netns", ns.name, "--yes", "--sysctl-dir",
                                              sysctl_dir, "--lock", os.path.join(work, "lock"), "--state-dir",
                                              os.path.join(work, "state-rss")]))
        med = statistics.median
        print(f"{n} port forwards, {'JSON' if spec.endswith('.json') else 'YAML'} spec (median of {runs}):")
        print(f"  full apply:  nft -f {med(nft_full) * 1000:8.1f} ms   natc apply {med(natc_full) * 1000:8.1f} ms"
              f"  ({med(natc_full) / med(nft_full):.2f}x; of which commit {med(commit_full) * 1000:.1f} ms,"
              f" {med(commit_full) / med(nft_full):.2f}x)")
        print(f"  one change:  nft -f {med(nft_one) * 1000:8.1f} ms   natc apply {med(natc_one) * 1000:8.1f} ms"
              f"  ({med(natc_one) / med(nft_one):.2f}x; commit {med(commit_one) * 1000:.2f} ms,"
              f" {max(ops_one)} kernel operations)")
        print(f"  no change:   nft -f {med(nft_one) * 1000:8.1f} ms   natc apply {med(natc_same) * 1000:8.1f} ms"
              f"  ({med(natc_same) / med(nft_one):.2f}x)")
        print(f"  peak RSS of a full apply: {med(rss_full):.0f} MiB")
        for name, runs_phases in (("one change", phases_one), ("no change", phases_same)):
            keys = list(runs_phases[0])
            print(f"    {name} phases (ms): " +
                  ", ".join(f"{k} {med([p.get(k, 0) for p in runs_phases]):.1f}" for k in keys))


if __name__ == "__main__":
    main()
