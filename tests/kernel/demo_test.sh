#!/usr/bin/env bash
# tools/demo end to end, and interrupted half way: it proves NAT with real
# connections and leaves no namespace behind either way. Exit 77: not root.
set -u
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
cd "$1"
fail() { echo "FAIL: $*"; exit 1; }
leftovers() { ip netns list | grep -c "natc-demo-" || true; }

out=$(timeout 180 tools/demo 2>&1) || { echo "$out"; fail "tools/demo exited non-zero"; }
grep -q "the internet host saw the client as 203.0.113.50" <<<"$out" || { echo "$out"; fail "no outbound NAT"; }
grep -q "the DMZ web server saw the client as 203.0.113.2" <<<"$out" || { echo "$out"; fail "no port forward"; }
grep -q "No changes. The kernel matches the spec." <<<"$out" || fail "second plan not empty"
grep -q "^conntrack: [0-9]* of [0-9]* entries" <<<"$out" || { echo "$out"; fail "no natc status"; }
grep -q "^drift: none" <<<"$out" || fail "status reports drift"
[ "$(leftovers)" -eq 0 ] || fail "namespaces left after a full run"

# Interrupted as a person would: Ctrl-C (SIGINT) once the gateway exists.
set -m
log=$(mktemp)
tools/demo >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q "before: the office PC" "$log" && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
set +m
grep -q "interrupted: cleaning up" "$log" || { cat "$log"; fail "no cleanup message"; }
[ "$rc" -ne 0 ] || fail "an interrupted demo exited 0"
[ "$(leftovers)" -eq 0 ] || fail "namespaces left after an interrupt"
rm -f "$log"
echo "ok: full run and interrupted run, nothing left behind"
