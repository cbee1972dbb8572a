#!/usr/bin/env python3
"""Keeps the documentation in docs/ true to the code.

  check_docs.py [--root DIR] check            every metadata TLV type and TLV 24 code the
                                              code defines is in docs/svr-wire-format.md;
                                              every drop reason and counter is in
                                              docs/operations.md (and nothing documented
                                              there is missing from the code); the
                                              required section headings exist; every
                                              repository path the docs and README.md name
                                              exists; relative links resolve; every
                                              "docs/<file>.md § <Section>" that a file in
                                              the repository points to names a heading of
                                              that document.
  check_docs.py [--root DIR] no-outside-refs  no file in the repository points at the team
                                              notes that live outside it.

The lists are read from the code itself (the Tlv enum, the WP_DROP_REASONS and
WP_COUNTERS X-macros), wherever under dataplane/ they live. Exit status 0 when
everything holds, 1 with one line per problem otherwise.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

REQUIRED_HEADINGS = {
    "docs/svr-wire-format.md": ["Model", "First packet", "Handshake", "Metadata block", "Security",
                                "Path monitoring", "Fragments", "Worked examples"],
    "docs/architecture.md": ["Layout", "Threads", "Sessions", "Rings", "Configuration", "Offload", "HA", "Tests"],
    "docs/operations.md": ["Running", "Configuration", "Counters and drop reasons", "REST API and wpctl", "IPFIX",
                           "HA", "Redis"],
}

# Top-level entries a path in backticks may start with to count as a repository path.
REPO_DIRS = ("dataplane", "mgmt", "ha", "offload", "proto", "tools", "tests", "perf", "examples", "docs")
REPO_FILES = ("README.md", "CMakeLists.txt", "setup.sh", "test.sh")

# Files whose comments may point into docs/ with "docs/<file>.md § <Section>".
POINTER_FILES = (".cc", ".h", ".proto", ".py", ".sh", ".md", ".txt", ".yaml", ".cmake")

# The team's notes outside the repository: pieces joined at run time so this file does
# not match its own pattern.
OUTSIDE_NOTES = ("SVR", "DESIGN", "RECIPES", "STYLE")
OUTSIDE_REF = re.compile(r"\b(?:" + "|".join(OUTSIDE_NOTES) + r")\.md\b|\.\./" + "shared\\b")


def repo_files(root):
    """Tracked files (git), or every file outside build and VCS folders."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f]
        if files:
            return [f for f in files if os.path.isfile(os.path.join(root, f))]
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not d.startswith("build")]
        for f in filenames:
            files.append(os.path.relpath(os.path.join(dirpath, f), root))
    return files


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def find_code(root, needle):
    """(path, text) of the first dataplane/ header or source that contains `needle`."""
    for rel in sorted(repo_files(root)):
        if rel.startswith("dataplane/") and rel.endswith((".h", ".cc")):
            text = read(root, rel)
            if needle in text:
                return rel, text
    return None, None


def macro_body(text, name):
    """The lines of `#define NAME(X) ...` up to the first line without a continuation."""
    m = re.search(r"#define\s+" + re.escape(name) + r"\(X\)", text)
    if not m:
        return ""
    body = []
    for line in text[m.start():].splitlines():
        body.append(line)
        if not line.rstrip().endswith("\\"):
            break
    return "\n".join(body)


def code_tlvs(root, problems):
    path, text = find_code(root, "enum class Tlv")
    if not path:
        problems.append("code: no `enum class Tlv` under dataplane/")
        return {}
    m = re.search(r"enum class Tlv\b[^{]*\{(.*?)\};", text, re.S)
    return {int(v): n for n, v in re.findall(r"(\w+)\s*=\s*(\d+)", m.group(1))} if m else {}


def code_control_codes(root):
    _, text = find_code(root, "kControlKeepAlive")
    return {int(v): n for n, v in re.findall(r"\b(kControl\w+)\s*=\s*(\d+)", text or "")}


