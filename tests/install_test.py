#!/usr/bin/python3
"""What `meson install` delivers: the boot unit (systemd-analyze verify),
the man page (groff, no warnings, every command), the bash completion
(completing commands, options and values) and where each file lands.

Usage: install_test.py SOURCE_DIR BUILD_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = BUILD = None
COMMANDS = ["validate", "compile", "plan", "apply", "confirm", "rollback", "history", "snapshot", "destroy", "status", "flows",
            "version"]


def read(path):
    with open(path) as f:
        return f.read()


def run(*argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


class Install(unittest.TestCase):
    def test_meson_install_puts_every_file_where_debian_would(self):
        dest = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, dest)
        r = run("meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild", "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        prefix = run("meson", "introspect", BUILD, "--buildoptions").stdout
        import json
        opts = {o["name"]: o["value"] for o in json.loads(prefix)}
        root = dest + opts["prefix"]
        for path in ["bin/natc", "lib/systemd/system/natc.service", f"{opts['mandir']}/man1/natc.1",
                     f"{opts['datadir']}/bash-completion/completions/natc.bash",
                     f"{opts['datadir']}/natc/natc.schema.json", f"{opts['datadir']}/doc/natc/examples/gateway.yaml"]:
            self.assertTrue(os.path.exists(os.path.join(root, path)), path)

    def test_the_boot_unit_verifies_and_orders_natc_before_the_network(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        unit = read(os.path.join(BUILD, "natc.service"))
        self.assertIn("DefaultDependencies=no", unit)
        self.assertIn("Before=network-pre.target", unit)
        self.assertIn("Wants=network-pre.target", unit)
        self.assertIn("Type=oneshot", unit)
        self.assertIn("modprobe nf_conntrack", unit)
        self.assertIn("natc apply /etc/natc/natc.yaml --yes", unit)
        # verify needs the binary to exist: point it at the build's.
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        test_unit = os.path.join(d, "natc.service")
        natc_path = [l for l in unit.splitlines() if l.startswith("ExecStart=")][0].split("=", 1)[1].split()[0]
        with open(test_unit, "w") as f:
            f.write(unit.replace(natc_path, os.path.join(BUILD, "natc")))
        r = run("systemd-analyze", "verify", "--man=no", test_unit)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_the_man_page_renders_cleanly_and_covers_every_command(self):
        page = os.path.join(BUILD, "natc.1")
        r = run("groff", "-man", "-Tutf8", "-ww", "-z", page)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        text = read(page)
        for cmd in COMMANDS:
            self.assertIn(f'.SS "natc {cmd}', text)
        self.assertNotIn('.SS "natc __generate', text)
        self.assertIn('.SS "natc status [SPEC]"', text)  # optional, shown so
        self.assertIn('.SS "natc plan SPEC"', text)
        self.assertIn(".SH EXAMPLES", text)
        self.assertIn("\\fB\\-\\-format\\fR \\fItext|json|prometheus\\fR", text)

    def complete(self, *words):
        script = os.path.join(BUILD, "natc.bash")
        line = " ".join(words)
        bash = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _natc; "
                'printf "%s\\n" "${COMPREPLY[@]}"')
        r = run("bash", "-c", bash, cwd=SRC)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def test_completion_offers_commands_options_and_values(self):
        self.assertEqual(self.complete("natc", "pl"), ["plan"])
        self.assertIn("--detailed-exitcode", self.complete("natc", "plan", "--d"))
        self.assertEqual(sorted(self.complete("natc", "plan", "--format", "")), ["json", "markdown", "text"])
        self.assertEqual(sorted(self.complete("natc", "compile", "--format", "")), ["json", "spec-json", "text"])
        self.assertEqual(sorted(self.complete("natc", "status", "--format", "")), ["json", "prometheus", "text"])
        self.assertEqual(self.complete("natc", "vers"), ["version"])
        self.assertIn("examples", self.complete("natc", "apply", "ex"))
        self.assertNotIn("__generate", self.complete("natc", ""))


class CiExample(unittest.TestCase):
    def check(self, spec, **env):
        md = tempfile.mktemp(suffix=".md")
        self.addCleanup(lambda: os.path.exists(md) and os.unlink(md))
        r = run(os.path.join(SRC, "examples", "ci", "check"), spec,
                os.path.join(SRC, "examples", "ci", "gateway.snapshot.json"), md,
                env={**os.environ, "NATC": os.path.join(BUILD, "natc"), **env}, cwd=SRC)
        return r, read(md) if os.path.exists(md) else ""

    def test_the_ci_dry_run_plans_against_the_committed_snapshot(self):
        r, md = self.check("examples/gateway.yaml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Plan: 7 to add, 5 to change, 0 to remove.", r.stdout)
        self.assertIn("| ➕ | `web-http` |", md)
        self.assertIn("`net.netfilter.nf_conntrack_max` | 262144 → 524288", md)
        self.assertIn("- examples/gateway.yaml:49:5 warning W3003: port forward 'web' uses hairpin", md)

    def test_warnings_fail_the_check_when_asked(self):
        r, md = self.check("examples/gateway.yaml", NATC_WARNINGS="error")
        self.assertEqual(r.returncode, 1)
        self.assertIn("### natc check failed: `natc validate examples/gateway.yaml --warnings-as-errors`", md)
        self.assertIn("warning[W3003]", md)
        r, md = self.check("examples/gateway.yaml", NATC_WARNINGS="error", NATC_ALLOW="W3003")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("W3003", md + r.stderr)

    def test_the_ci_dry_run_fails_on_a_bad_spec(self):
        bad = tempfile.mktemp(suffix=".yaml")
        with open(bad, "w") as f:
            f.write(read(os.path.join(SRC, "examples", "gateway.yaml")).replace("masquerade", "masqurade"))
        self.addCleanup(os.unlink, bad)
        r, md = self.check(bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("E1014", r.stderr)
        self.assertIn("error[E1014]", md)  # the PR comment says why


def main():
    global SRC, BUILD
    SRC, BUILD = os.path.abspath(sys.argv.pop(1)), os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
