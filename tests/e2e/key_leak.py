#!/usr/bin/env python3
"""Fails when a log of an end-to-end run contains a configured key.

Every e2e test keeps its configs (*.yaml, *.json, *.key) and its logs (*.log,
*.out, *.txt) under its $WP_TMP; lib.sh's cleanup runs this on that folder
after the routers stopped, so every test of the suite is covered. A key is
the value of any field whose name ends in "key" (peers[].key, next_key,
path_monitoring.auth_key...), "psk" (ipsec_peers[].psk) or "secret" (a
swanctl.conf's secrets) and the whole of a *.key file. A match of the
whole key, or of its first half (a key cut in two by a log line is still a
leak), in any log is reported by file and line, never by printing the key.

usage: key_leak.py DIR        exit 1 on a leak
       key_leak.py --self-test
"""
import os
import re
import sys
import tempfile

CONFIG_EXT = (".yaml", ".yml", ".json", ".key", ".conf")
LOG_EXT = (".log", ".out", ".txt")
FIELD = re.compile(r"""["']?([A-Za-z_]*(?:key|psk|secret))["']?\s*[:=]\s*["']?([0-9A-Za-z+/=_-]{16,})""")
MIN_KEY = 16


def walk(root, exts):
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(exts):
                yield os.path.join(d, f)


def read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def configured_keys(root):
    keys = {}  # value -> where it was configured
    for path in walk(root, CONFIG_EXT):
        text = read(path)
        if path.endswith(".key") and len(text.strip()) >= MIN_KEY:
            keys.setdefault(text.strip(), os.path.basename(path))
        for m in FIELD.finditer(text):
            keys.setdefault(m.group(2), f"{os.path.basename(path)}:{m.group(1)}")
    return keys


def needles(key):
    out = [key.lower()]
    if len(key) >= 32:
        out.append(key[: len(key) // 2].lower())
    return out


def leaks(root):
    keys = configured_keys(root)
    found = []
    logs = list(walk(root, LOG_EXT))
    for path in logs:
        for n, line in enumerate(read(path).splitlines(), 1):
            low = line.lower()
            for key, where in keys.items():
                if any(x in low for x in needles(key)):
                    found.append(f"{os.path.relpath(path, root)}:{n}: holds the key configured as {where}")
    return keys, logs, found


def self_test():
    key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "r1.yaml"), "w") as f:
            f.write(f'peers:\n  - {{name: r2, waypoints: [172.16.0.2], key: "{key}"}}\n')
        with open(os.path.join(d, "r1.log"), "w") as f:
            f.write("committed config version 3\n")
        keys, _, found = leaks(d)
        assert list(keys) == [key] and not found, (keys, found)
        for leaked in (key, key.upper()[:32] + " ...", f"key={key[:40]}"):
            with open(os.path.join(d, "r2.log"), "w") as f:
                f.write("line one\n" + leaked + "\n")
            _, _, found = leaks(d)
            assert found == ["r2.log:2: holds the key configured as r1.yaml:key"], found
        psk = "a-site-psk-of-24-chars-x"
        with open(os.path.join(d, "r2.yaml"), "w") as f:
            f.write(f'ipsec_peers:\n  - {{name: site1, psk: "{psk}"}}\n')
        with open(os.path.join(d, "swanctl.conf"), "w") as f:
            f.write('secrets {\n  ike-site1 { id-1 = a\n    secret = "another-psk-of-the-site" }\n}\n')
        with open(os.path.join(d, "r2.log"), "w") as f:
            f.write("line one\n")
        keys, _, found = leaks(d)
        assert sorted(keys) == sorted([key, psk, "another-psk-of-the-site"]) and not found, (keys, found)
        with open(os.path.join(d, "charon.log"), "w") as f:
            f.write("auth with " + psk + "\n")
        _, _, found = leaks(d)
        assert found == ["charon.log:1: holds the key configured as r2.yaml:psk"], found
    print("key_leak self-test: ok")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    keys, logs, found = leaks(sys.argv[1])
    for f in found:
        print(f"FAIL: key in a log: {f}")
    if not found:
        print(f"PASS: no configured key ({len(keys)}) in any log ({len(logs)})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
