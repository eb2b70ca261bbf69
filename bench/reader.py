#!/usr/bin/python3
"""Reader benchmark: `natc validate` on an N-forward spec beside yaml-cpp
alone on the same file (event API floor, and YAML::Load), and on the same
spec as JSON, same machine, same run. Prints median wall time and peak RSS
of each, and the ratios.

Usage: bench/reader.py BUILD_DIR [N] [RUNS]"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))


def measure(argv):
    """Wall seconds and peak RSS (MiB) of one run of argv."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def as_json(build, spec):
    """The spec converted by natc itself (compile --format spec-json)."""
    out = spec[:-5] + ".json"
    with open(out, "w") as f:
        subprocess.run([os.path.join(build, "natc"), "compile", spec, "--format", "spec-json"], stdout=f, check=True)
    return out


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    spec = os.path.join(tempfile.mkdtemp(), f"forwards-{n}.yaml")
    with open(spec, "w") as f:
        subprocess.run([sys.executable, os.path.join(here, "gen_spec.py"), str(n)], stdout=f, check=True)
    size = os.path.getsize(spec) / 1e6
    spec_json = as_json(build, spec)
    variants = [
        ("yaml-cpp events (floor)", [os.path.join(build, "bench", "yaml-baseline"), "events", spec]),
        ("yaml-cpp YAML::Load", [os.path.join(build, "bench", "yaml-baseline"), "load", spec]),
        ("natc validate", [os.path.join(build, "natc"), "validate", spec]),
        ("natc compile", [os.path.join(build, "natc"), "compile", spec]),
        ("natc validate, JSON spec", [os.path.join(build, "natc"), "validate", spec_json]),
        ("natc compile, JSON spec", [os.path.join(build, "natc"), "compile", spec_json]),
    ]
    print(f"spec: {n} port forwards, {size:.1f} MB ({os.path.getsize(spec_json) / 1e6:.1f} MB as JSON); "
          f"median of {runs} runs")
    results = {}
    for name, argv in variants:
        samples = [measure(argv) for _ in range(runs)]
        bad = [s for s in samples if s[2] != 0]
        if bad:
            print(f"{name}: exited {bad[0][2]}")
            sys.exit(1)
        results[name] = (statistics.median(s[0] for s in samples), max(s[1] for s in samples))
        print(f"  {name:26s} {results[name][0]:7.2f} s  {results[name][1]:8.1f} MiB peak RSS")
    floor = results["yaml-cpp events (floor)"]
    for name in ("natc validate", "natc compile", "yaml-cpp YAML::Load", "natc validate, JSON spec",
                 "natc compile, JSON spec"):
        t, m = results[name]
        print(f"  {name} / floor: {t / floor[0]:.2f}x time")
    if shutil.which("valgrind"):
        instructions(build, variants)


def instructions(build, variants):
    """Wall time on a shared VM is noisy; instruction counts (callgrind) are
    repeatable. Counted on a 10k-forward spec to keep callgrind quick."""
    spec = os.path.join(tempfile.mkdtemp(), "forwards-10000.yaml")
    with open(spec, "w") as f:
        subprocess.run([sys.executable, os.path.join(here, "gen_spec.py"), "10000"], stdout=f, check=True)
    spec_json = as_json(build, spec)
    print("instructions (callgrind), 10000 port forwards:")
    counts = {}
    for name, argv in variants:
        this = spec_json if argv[-1].endswith(".json") else spec
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv[:-1] + [this],
                           capture_output=True, text=True)
        counts[name] = int(re.search(r"Collected : (\d+)", r.stderr).group(1))
    floor = counts["yaml-cpp events (floor)"]
    for name, n in counts.items():
        print(f"  {name:26s} {n / 1e6:9.1f} M  {n / floor:.2f}x floor")


if __name__ == "__main__":
    main()
