#!/usr/bin/python3
"""The JSON Schema and natc agree.

- schema/natc.schema.json is a valid JSON Schema 2020-12;
- every example is valid for the schema and for `natc validate`;
- every spec in tests/schema/bad is refused by both.

The validator is Debian's python3-jsonschema, independent of natc.
Usage: schema_test.py NATC
"""
import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def natc_accepts(natc, path):
    return subprocess.run([natc, "validate", path], capture_output=True).returncode == 0


def main():
    natc = sys.argv[1]
    schema = json.load(open(os.path.join(ROOT, "schema", "natc.schema.json")))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

    def schema_accepts(path):
        doc = yaml.safe_load(open(path))
        return not list(validator.iter_errors(doc))

    failures = []
    goods = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
    bads = sorted(glob.glob(os.path.join(ROOT, "tests", "schema", "bad", "*.yaml")))
    for path in goods:
        if not schema_accepts(path):
            failures.append(f"schema refuses example {path}")
        if not natc_accepts(natc, path):
            failures.append(f"natc refuses example {path}")
    for path in bads:
        if schema_accepts(path):
            failures.append(f"schema accepts bad spec {path}")
        if natc_accepts(natc, path):
            failures.append(f"natc accepts bad spec {path}")
    for f in failures:
        print(f)
    print(f"{len(goods)} examples, {len(bads)} bad specs, {len(failures)} disagreements")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
