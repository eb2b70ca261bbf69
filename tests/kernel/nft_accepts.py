#!/usr/bin/python3
"""Every example's compiled ruleset, judged by nft itself in a private netns:

- `nft -c -f` accepts the text script, and `nft -f` loads it;
- natc's `--format json` equals what nft lists (`nft -j list table inet natc`)
  for the ruleset it loaded, element for element and rule for rule.

Usage: nft_accepts.py NATC SPEC...   (exit 77: skipped, not root or no nft)
"""
import json
import os
import shutil
import subprocess
import sys
import uuid


def skip(why):
    print(f"skipped: {why}")
    sys.exit(77)


def run(*argv, stdin=None):
    return subprocess.run(argv, input=stdin, capture_output=True, text=True)


def normalize(objects):
    """nft objects -> comparable form: no handles, elements sorted."""
    out = []
    for o in objects:
        (kind, body), = o.items()
        if kind == "metainfo":
            continue
        body = {k: v for k, v in body.items() if k != "handle"}
        if "elem" in body:
            body["elem"] = sorted(body["elem"], key=lambda e: json.dumps(e, sort_keys=True))
        out.append({kind: body})
    return out


def natc_objects(doc):
    """natc's JSON is create / delete / create, then adds: keep what it adds
    after the delete."""
    cmds = doc["nftables"]
    deleted = next(i for i, c in enumerate(cmds) if "delete" in c)
    return [c["add"] for c in cmds[deleted + 1:]]


def check(natc, ns, spec):
    failures = []
    text = run(natc, "compile", spec)
    if text.returncode != 0:
        return [f"natc compile failed: {text.stderr}"]
    r = run("ip", "netns", "exec", ns, "nft", "-c", "-f", "-", stdin=text.stdout)
    if r.returncode != 0:
        failures.append(f"nft -c -f refused the script:\n{r.stderr}")
    r = run("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=text.stdout)
    if r.returncode != 0:
        return failures + [f"nft -f refused the script:\n{r.stderr}"]
    listed = run("ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "natc")
    ours = run(natc, "compile", "--format", "json", spec)
    want = normalize(json.loads(listed.stdout)["nftables"])
    got = normalize(natc_objects(json.loads(ours.stdout)))
    # The table object: nft lists it bare, natc creates it bare: compare the rest.
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            failures.append(f"JSON object {i} differs:\n nft:  {json.dumps(w, sort_keys=True)}\n natc: {json.dumps(g, sort_keys=True)}")
    if len(want) != len(got):
        failures.append(f"nft lists {len(want)} objects, natc renders {len(got)}")
    return failures


def main():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not shutil.which("nft"):
        skip("nft is not installed")
    natc, specs = sys.argv[1], sys.argv[2:]
    failed = 0
    for spec in specs:
        ns = "natc-t-" + uuid.uuid4().hex[:8]
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            failures = check(natc, ns, spec)
        finally:
            subprocess.run(["ip", "netns", "del", ns])
        status = "ok" if not failures else "FAIL"
        print(f"{status}: {spec}")
        for f in failures:
            print("  " + f.replace("\n", "\n  "))
        failed += bool(failures)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
