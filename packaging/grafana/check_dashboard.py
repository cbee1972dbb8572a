#!/usr/bin/env python3
"""Checks packaging/grafana/waypoint.json against what the router exports.

Every PromQL expression of the dashboard (panel targets and the templating
queries) must name only metrics found in the given /metrics expositions
(--metrics FILE, repeatable), and each must name at least one. With
--prometheus URL each expression, Grafana variables replaced, is also run
through that server's /api/v1/query: Prometheus must parse and evaluate it.

usage: check_dashboard.py DASHBOARD --metrics FILE [--metrics FILE...] [--prometheus URL]
       check_dashboard.py DASHBOARD --prometheus URL --evaluate-only
       check_dashboard.py DASHBOARD --list      (print the expressions)
Exit status 0 when every check passes, 1 with one line per problem.
"""
import argparse
import json
import re
import sys
import urllib.parse
import urllib.request

# Grafana's variables, as a test server can evaluate them.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "$router": ".*"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "inf", "nan", "atan2"}
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def expressions(dashboard):
    """(where, expr) for every target expr and every label_values() query."""
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title", where)
            if isinstance(node.get("expr"), str):
                out.append((title, node["expr"]))
            for key, value in node.items():
                if key != "expr":
                    walk(value, title)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(dashboard.get("panels", []), "panels")
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if var.get("type") == "query" and isinstance(text, str):
            m = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*[a-zA-Z_]+\s*\)\s*", text)
            out.append(("variable " + var.get("name", "?"), m.group(1) if m else text))
    return out


def metric_names(expr):
    """The metric names an expression selects (functions, keywords, labels and literals removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in IDENT.finditer(text):
        name = m.group(0)
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end():].lstrip()[:1]
        if after == "(" or name.lower() in KEYWORDS or before.isdigit() or before == "$":
            continue
        names.add(name)
    return names


def exported(paths):
    names = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"# TYPE (\S+) ", line) or re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", line)
                if m:
                    names.add(m.group(1))
    return names


def substitute(expr):
    for var, value in VARIABLES.items():
        expr = expr.replace(var, value)
    return expr


def query(url, expr):
    """None when Prometheus evaluates the expression; its error otherwise."""
    q = url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": substitute(expr)})
    try:
        with urllib.request.urlopen(q, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    except (OSError, ValueError) as e:
        return str(e)
    return None if body.get("status") == "success" else body.get("error", str(body))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dashboard")
    ap.add_argument("--metrics", action="append", default=[])
    ap.add_argument("--prometheus")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--evaluate-only", action="store_true", help="skip the names check (--prometheus only)")
    a = ap.parse_args()
    with open(a.dashboard, encoding="utf-8") as f:
        exprs = expressions(json.load(f))
    if a.list:
        for _, e in exprs:
            print(substitute(e))
        return 0
    if not a.metrics and not (a.evaluate_only and a.prometheus):
        ap.error("--metrics FILE is required (or --prometheus URL --evaluate-only)")
    known = exported(a.metrics)
    problems = []
    if not exprs:
        problems.append("no PromQL expressions found")
    for where, e in exprs:
        names = metric_names(e)
        if a.evaluate_only:
            names = set()
        elif not names:
            problems.append(f"{where}: names no metric: {e}")
        for n in sorted(names - known):
            problems.append(f"{where}: {n} is not exported: {e}")
        if a.prometheus:
            err = query(a.prometheus, e)
            if err:
                problems.append(f"{where}: Prometheus refused it ({err}): {e}")
    for p in problems:
        print(p)
    print(f"dashboard: {len(exprs)} expressions, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
