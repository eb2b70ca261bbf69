#!/usr/bin/python3
"""`natc apply` of a saved plan that was tampered with or broken: every
mutation exits 1 with a diagnostic, never an abort (134) or a crash.

No root needed: the plan is made against the committed CI snapshot, and
apply is pointed at a network namespace that does not exist, so a plan that
is still valid stops there ("cannot open network namespace") and nothing on
this machine is touched. Usage: plan_file_test.py NATC
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NATC = os.path.abspath(sys.argv.pop(1)) if __name__ == "__main__" else "natc"
VALUES = [None, True, False, 0, -1, 1.5, 2**64, "", "x", "12345", [], {}, "9" * 40]


class PlanFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="natc-plan-files-")
        cls.plan = os.path.join(cls.tmp, "plan.json")
        r = subprocess.run([NATC, "plan", os.path.join(ROOT, "examples", "port-forward.yaml"), "--state",
                            os.path.join(ROOT, "examples", "ci", "gateway.snapshot.json"), "-o", cls.plan],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        cls.text = open(cls.plan, "rb").read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def apply(self, data):
        path = os.path.join(self.tmp, "mutated.json")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([NATC, "apply", path, "--yes", "--netns", f"natc-no-such-ns-{os.getpid()}",
                            "--lock", os.path.join(self.tmp, "lock"), "--sysctl-dir", self.tmp, "--state-dir", self.tmp,
                            "--proc-sys", self.tmp], capture_output=True)
        return r.returncode, r.stderr.decode(errors="replace")

    def assert_refused(self, data, what):
        code, err = self.apply(data)
        self.assertEqual(code, 1, f"{what}: exit {code}\n{err[:800]}")
        self.assertNotIn("terminate called", err, what)
        self.assertTrue(err.strip(), f"{what}: no diagnostic")
        return err

    def test_the_plan_itself_gets_as_far_as_the_missing_namespace(self):
        err = self.assert_refused(self.text, "unmutated")
        self.assertIn("cannot open network namespace", err)

    def test_every_field_changed_or_removed_is_an_e4004(self):
        # A wrong type is named; a right type with another value breaks the
        # plan's hash: either way nothing is applied.
        plan = json.loads(self.text)
        checked = 0
        for key in ["natc_plan", "spec", "spec_text", "genid", "live_hash", "sysctls", "sysctl_file", "plan",
                    "plan_hash"]:
            for value in VALUES + ["<deleted>"]:
                mutated = dict(plan)
                if value == "<deleted>":
                    del mutated[key]
                else:
                    mutated[key] = value
                err = self.assert_refused(json.dumps(mutated).encode(), f"{key}={value!r}")
                self.assertIn("error[E4004]: not a usable natc plan", err, f"{key}={value!r}: {err[:800]}")
                checked += 1
        self.assertEqual(checked, 9 * (len(VALUES) + 1))

    def test_truncations_byte_flips_and_foreign_bytes_never_abort(self):
        rng = random.Random(20261201)
        data = self.text
        cases = [data[:n] for n in range(0, len(data), max(1, len(data) // 60))]
        for _ in range(150):
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            cases.append(bytes(b))
        cases.append(data.replace(b'"spec.yaml"', b'"\xff\xfe"'))
        cases.append(data.replace(b"version: 1", b"version: \xc3\x28"))
        for i, c in enumerate(cases):
            self.assert_refused(c, f"case {i}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
