#!/usr/bin/python3
"""natc as a user gets it, from a fresh clone of this repository's HEAD:

- examples/ci/github-actions.yml, its steps run as written (bash -eo
  pipefail, as GitHub runs them) in a clean workspace holding only a
  user's gateway/ directory, with GitHub's files ($GITHUB_ENV,
  $GITHUB_STEP_SUMMARY, $RUNNER_TEMP) and an apt-get that only checks the
  packages are installed (no network here); then again with a broken spec;
- the documented source install (`meson configure --prefix=/usr`, then
  `meson install`) into a staging root;
- tools/package: the .deb's files, lintian, unpacked with dpkg-deb -x and
  installed with dpkg --root, natc --version from it.

Usage: fresh_clone_test.py SOURCE_DIR   (exit 77: not a git checkout)"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

SRC = None
TMP = None

FAKE_APT = """#!/bin/sh
# apt-get for a machine without network: "install" only checks.
[ "$1" = update ] && exit 0
for p in "$@"; do
  case "$p" in -*|install) continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || { echo "not installed: $p" >&2; exit 100; }
done
"""


def run(*argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


class Workflow:
    """The workflow file, its env and steps, with GitHub's expressions
    replaced by what a repository with NATC_GIT set would give."""

    def __init__(self, path, natc_git):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.vars = {"NATC_GIT": natc_git}

    def expand(self, text):
        def one(m):
            expr = m.group(1).strip()
            v = re.fullmatch(r"vars\.(\w+)(?:\s*\|\|\s*'([^']*)')?", expr)
            if not v:
                raise AssertionError(f"unexpected expression ${{{{ {expr} }}}}")
            return self.vars.get(v.group(1)) or (v.group(2) or "")
        return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))

    def env(self):
        return {k: self.expand(v) for k, v in self.doc.get("env", {}).items()}

    def steps(self):
        (job,) = self.doc["jobs"].values()
        return job["steps"]


class FreshClone(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.git = os.path.join(TMP, "natc.git")  # what NATC_GIT names
        run("git", "init", "-q", "--bare", cls.git)
        r = run("git", "-C", SRC, "push", "-q", cls.git, "HEAD:refs/heads/main")
        assert r.returncode == 0, r.stderr
        cls.runner = os.path.join(TMP, "runner")
        cls.bin = os.path.join(TMP, "bin")
        for d in (cls.runner, cls.bin):
            os.mkdir(d)
        with open(os.path.join(cls.bin, "apt-get"), "w") as f:
            f.write(FAKE_APT)
        os.chmod(os.path.join(cls.bin, "apt-get"), 0o755)
        cls.flow = Workflow(os.path.join(SRC, "examples", "ci", "github-actions.yml"), "file://" + cls.git)
        cls.built = cls.run_workflow(cls, "examples/gateway.yaml", "pass")

    def run_workflow(self, spec, name, only=None, github_env_from=None):
        """Runs the steps (those named in `only`, or all) in a fresh
        workspace; returns [(step name, CompletedProcess)] and the summary.
        `github_env_from`: an earlier run whose $GITHUB_ENV the skipped
        steps would have written."""
        ws = os.path.join(TMP, name)
        os.makedirs(os.path.join(ws, "gateway"))
        shutil.copy(os.path.join(SRC, spec), os.path.join(ws, "gateway", "natc.yaml"))
        shutil.copy(os.path.join(SRC, "examples", "ci", "gateway.snapshot.json"),
                    os.path.join(ws, "gateway", "snapshot.json"))
        github_env, summary = os.path.join(ws, ".env"), os.path.join(ws, ".summary")
        if github_env_from:
            shutil.copy(os.path.join(TMP, github_env_from, ".env"), github_env)
        else:
            open(github_env, "w").close()
        env = {**os.environ, **self.flow.env(), "RUNNER_TEMP": self.runner, "GITHUB_ENV": github_env,
               "GITHUB_STEP_SUMMARY": summary, "PATH": self.bin + ":" + os.environ["PATH"]}
        results, failed = [], False
        for step in self.flow.steps():
            if "uses" in step:
                assert step["uses"].startswith("actions/checkout@"), step
                continue  # the workspace is the checkout
            if only and step["name"] not in only:
                continue
            if failed and step.get("if") != "always()":
                continue
            with open(github_env) as f:
                env.update(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
            r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.flow.expand(step["run"])],
                               cwd=ws, env=env, capture_output=True, text=True, timeout=900)
            results.append((step["name"], r))
            failed = failed or r.returncode != 0
        with open(summary) if os.path.exists(summary) else open(os.devnull) as f:
            return results, f.read()

    def test_1_the_workflow_plans_and_summarises(self):
        results, summary = self.built
        for name, r in results:
            self.assertEqual(r.returncode, 0, f"{name}: {r.stdout[-3000:]}{r.stderr[-3000:]}")
        self.assertIn("Plan: 7 to add, 5 to change, 0 to remove.", dict(results)["Validate, compile and plan"].stdout)
        self.assertIn("### natc plan for `gateway/natc.yaml`", summary)
        self.assertIn("| ➕ | `web-http` |", summary)
        self.assertIn("warning W3003", summary)  # the warnings reach the summary

    def test_2_a_broken_spec_fails_and_says_why(self):
        bad = os.path.join(TMP, "bad.yaml")
        with open(os.path.join(SRC, "examples", "gateway.yaml")) as f, open(bad, "w") as g:
            g.write(f.read().replace("masquerade", "masqurade"))
        results, summary = self.run_workflow(bad, "fail", only={"Validate, compile and plan", "Show the plan"},
                                            github_env_from="pass")
        self.assertEqual([(n, r.returncode != 0) for n, r in results],
                         [("Validate, compile and plan", True), ("Show the plan", False)])
        self.assertIn("### natc check failed: `natc validate gateway/natc.yaml`", summary)
        self.assertIn("error[E1014]", summary)

    def test_3_the_documented_source_install(self):
        build = os.path.join(self.runner, "natc", "build")
        r = run("meson", "configure", build, "--prefix=/usr")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(run("ninja", "-C", build).returncode, 0)
        dest = os.path.join(TMP, "staged")
        r = run("meson", "install", "-C", build, "--destdir", dest, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        for path in ["usr/bin/natc", "usr/lib/systemd/system/natc.service", "usr/share/man/man1/natc.1",
                     "usr/share/natc/natc.schema.json", "usr/share/doc/natc/examples/gateway.yaml"]:
            self.assertTrue(os.path.exists(os.path.join(dest, path)), path)
        with open(os.path.join(dest, "usr/lib/systemd/system/natc.service")) as f:
            self.assertIn("ExecStart=/usr/bin/natc apply", f.read())

    def test_4_the_debian_package(self):
        clone = os.path.join(self.runner, "natc")
        out = os.path.join(TMP, "deb")
        os.mkdir(out)
        r = run(os.path.join(clone, "tools", "package"), os.path.join(clone, "build"), out)
        self.assertEqual(r.returncode, 0, r.stderr)
        deb = r.stdout.strip()
        self.assertTrue(re.fullmatch(r".*/natc_[0-9.]+_\w+\.deb", deb), deb)
        files = run("dpkg-deb", "-c", deb).stdout
        for path in ["./usr/bin/natc", "./lib/systemd/system/natc.service", "./usr/share/man/man1/natc.1.gz",
                     "./usr/share/bash-completion/completions/natc", "./usr/share/natc/natc.schema.json",
                     "./usr/share/doc/natc/examples/gateway.yaml", "./usr/share/doc/natc/examples/ci/check",
                     "./usr/share/doc/natc/copyright", "./usr/share/doc/natc/changelog.gz",
                     "./usr/share/doc/natc/spec.md"]:
            self.assertIn(path + "\n", files)
        control = run("dpkg-deb", "-f", deb).stdout
        for lib in ["libnftnl11", "libmnl0", "libyaml-cpp0.7", "libnetfilter-conntrack3"]:
            self.assertRegex(control, rf"Depends: .*\b{re.escape(lib)}\b")
        self.assertIn("Recommends: keepalived, conntrackd", control)
        self.assertTrue(shutil.which("lintian"), "lintian is not installed (tools/setup installs it)")
        r = run("lintian", "--fail-on", "warning,error", deb)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        unpacked = os.path.join(TMP, "unpacked")
        self.assertEqual(run("dpkg-deb", "-x", deb, unpacked).returncode, 0)
        r = run(os.path.join(unpacked, "usr/bin/natc"), "--version")
        self.assertEqual((r.returncode, r.stdout.split()[0]), (0, "natc"), r.stderr)

        root = os.path.join(TMP, "root")  # an empty system: dependencies absent, so forced
        os.makedirs(os.path.join(root, "var/lib/dpkg/info"))
        os.makedirs(os.path.join(root, "var/lib/dpkg/updates"))
        for f in ("status", "available"):
            open(os.path.join(root, "var/lib/dpkg", f), "w").close()
        r = run("dpkg", "--root=" + root, "--force-depends", "-i", deb)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Status: install ok installed", run("dpkg", "--root=" + root, "-s", "natc").stdout)
        r = run(os.path.join(root, "usr/bin/natc"), "version", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)


def main():
    global SRC, TMP
    SRC = os.path.abspath(sys.argv.pop(1))
    if run("git", "-C", SRC, "rev-parse", "HEAD").returncode != 0:
        print("skipped: not a git checkout")
        sys.exit(77)
    TMP = tempfile.mkdtemp(prefix="natc-fresh-")
    try:
        ok = unittest.main(verbosity=2, exit=False).result.wasSuccessful()
    finally:
        shutil.rmtree(TMP)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
