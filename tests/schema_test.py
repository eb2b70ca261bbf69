#!/usr/bin/python3
"""The JSON Schema and natc agree.

- schema/natc.schema.json is a valid JSON Schema 2020-12;
- every example is valid for the schema and for `natc validate`;
- every spec in tests/schema/bad is refused by both;
- docs/spec.md documents every key of the schema in its tables, and no
  key the schema does not have; its whole example is valid for both.

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


def schema_keys(node, path=""):
    """Every property path of the schema: subnets[].snat.to, docker.bridges."""
    keys = set()
    if not isinstance(node, dict):
        return keys
    for name, sub in node.get("properties", {}).items():
        full = f"{path}.{name}" if path else name
        keys.add(full)
        keys |= schema_keys(sub, full)
    if isinstance(node.get("items"), dict):
        keys |= schema_keys(node["items"], path + "[]")
    for combinator in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(combinator, []):
            keys |= schema_keys(sub, path)
    return keys


def documented_keys(text):
    """The keys in the first column of docs/spec.md's tables."""
    import re
    return {m.group(1) for m in re.finditer(r"^\| `([a-z_][a-z0-9_.\[\]]*)` \|", text, re.M)}


def spec_doc_failures(natc, schema, validator):
    path = os.path.join(ROOT, "docs", "spec.md")
    text = open(path).read()
    failures = []
    have, documented = schema_keys(schema), documented_keys(text)
    for key in sorted(have - documented):
        failures.append(f"docs/spec.md does not document {key}")
    for key in sorted(documented - have):
        failures.append(f"docs/spec.md documents {key}, which the schema does not have")
    import re
    import tempfile
    whole = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "version: 1" in b]
    if not whole:
        failures.append("docs/spec.md has no whole example")
    for block in whole:
        if list(validator.iter_errors(yaml.safe_load(block))):
            failures.append("the schema refuses docs/spec.md's example")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(block)
            f.flush()
            if not natc_accepts(natc, f.name):
                failures.append("natc refuses docs/spec.md's example")
    print(f"docs/spec.md: {len(documented)} keys documented, the schema has {len(have)}")
    return failures


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
        # The same as a JSON spec: the schema applies unchanged.
        converted = subprocess.run([natc, "compile", path, "--format", "spec-json"], capture_output=True, text=True)
        if converted.returncode != 0 or list(validator.iter_errors(json.loads(converted.stdout))):
            failures.append(f"schema refuses example {path} as JSON")
    # A spec directory: its files merged (compile --format spec-json) are one spec the schema accepts.
    for d in sorted(glob.glob(os.path.join(ROOT, "examples", "*.d"))):
        merged = subprocess.run([natc, "compile", d, "--format", "spec-json"], capture_output=True, text=True)
        if merged.returncode != 0 or list(validator.iter_errors(json.loads(merged.stdout))):
            failures.append(f"schema or natc refuses spec directory {d}")
    for path in bads:
        if schema_accepts(path):
            failures.append(f"schema accepts bad spec {path}")
        if natc_accepts(natc, path):
            failures.append(f"natc accepts bad spec {path}")
    failures += spec_doc_failures(natc, schema, validator)
    for f in failures:
        print(f)
    print(f"{len(goods)} examples, {len(bads)} bad specs, {len(failures)} disagreements")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
