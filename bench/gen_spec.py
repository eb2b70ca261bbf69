#!/usr/bin/python3
"""Writes a spec with N port forwards (block style, as operators write it).
Usage: gen_spec.py N > spec.yaml"""
import sys

n = int(sys.argv[1])
out = sys.stdout
out.write("version: 1\ninterfaces:\n  wan: eth0\nsubnets:\n"
          "  - name: servers\n    cidr: 10.0.0.0/8\n    egress: wan\n    snat: {to: 203.0.113.1}\n"
          "port_forwards:\n")
for i in range(n):
    # Distinct (destination, port) pairs: 64 public addresses x 60000 ports.
    dest = f"203.0.113.{64 + i // 60000}"
    port = 1024 + i % 60000
    out.write(f"  - name: fwd-{i}\n    ingress: wan\n    protocol: tcp\n    port: {port}\n"
              f"    to: 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:80\n    destination: {dest}\n")
