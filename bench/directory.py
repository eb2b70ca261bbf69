#!/usr/bin/python3
"""Spec directory benchmark (not a test): N port forwards in a directory of
F files (00-base plus F-1 files of forwards), applied with natc beside
`nft -f` of natc's own compiled script, in throwaway network namespaces,
the same run. Rows: a full apply into an empty namespace; one forward's
target moved in one file (edited in place, as an operator does); an apply
that changes nothing. natc keeps its parse cache and state image in a
fresh state directory per run. Prints medians, ratios and natc's phases
(-v). Root needed.

Usage: bench/directory.py BUILD_DIR [N ...] [--files F] [--runs R] [--json]"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apply import Netns, phases, sh, timed  # noqa: E402


def forward(i):
    return {"name": f"fwd-{i}", "ingress": "wan", "protocol": "tcp", "port": 1024 + i % 60000,
            "to": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:80",
            "destination": f"203.0.113.{64 + i // 60000}"}


def write(path, doc, as_json):
    with open(path, "w") as f:
        if as_json:
            json.dump(doc, f, indent=1)
            return
        for key, value in doc.items():
            if isinstance(value, list):
                f.write(f"{key}:\n")
                for item in value:
                    f.write("  - " + "\n    ".join(f"{k}: {v}" for k, v in item.items()) + "\n")
            else:
                f.write(f"{key}: {json.dumps(value)}\n")


def generate(d, n, files, as_json):
    os.makedirs(d)
    ext = ".json" if as_json else ".yaml"
    write(os.path.join(d, "00-base" + ext), {
        "version": 1, "interfaces": {"wan": "eth0"},
        "subnets": [{"name": "servers", "cidr": "10.0.0.0/8", "egress": "wan", "snat": {"to": "203.0.113.1"}}]},
        as_json)
    per = -(-n // (files - 1))
    for k in range(files - 1):
        write(os.path.join(d, f"fwd-{k:03d}{ext}"),
              {"port_forwards": [forward(i) for i in range(k * per, min(n, (k + 1) * per))]}, as_json)
    return os.path.join(d, f"fwd-000{ext}")


def age(path, seconds=60):
    """Files written a moment ago are not cached (their mtime could hide a
    change): set them back as if written a while ago."""
    t = time.time() - seconds
    for root, _, names in os.walk(path) if os.path.isdir(path) else [(os.path.dirname(path), [], [os.path.basename(path)])]:
        for name in names:
            os.utime(os.path.join(root, name), (t, t))


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    as_json = "--json" in sys.argv
    opts = {"--files": 100, "--runs": 3}
    for key in opts:
        if key in args:
            i = args.index(key)
            opts[key] = int(args[i + 1])
            del args[i:i + 2]
    build, sizes = args[0], [int(a) for a in args[1:]] or [100000]
    natc = os.path.join(build, "natc")
    work = tempfile.mkdtemp()
    for n in sizes:
        template = os.path.join(work, f"t{n}")
        edited = generate(template, n, opts["--files"], as_json)
        script = sh(natc, "compile", template).stdout
        with open(edited) as f:
            moved_text = f.read().replace("10.0.0.0:80", "10.0.0.1:81", 1)
        moved_dir = os.path.join(work, f"m{n}")
        shutil.copytree(template, moved_dir)
        with open(os.path.join(moved_dir, os.path.basename(edited)), "w") as f:
            f.write(moved_text)
        moved_script = sh(natc, "compile", moved_dir).stdout
        rows = {"full": [], "one": [], "same": [], "nft_full": [], "nft_one": []}
        ph = {"full": [], "one": [], "same": []}
        for run in range(opts["--runs"]):
            with Netns() as ns:
                rows["nft_full"].append(timed(["ip", "netns", "exec", ns.name, "nft", "-f", "-"], input=script)[0])
                rows["nft_one"].append(timed(["ip", "netns", "exec", ns.name, "nft", "-f", "-"],
                                             input=moved_script)[0])
            spec = os.path.join(work, f"run{n}-{run}")
            shutil.copytree(template, spec)
            age(spec)
            state = tempfile.mkdtemp()
            with Netns() as ns:
                common = ["--netns", ns.name, "--yes", "-v", "--sysctl-dir", state, "--lock",
                          os.path.join(state, "lock"), "--state-dir", os.path.join(state, "state")]
                for row in ("full", "one", "same"):
                    if row == "one":
                        with open(os.path.join(spec, os.path.basename(edited)), "w") as f:
                            f.write(moved_text)
                    t, r = timed([natc, "apply", spec, *common])
                    rows[row].append(t)
                    ph[row].append(phases(r.stderr))
                    if row == "one":
                        age(os.path.join(spec, os.path.basename(edited)), 30)
            shutil.rmtree(state)
            shutil.rmtree(spec)
        med = statistics.median
        print(f"{n} port forwards in {opts['--files']} {'JSON' if as_json else 'YAML'} files "
              f"(median of {opts['--runs']}):")
        for row, base, label in (("full", "nft_full", "full apply"), ("one", "nft_one", "one change"),
                                 ("same", "nft_one", "no change")):
            print(f"  {label + ':':12} nft -f {med(rows[base]) * 1000:8.1f} ms   natc apply "
                  f"{med(rows[row]) * 1000:8.1f} ms  ({med(rows[row]) / med(rows[base]):.2f}x)")
            keys = list(ph[row][0])
            print("    phases (ms): " + ", ".join(f"{k} {med([p.get(k, 0) for p in ph[row]]):.1f}" for k in keys))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
