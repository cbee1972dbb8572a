#!/usr/bin/env python3
"""Name clashes a CMake unity build would make (WP_UNITY, docs/building.md § Unity builds).

A unity build compiles several .cc files of one target as one translation unit,
so what each file kept to itself (static functions and variables, anonymous
namespaces, namespace-scope const/constexpr, macros, `using namespace`) meets
the other files' names. Two definitions of one name with the same signature
stop the build; with different signatures two functions silently become
overloads and a call may pick the other file's. So this lists every name that
is file-local in one source and declared at the same (anonymous namespaces
folded away) scope in another source of the same target, whatever the kind or
signature, plus macros left defined at the end of a file and file-scope
`using namespace`.

Sources and targets come from the build's compile_commands.json (any build
dir configured with -DWP_UNITY=OFF or ON; the object paths name the target).
Uses universal-ctags. Exit status 1 when anything is found.

  python3 tools/unity_scan.py --build build [--root .]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

def targets_from(build):
    cmds = json.load(open(os.path.join(build, "compile_commands.json")))
    by_target = collections.defaultdict(list)
    for c in cmds:
        m = re.search(r"-o (\S+)", c["command"])
        if not m:
            continue
        t = re.search(r"CMakeFiles/([^/]+)\.dir/", m.group(1))
        if not t:
            continue
        src = c["file"]
        if "/Unity/unity_" in src:
            continue  # a unity build's generated file: the sources it includes are listed too
        by_target[t.group(1)].append(src)
    return by_target


def unity_sources(build):
    """Sources a unity build folds together: from the generated unity_*.cxx files."""
    out = collections.defaultdict(list)
    for dirpath, _, files in os.walk(build):
        for f in files:
            if re.match(r"unity_\d+_cxx\.cxx$", f):
                t = re.search(r"CMakeFiles/([^/]+)\.dir/Unity", dirpath)
                for line in open(os.path.join(dirpath, f)):
                    m = re.match(r'#include "(.+)"', line)
                    if m and t:
                        out[t.group(1)].append(m.group(1))
    return out


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def ctags(path):
    out = subprocess.run(
        ["ctags", "--output-format=json", "--languages=C++", "--language-force=C++",
         "--kinds-C++=+p", "--fields=+KZSsEfn", "--extras=+F-q", "-f", "-", path],
        capture_output=True, text=True, check=True).stdout
    tags = []
    for line in out.splitlines():
        try:
            tags.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return tags


def fold(scope):
    return "::".join(p for p in scope.split("::") if p and not p.startswith("__anon"))


def scan_file(path):
    """(file_local, namespace_scope) names: {(scope, name): (kind, line)}."""
    local, visible = {}, {}
    text = strip_comments(open(path, errors="replace").read())
    lines = text.splitlines()
    for t in ctags(path):
        kind, name = t.get("kind"), t.get("name")
        if kind in ("local", "parameter", "label", "member", "macro", "header"):
            continue
        if kind == "namespace":
            continue
        scope_kind = t.get("scopeKind", "namespace")
        scope = t.get("scope", "")
        if kind == "enumerator" and scope_kind == "enum" and scope.split("::")[-1].startswith("__anon"):
            scope = "::".join(scope.split("::")[:-1])  # an unnamed enum's values live in its namespace
        elif scope_kind not in ("namespace",) and scope:
            continue  # class members, locals: not file scope
        in_anon = "__anon" in scope
        line = lines[t["line"] - 1] if t["line"] - 1 < len(lines) else ""
        is_static = bool(re.search(r"\bstatic\b", line)) and "(" in line or t.get("file") is True
        is_const = kind == "variable" and re.search(r"\b(constexpr|const)\b", line) and "extern" not in line
        key = (fold(scope), name)
        text = line.strip()
        if in_anon or is_static or is_const or kind in ("typedef", "alias"):
            local.setdefault(key, (kind, t["line"], text))
        visible.setdefault(key, (kind, t["line"], text))
    # Namespace aliases (ctags skips them): scope from the enclosing namespace lines is
    # approximated by the file's outermost named namespace, enough for a clash check.
    ns = re.search(r"^namespace\s+([\w:]+)\s*\{", text, flags=re.M)
    for i, l in enumerate(lines, 1):
        m = re.match(r"\s*namespace\s+(\w+)\s*=\s*([^;]+);", l)
        if m:
            before = "\n".join(lines[:i])
            scope = ns.group(1) if ns and ns.start() < len(before) else ""
            key = (scope, m.group(1))
            local.setdefault(key, ("alias", i, m.group(2).strip().lstrip(":")))
            visible.setdefault(key, ("alias", i, m.group(2).strip().lstrip(":")))
    macros = {}
    for i, l in enumerate(lines, 1):
        m = re.match(r"\s*#\s*define\s+(\w+)", l)
        if m:
            macros[m.group(1)] = i
        m = re.match(r"\s*#\s*undef\s+(\w+)", l)
        if m:
            macros.pop(m.group(1), None)
    # A macro set for a header (#define X, then #include): in a batch the header may
    # already be in, from an earlier file, without it.
    before_include = []
    pending = {}
    for i, l in enumerate(lines, 1):
        m = re.match(r"\s*#\s*define\s+(\w+)", l)
        if m and not m.group(1).endswith(("_H", "_H_")):
            pending[m.group(1)] = i
        elif re.match(r"\s*#\s*include\b", l) and pending:
            before_include += sorted(pending.items(), key=lambda x: x[1])
            pending = {}
    guard = [n for n in macros if n.endswith("_H") or n.endswith("_H_")]
    for g in guard:
        macros.pop(g)
    usings = [i for i, l in enumerate(lines, 1)
              if re.match(r"using\s+namespace\s+[\w:]+\s*;", l)]  # column 0: file scope
    return local, visible, macros, usings, before_include


def header_names(root):
    """Namespace-scope names the project's headers declare: {(scope, name): header}."""
    names = {}
    for top in ("dataplane", "mgmt", "ha", "offload", "tools", "tests/unit"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith(".h"):
                    path = os.path.join(dirpath, f)
                    _, visible, _, _, _ = scan_file(path)
                    for key in visible:
                        names.setdefault(key, os.path.relpath(path, root))
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--root", default=".")
    ap.add_argument("--target", action="append", help="only these targets")
    ap.add_argument("--all-sources", action="store_true",
                    help="every multi-source target, not only the sources a unity build batched")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    targets = targets_from(args.build)
    # A unity build dir: what its batches hold (files marked SKIP_UNITY_BUILD_INCLUSION
    # compile alone and meet nothing); a WP_UNITY=OFF dir: every source of each target.
    for t, srcs in unity_sources(args.build).items():
        targets[t] = sorted(set(srcs))
    cache = {}
    problems = 0
    headers = header_names(root)
    for target in sorted(targets):
        if args.target and target not in args.target:
            continue
        srcs = sorted(set(s for s in targets[target] if s.startswith(root) and not s.endswith(".pb.cc")))
        if len(srcs) < 2:
            continue
        info = {}
        for s in srcs:
            if s not in cache:
                cache[s] = scan_file(s)
            info[s] = cache[s]
        rel = lambda s: os.path.relpath(s, root)
        seen = set()
        for a in srcs:
            local, _, macros, usings, before_include = info[a]
            for key, (kind, line, _) in local.items():
                for b in srcs:
                    if b == a:
                        continue
                    _, vis_b, _, _, _ = info[b]
                    if key in vis_b:
                        if kind in ("typedef", "alias", "namespace") and vis_b[key][2] == local[key][2]:
                            continue  # the same alias declared twice: legal, one meaning
                        pair = (target, key, tuple(sorted((a, b))))
                        if pair in seen:
                            continue
                        seen.add(pair)
                        kb, lb, _ = vis_b[key]
                        name = "::".join(p for p in key if p)
                        print(f"{target}: {name}: {kind} {rel(a)}:{line} / {kb} {rel(b)}:{lb}")
                        problems += 1
            for key, (kind, line, _) in local.items():
                if key in headers and kind not in ("typedef", "alias", "namespace"):
                    name = "::".join(p for p in key if p)
                    print(f"{target}: {name}: file-local {kind} {rel(a)}:{line} / declared in {headers[key]}")
                    problems += 1
            for m, line in sorted(macros.items(), key=lambda x: x[1]):
                print(f"{target}: macro {m} still defined at the end of {rel(a)} (#define at line {line})")
                problems += 1
            for m, line in before_include:
                print(f"{target}: {rel(a)}:{line} defines {m} for a header it includes: "
                      "mark the file SKIP_UNITY_BUILD_INCLUSION")
                problems += 1
            for line in usings:
                print(f"{target}: file-scope `using namespace` in {rel(a)}:{line}")
                problems += 1
    print(f"unity_scan: {problems} clash(es)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
