#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) from the
repository's own inputs: example and golden specs, saved plans made against
the committed CI snapshot, that snapshot, each of its netlink messages, and
the messages of other owners' tables (tests/fuzz/foreign.nft, loaded into a
network namespace of its own and dumped). Run it as root when those change:
tests/fuzz/make_corpus.py build/natc"""
import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Other owners' tables, as the kernel sends them.
NFNL_SUBSYS_NFTABLES = 10
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, t) + payload + b"\0" * (-n % 4)


def attrs(m):
    i, out = 20, {}
    while i + 4 <= len(m):
        n, t = struct.unpack("=HH", m[i:i + 4])
        out[t & 0x3fff] = m[i + 4:i + n]
        i += (n + 3) & ~3
    return out


def dump(msg_type, family=0, extra=b""):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    body = struct.pack("BBH", family, 0, 0) + extra
    s.send(struct.pack("=IHHII", 16 + len(body), NFNL_SUBSYS_NFTABLES << 8 | msg_type,
                       NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    out = []
    while True:
        data, i = s.recv(1 << 20), 0
        while i < len(data):
            n, t = struct.unpack("=IH", data[i:i + 6])
            if t == NLMSG_DONE:
                return out
            if t == NLMSG_ERROR:
                raise SystemExit("a netlink dump failed")
            out.append(data[i:i + n])
            i += (n + 3) & ~3


if sys.argv[1:] == ["--dump-foreign"]:  # run inside the namespace below
    lists = {"tables": dump(1), "chains": dump(4), "sets": dump(10), "elements": [], "rules": dump(7)}
    for m in lists["sets"]:
        a = attrs(m)
        lists["elements"] += dump(13, m[16], attr(1, a[1]) + attr(2, a[2]))
    print(json.dumps({k: [m.hex() for m in v] for k, v in lists.items()}))
    sys.exit(0)



def foreign_messages(commands):
    """The other owners' tables `commands` write in a namespace of their
    own, as {list: [hex message]}."""
    ns = "natc-corpus-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        ex = ["ip", "netns", "exec", ns]
        for argv, text in commands:
            subprocess.run(ex + argv, check=True, input=text, text=True)
        return json.loads(subprocess.run(ex + [sys.executable, __file__, "--dump-foreign"], check=True,
                                         capture_output=True).stdout)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def ruleset_seeds():
    """ruleset_fuzz: each ruleset of tests/import/ whole, as records of
    [list][length, little-endian][message]."""
    out = os.path.join(HERE, "corpus", "ruleset_fuzz")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tools = {".rules": ["iptables-restore"], ".rules6": ["ip6tables-restore"], ".nft": ["nft", "-f", "-"]}
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "import", "*.*"))):
        ext = os.path.splitext(path)[1]
        if ext not in tools:
            continue
        lists = foreign_messages([(tools[ext], open(path).read())])
        seed = b""
        for i, kind in enumerate(["tables", "chains", "sets", "elements", "rules"]):
            for m in lists[kind]:
                b = bytes.fromhex(m)
                seed += bytes([i]) + struct.pack("<H", len(b)) + b
        with open(os.path.join(out, os.path.basename(path)), "wb") as f:
            f.write(seed)


def nft_text_seeds():
    """nft_text_fuzz: the nft files of tests/import/ and foreign.nft, as text."""
    out = os.path.join(HERE, "corpus", "nft_text_fuzz")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "import", "*.nft"))) + [os.path.join(HERE, "foreign.nft")]:
        shutil.copy(path, out)


if sys.argv[1:] == ["--ruleset-only"]:
    ruleset_seeds()
    nft_text_seeds()
    sys.exit(0)

natc = os.path.abspath(sys.argv[1])
corpus = os.path.join(HERE, "corpus")
shutil.rmtree(corpus, ignore_errors=True)


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


specs = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")) +
               glob.glob(os.path.join(ROOT, "tests", "golden", "*", "*.yaml")))
for s in specs:
    put("spec_fuzz", os.path.relpath(s, ROOT).replace("/", "_"), open(s, "rb").read())
# The examples as JSON specs too.
for s in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))):
    converted = subprocess.run([natc, "compile", s, "--format", "spec-json"], check=True, capture_output=True).stdout
    put("spec_fuzz", "examples_" + os.path.basename(s)[:-5] + ".json", converted)

# A spec directory as history and saved plans keep it (a bundle): the
# gateway example split before its port_forwards, the second file in JSON.
text = open(os.path.join(ROOT, "examples", "gateway.yaml"), "rb").read()
head, forwards = text.split(b"\nport_forwards:", 1)
files = [(b"d/00-base.yaml", head + b"\n"), (b"d/10-forwards.yaml", b"version: 1\nport_forwards:" + forwards)]
bundle = b"\0natc-spec-directory 1\n" + b"".join(
    b"%d %d\n" % (len(n), len(t)) + n + t for n, t in files)
put("spec_fuzz", "bundle_gateway.yaml", bundle)

snapshot = os.path.join(ROOT, "examples", "ci", "gateway.snapshot.json")
put("snapshot_fuzz", "gateway.snapshot.json", open(snapshot, "rb").read())
for ex in ("port-forward", "masquerade", "gateway"):
    out = os.path.join(corpus, "plan.json")
    subprocess.run([natc, "plan", os.path.join(ROOT, "examples", ex + ".yaml"), "--state", snapshot, "-o", out],
                   check=True, capture_output=True)
    put("plan_file_fuzz", ex + ".plan.json", open(out, "rb").read())
    os.remove(out)

messages = json.load(open(snapshot))["messages"]
for i, kind in enumerate(["tables", "chains", "sets", "elements", "rules"]):
    for n, m in enumerate(messages[kind][:40]):
        put("netlink_fuzz", f"{kind}-{n:02d}", bytes([i]) + bytes.fromhex(m))

ns = "natc-corpus-%d" % os.getpid()
subprocess.run(["ip", "netns", "add", ns], check=True)
try:
    ex = ["ip", "netns", "exec", ns]
    subprocess.run(ex + ["nft", "-f", os.path.join(HERE, "foreign.nft")], check=True)
    subprocess.run(ex + ["iptables-nft", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/8", "-o", "eth0",
                         "-j", "MASQUERADE"], check=True)
    subprocess.run(ex + ["iptables-nft", "-A", "FORWARD", "-m", "conntrack", "--ctstate", "NEW", "-p", "tcp",
                         "--dport", "80", "-j", "ACCEPT"], check=True)
    out = subprocess.run(ex + [sys.executable, __file__, "--dump-foreign"], check=True,
                         capture_output=True).stdout
finally:
    subprocess.run(["ip", "netns", "del", ns], check=True)
for i, (kind, msgs) in enumerate(json.loads(out).items()):
    for n, m in enumerate(msgs):
        put("netlink_fuzz", f"foreign-{kind}-{n:02d}", bytes([i]) + bytes.fromhex(m))
ruleset_seeds()
nft_text_seeds()
print("wrote", sum(len(files) for _, _, files in os.walk(corpus)), "seeds under", os.path.relpath(corpus, ROOT))
