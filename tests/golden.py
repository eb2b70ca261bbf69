#!/usr/bin/python3
"""Golden files: natc's exact output for a set of specs.

  diag/NAME.yaml      -> diag/NAME.out      `natc validate` (stdout, stderr, exit)
  json/NAME.yaml      -> json/NAME.out      `natc validate --format json`
  render/NAME.yaml    -> render/NAME.out    `natc compile` (stdout, stderr, exit)
  examples/NAME.yaml  -> examples/NAME.nft  `natc compile` of examples/
  help/NAME.out                             `natc NAME --help` (natc.out: `natc --help`)
  cli/NAME.args       -> cli/NAME.out       natc with those arguments, one per line

Usage: golden.py NATC [--update]. Exits 1 on the first mismatch set,
printing a unified diff for each. tools/update-golden rewrites them all.
"""
import difflib
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(natc, args, cwd):
    r = subprocess.run([natc] + args, cwd=cwd, capture_output=True, text=True, errors="replace")
    return r


def diag(natc, spec):
    cwd, name = os.path.split(spec)
    r = run(natc, ["validate", name], cwd)
    return f"$ natc validate {name}\n{r.stdout}--- stderr\n{r.stderr}--- exit {r.returncode}\n"


def diag_json(natc, spec):
    cwd, name = os.path.split(spec)
    r = run(natc, ["validate", "--format", "json", name], cwd)
    return f"$ natc validate --format json {name}\n{r.stdout}--- stderr\n{r.stderr}--- exit {r.returncode}\n"


def render(natc, spec):
    cwd, name = os.path.split(spec)
    r = run(natc, ["compile", name], cwd)
    return f"$ natc compile {name}\n{r.stdout}--- stderr\n{r.stderr}--- exit {r.returncode}\n"


def cli(natc, args_file):
    cwd = os.path.dirname(args_file)
    with open(args_file) as f:
        args = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    r = run(natc, args, cwd)
    return f"$ natc {' '.join(args)}\n{r.stdout}--- stderr\n{r.stderr}--- exit {r.returncode}\n"


COMMANDS = ["natc", "validate", "compile", "plan", "apply", "confirm", "rollback", "history", "snapshot", "destroy",
            "status", "flows", "version", "import", "explain"]


def help_text(natc, name):
    args = ["--help"] if name == "natc" else [name, "--help"]
    r = run(natc, args, HERE)
    return f"$ natc {' '.join(args)}\n{r.stdout}--- stderr\n{r.stderr}--- exit {r.returncode}\n"


def example(natc, spec):
    r = run(natc, ["compile", os.path.basename(spec)], os.path.dirname(spec))
    return r.stdout


SUITES = [
    (os.path.join(HERE, "golden", "diag", "*.yaml"), ".out", diag, None),
    (os.path.join(HERE, "golden", "json", "*.yaml"), ".out", diag_json, None),
    (os.path.join(HERE, "golden", "render", "*.yaml"), ".out", render, None),
    (os.path.join(ROOT, "examples", "*.yaml"), ".nft", example, os.path.join(HERE, "golden", "examples")),
    (os.path.join(HERE, "golden", "cli", "*.args"), ".out", cli, None),
]


def settle(golden, got, update):
    """Writes `got` as the golden file (update), or compares it and prints
    the difference; False on a mismatch."""
    if update:
        os.makedirs(os.path.dirname(golden), exist_ok=True)
        with open(golden, "w") as f:
            f.write(got)
        return True
    want = open(golden).read() if os.path.exists(golden) else ""
    if got == want:
        return True
    print(f"MISMATCH {os.path.relpath(golden, ROOT)}")
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "natc"))
    return False


def main():
    natc = os.path.abspath(sys.argv[1])
    update = "--update" in sys.argv[2:]
    failed = checked = 0
    for pattern, ext, produce, outdir in SUITES:
        for spec in sorted(glob.glob(pattern)):
            base = os.path.splitext(os.path.basename(spec))[0]
            golden = os.path.join(outdir or os.path.dirname(spec), base + ext)
            checked += 1
            failed += not settle(golden, produce(natc, spec), update)
    for name in COMMANDS:
        golden = os.path.join(HERE, "golden", "help", name + ".out")
        checked += 1
        failed += not settle(golden, help_text(natc, name), update)
    verb = "updated" if update else "checked"
    print(f"{verb} {checked} golden files, {failed} mismatched")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
