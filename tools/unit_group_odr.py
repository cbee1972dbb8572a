#!/usr/bin/env python3
"""Name clashes between the unit-test files linked into one binary (tests/CMakeLists.txt:
every tests/unit/*_test.cc is compiled alone and linked into its group's binary).

Two files of one group that both define an external (not file-local) name clash:
a strong symbol twice stops the link, but a class or inline function defined in
two .cc files with one name (e.g. a fixture `class Fixture` outside an anonymous
namespace, with inline members) is a weak symbol in each object, and the linker
silently keeps one of them for both files (an ODR violation: one file's tests
run the other file's code). This lists every external symbol defined in two or
more objects of one group, except the instantiations of a library's templates
(std::, testing::, nlohmann:: ...) and names whose every part (namespaces,
class, function) appears in a header of the repository: those are a shared
header's inline functions, the same definition in each object (the optimiser
may still make it a different size in each, so sizes prove nothing). Fix a
clash by moving the file's own names into an anonymous namespace. Objects and groups come from the build's
tests/unit_groups.txt (written at configure time). Exit status 1 when anything
is found.

  python3 tools/unit_group_odr.py --build build
"""
import argparse
import collections
import os
import re
import subprocess
import sys


def defined_symbols(obj):
    """External symbols an object defines: {mangled name: (type letter, size)}."""
    out = subprocess.run(["nm", "--defined-only", "-S", obj], check=True, capture_output=True,
                         text=True).stdout
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            _, size, kind, name = f
        elif len(f) == 3:
            _, kind, name = f
            size = "0"
        else:
            continue
        # Lowercase: local to the object. Skip section/debug symbols.
        if not kind.isupper() or kind in "AN":
            continue
        syms[name] = (kind, int(size, 16))
    return syms


LIBRARY_NAMESPACES = ("DW.ref.", "std::", "__gnu_cxx::", "testing::", "nlohmann::", "fmt::", "spdlog::", "google::",
                      "YAML::", "httplib::", "absl::", "boost::", "__cxxabiv1::")


def header_identifiers(root):
    """Every identifier that appears in a .h file of the repository."""
    ids = set()
    for top in ("dataplane", "mgmt", "ha", "offload", "tests", "tools", "perf"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".h", ".hpp")):
                    with open(os.path.join(dirpath, f), errors="replace") as fh:
                        ids.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", fh.read()))
    return ids


def qualified_name(demangled):
    """The name without return type, template arguments or parameters:
    void nlohmann::detail::serializer<...>::dump<...>(...) -> nlohmann::detail::serializer::dump."""
    n = demangled
    for prefix in ("typeinfo for ", "typeinfo name for ", "vtable for ", "guard variable for ",
                   "non-virtual thunk to ", "VTT for "):
        if n.startswith(prefix):
            n = n[len(prefix):]
    depth, out = 0, []
    for ch in n:  # drop template arguments and the parameter list
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    n = "".join(out).replace("[abi:cxx11]", "").replace(" const", "")
    return n.split()[-1] if n.split() else n


def name_parts(demangled):
    """The namespaces, classes and name: wp::test::Pkt6::Pkt6() -> wp, test, Pkt6, Pkt6;
    wp::test::data_dir[abi:cxx11]() -> wp, test, data_dir. All of them must appear in
    our headers for the symbol to count as a header's."""
    # A lambda inside a header's function ("...::TunnelFrrRoutes(Router&)::{lambda(unsigned int)#1}")
    # is that function's: its name is checked, the lambda's "{lambda#1}" is no identifier.
    return [p.lstrip("~") for p in qualified_name(demangled).split("::") if p and not re.fullmatch(r"\{lambda#\d+\}", p)]


def demangle(names):
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return dict(zip(names, out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = ap.parse_args()
    groups = collections.defaultdict(list)
    with open(os.path.join(args.build, "tests", "unit_groups.txt")) as f:
        for line in f:
            if line.strip():
                g, obj = line.split()
                groups[g].append(obj)
    problems = []
    checked = 0
    for g, objs in sorted(groups.items()):
        where = collections.defaultdict(list)  # symbol -> [(object, kind, size)]
        for obj in objs:
            if not os.path.exists(obj):
                problems.append(f"{g}: {obj} not built (build the group first)")
                continue
            checked += 1
            for name, (kind, size) in defined_symbols(obj).items():
                where[name].append((obj, kind, size))
        for name, defs in where.items():
            if len(defs) < 2:
                continue
            problems.append((g, name, defs))
    text = [p for p in problems if isinstance(p, str)]
    clashes = [p for p in problems if not isinstance(p, str)]
    names = demangle([n for _, n, _ in clashes])
    # A library's template instantiated in two objects (GoogleTest's
    # CmpHelperEQ<int, int>, std::vector<...>) is one definition even where
    # the optimiser made it a different size in each; the clashes this is
    # for are the test files' own names (wp::..., or the global namespace).
    def library(n):
        return qualified_name(n).startswith(LIBRARY_NAMESPACES)
    clashes = [c for c in clashes if not library(names.get(c[1], c[1]))]
    # An inline function of one of our headers (tests/unit/test_data.h's
    # data_dir(), a class of ha_loop_bus.h) is weak in every object that
    # uses it, and the optimiser may make it a different size in each: a name
    # declared in a header of the repository is that header's definition.
    declared = header_identifiers(args.root)
    clashes = [c for c in clashes if not all(p in declared for p in name_parts(names.get(c[1], c[1])))]
    for g, n, defs in clashes:
        files = ", ".join(f"{os.path.basename(o)} ({k}, {s} B)" for o, k, s in defs)
        print(f"{g}: {names.get(n, n)} defined in {files}")
    for t in text:
        print(t)
    print(f"unit_group_odr: {checked} objects in {len(groups)} groups, {len(clashes)} clashes")
    return 1 if clashes or text else 0


if __name__ == "__main__":
    sys.exit(main())