def code_x_names(root, macro, problems):
    path, text = find_code(root, "#define " + macro + "(X)")
    if not path:
        problems.append("code: no #define " + macro + "(X) under dataplane/")
        return []
    return re.findall(r"\bX\(\s*(\w+)", macro_body(text, macro))


def section(text, heading):
    """Text of the markdown section `heading` (any level), up to the next heading of the same or higher level."""
    m = re.search(r"^(#+)\s+" + re.escape(heading) + r"\s*$", text, re.M)
    if not m:
        return None
    level = len(m.group(1))
    end = re.compile(r"^#{1," + str(level) + r"}\s", re.M).search(text, m.end())
    return text[m.end():end.start() if end else len(text)]


def first_cells(sec):
    """The first cell of every table row of a section."""
    cells = []
    for line in sec.splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells.append(line.split("|")[1].strip())
    return cells


def headings(text, level=None):
    """Heading texts of a markdown document (all levels, or only `level`), outside code blocks."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m and (level is None or len(m.group(1)) == level):
            found.append(m.group(2))
    return found


def check_headings(root, problems):
    for doc, required in REQUIRED_HEADINGS.items():
        if not os.path.isfile(os.path.join(root, doc)):
            problems.append(doc + ": missing")
            continue
        found = headings(read(root, doc), level=2)
        for h in required:
            if h not in found:
                problems.append(doc + ": no '## " + h + "' section")


# A pointer into the docs: "docs/<file>.md § <Section>", optionally followed by more
# sections of the same document ("§ First packet, § Handshake"). Comment markers and line
# breaks may sit between the pieces; a section name runs up to the first character that
# cannot be part of a heading (",", ":", ")", ";", ".").
_GAP = r"(?:\s|//+|#+|\*|;)*"
_SECTION_NAME = r"([A-Za-z0-9][A-Za-z0-9 /-]*)"
DOC_POINTER = re.compile(r"\bdocs/([a-z-]+\.md)\)?" + _GAP + r"§" + _GAP + _SECTION_NAME)
MORE_SECTIONS = re.compile(r"\s*," + _GAP + r"§" + _GAP + _SECTION_NAME)


def doc_pointers(text):
    """(line number, doc, section text) for every pointer into docs/ in `text`."""
    for m in DOC_POINTER.finditer(text):
        doc = "docs/" + m.group(1)
        yield text.count("\n", 0, m.start(2)) + 1, doc, m.group(2)
        end = m.end()
        while True:
            more = MORE_SECTIONS.match(text, end)
            if not more:
                break
            yield text.count("\n", 0, more.start(1)) + 1, doc, more.group(1)
            end = more.end()


def heading_for(name, found):
    """The longest heading that `name` starts with, at a word boundary ("Sessions for port
    choice" points to "Sessions"), or None."""
    name = name.strip(" /-")
    best = None
    for h in found:
        if name == h or (name.startswith(h) and not name[len(h)].isalnum()):
            if best is None or len(h) > len(best):
                best = h
    return best


def check_pointers(root, problems):
    cache = {}
    for rel in sorted(repo_files(root)):
        if rel.startswith("tests/docs/") or not rel.endswith(POINTER_FILES):
            continue
        text = read(root, rel)
        if "§" not in text:
            continue
        for line, doc, name in doc_pointers(text):
            if doc not in cache:
                path = os.path.join(root, doc)
                cache[doc] = headings(read(root, doc)) if os.path.isfile(path) else None
            if cache[doc] is None:
                problems.append(rel + ":" + str(line) + ": points to " + doc + ", which does not exist")
            elif heading_for(name, cache[doc]) is None:
                problems.append(rel + ":" + str(line) + ": points to " + doc + " § " + name.strip() +
                                ", which is not a heading there")


def check_tlvs(root, problems):
    doc = "docs/svr-wire-format.md"
    if not os.path.isfile(os.path.join(root, doc)):
        return
    text = read(root, doc)
    tlvs = code_tlvs(root, problems)
    sec = section(text, "TLV types")
    if sec is None:
        problems.append(doc + ": no 'TLV types' section")
        return
    documented = {int(c) for c in first_cells(sec) if c.isdigit()}
    for t, name in sorted(tlvs.items()):
        if t not in documented:
            problems.append(doc + ": TLV " + str(t) + " (" + name + ") is defined in the code but not in 'TLV types'")
    for t in sorted(documented - set(tlvs)):
        problems.append(doc + ": TLV " + str(t) + " is in 'TLV types' but not defined in the code")
    codes = code_control_codes(root)
    sec = section(text, "TLV 24 control-message codes")
    if sec is None:
        problems.append(doc + ": no 'TLV 24 control-message codes' section")
        return
    documented = {int(c) for c in first_cells(sec) if c.isdigit()}
    for v, name in sorted(codes.items()):
        if v not in documented:
            problems.append(doc + ": TLV 24 code " + str(v) + " (" + name + ") is not documented")


def check_names(root, problems, macro, heading):
    doc = "docs/operations.md"
    if not os.path.isfile(os.path.join(root, doc)):
        return
    names = code_x_names(root, macro, problems)
    sec = section(read(root, doc), heading)
    if sec is None:
        problems.append(doc + ": no '" + heading + "' section")
        return
    documented = set()
    for cell in first_cells(sec):
        documented.update(re.findall(r"`(\w+)`", cell))
    for n in names:
        if n not in documented:
            problems.append(doc + ": " + n + " (" + macro + ") is not in '" + heading + "'")
    for n in sorted(documented - set(names)):
        problems.append(doc + ": '" + heading + "' documents " + n + ", which the code does not define")


def path_exists(root, token):
    token = token.rstrip(",.:;")
    if token.endswith("/"):
        return os.path.isdir(os.path.join(root, token))
    if any(ch in token for ch in "*?["):
        return bool(glob.glob(os.path.join(root, token)))
    return os.path.exists(os.path.join(root, token))


def check_paths(root, problems):
    docs = sorted(f for f in repo_files(root) if f.startswith("docs/") and f.endswith(".md"))
    for extra in REQUIRED_HEADINGS:
        if extra not in docs and os.path.isfile(os.path.join(root, extra)):
            docs.append(extra)
    docs.append("README.md")
    path_re = re.compile(r"^(?:(?:" + "|".join(REPO_DIRS) + r")/[\w./*?\[\]-]*|" +
                         "|".join(re.escape(f) for f in REPO_FILES) + r")$")
    for doc in docs:
        if not os.path.isfile(os.path.join(root, doc)):
            continue
        text = read(root, doc)
        for token in sorted(set(re.findall(r"`([^`\s]+)`", text))):
            if path_re.match(token) and not path_exists(root, token):
                problems.append(doc + ": names `" + token + "`, which does not exist in the repository")
        for link in sorted(set(re.findall(r"\]\(([^)\s]+)\)", text))):
            if re.match(r"^[a-z]+:", link) or link.startswith("#"):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(doc), link.split("#")[0]))
            if not os.path.exists(os.path.join(root, target)):
                problems.append(doc + ": link (" + link + ") does not resolve")


def check(root):
    problems = []
    check_headings(root, problems)
    check_tlvs(root, problems)
    check_names(root, problems, "WP_DROP_REASONS", "Drop reasons")
    check_names(root, problems, "WP_COUNTERS", "Counters")
    check_paths(root, problems)
    check_pointers(root, problems)
    return problems


def no_outside_refs(root):
    problems = []
    for rel in sorted(repo_files(root)):
        try:
            with open(os.path.join(root, rel), "rb") as f:
                data = f.read()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue  # binary
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE_REF.search(line):
                problems.append(rel + ":" + str(n) + ": points outside the repository: " + line.strip()[:120])
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..")))
    ap.add_argument("what", choices=["check", "no-outside-refs"])
    args = ap.parse_args()
    problems = check(args.root) if args.what == "check" else no_outside_refs(args.root)
    for p in problems:
        print(p)
    if problems:
        print(str(len(problems)) + " problem(s)")
        return 1
    print("docs: " + args.what + ": ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
