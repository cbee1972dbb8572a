#!/usr/bin/python3
"""Checks docs/api/openapi.yaml, the REST API's contract.

  check_openapi.py spec    SPEC                      structure: every $ref resolves, every
                                                     operation has responses (one 2xx), path
                                                     parameters are declared, schemas are valid
  check_openapi.py routes  SPEC --root REPO          the routes the code registers (mgmt/, tools/
                                                     waypointd.cc) equal the spec's; every path
                                                     wpctl requests is in the spec
  check_openapi.py live    SPEC --url URL --token T  calls every operation of a running router with
        [--config FILE] [--seed N] [--seconds S]     valid and generated invalid inputs (seeded,
        [--wpctl PATH]                               bounded) and validates each status and body
                                                     against the spec; any 5xx, undeclared status
                                                     or body off its schema fails. With --wpctl,
                                                     `wpctl -o json` documents are checked too.
Python 3 with python3-yaml and python3-jsonschema (Debian packages); no network beyond URL.
Exit status 0 when every check passes; problems are printed one per line.
"""
import argparse
import copy
import json
import random
import re
import string
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def pointer(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError(f"only local refs are used here: {ref}")
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def walk(node, fn, where="#"):
    fn(node, where)
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, fn, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, fn, f"{where}/{i}")


def operations(spec):
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def to_json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema (nullable: true -> type [T, "null"])."""
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class Contract:
    def __init__(self, spec):
        self.spec = spec
        self.doc = to_json_schema(copy.deepcopy(spec))
        self.resolver = jsonschema.RefResolver("", self.doc)

    def response(self, op, status):
        responses = op.get("responses", {})
        r = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if r and "$ref" in r:
            r = pointer(self.spec, r["$ref"])
        return r

    def errors(self, schema, instance):
        v = jsonschema.Draft7Validator(to_json_schema(schema), resolver=self.resolver)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}" for e in v.iter_errors(instance)]


# ---------------------------------------------------------------- spec

def check_spec(spec):
    problems = []
    if not str(spec.get("openapi", "")).startswith("3.0"):
        problems.append("openapi: not a 3.0.x document")
    for key in ("info", "paths"):
        if key not in spec:
            problems.append(f"{key}: missing")

    def ref_ok(node, where):
        if isinstance(node, dict) and "$ref" in node:
            try:
                pointer(spec, node["$ref"])
            except (KeyError, TypeError, IndexError):
                problems.append(f"{where}: $ref {node['$ref']} does not resolve")
    walk(spec, ref_ok)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    for req in spec.get("security", []):
        for name in req:
            if name not in schemes:
                problems.append(f"security: {name} is not a securityScheme")
    seen_ids = set()
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        if not path.startswith("/"):
            problems.append(f"{where}: path must start with /")
        rs = op.get("responses")
        if not rs:
            problems.append(f"{where}: no responses")
        elif not any(str(s).startswith("2") for s in rs):
            problems.append(f"{where}: no 2xx response")
        oid = op.get("operationId")
        if not oid or oid in seen_ids:
            problems.append(f"{where}: operationId missing or repeated")
        seen_ids.add(oid)
        declared = {p.get("name") for p in op.get("parameters", []) if p.get("in") == "path"}
        for name in re.findall(r"\{([^}]+)\}", path):
            if name not in declared:
                problems.append(f"{where}: path parameter {name} not declared")
        for p in op.get("parameters", []):
            if p.get("in") == "path" and not p.get("required"):
                problems.append(f"{where}: path parameter {p.get('name')} must be required")
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft7Validator.check_schema(to_json_schema(schema))
        except jsonschema.SchemaError as e:
            problems.append(f"components/schemas/{name}: {e.message}")
    return problems


# ---------------------------------------------------------------- routes

ROUTE = re.compile(r'\b(?:s|server)\.(Get|Put|Post|Delete|Patch)\(\s*(?:R"\((.*?)\)"|"([^"]+)")')
DOCUMENT = re.compile(r'documents\.emplace_back\(\s*"([^"]+)"')
WPCTL_PATH = re.compile(r'"(/(?:api/v1|metrics)[^"?]*)')


def code_routes(root):
    """(METHOD, path) the code registers; a capture group becomes {param}."""
    routes = set()
    for rel in ("mgmt/rest_api.cc", "mgmt/mgmt_runtime.cc", "tools/waypointd.cc"):
        with open(f"{root}/{rel}", encoding="utf-8") as f:
            text = f.read()
        for method, raw, plain in ROUTE.findall(text):
            path = re.sub(r"\([^)]*\)", "{param}", raw or plain)
            routes.add((method.upper(), path))
        for path in DOCUMENT.findall(text):
            routes.add(("GET", path))
    return routes


def spec_routes(spec):
    return {(m.upper(), re.sub(r"\{[^}]+\}", "{param}", p)) for p, m, _ in operations(spec)}


def wpctl_paths(root):
    paths = set()
    for rel in ("tools/wpctl.cc", "tools/wpctl_flows.cc", "tools/wpctl_table.cc"):
        with open(f"{root}/{rel}", encoding="utf-8") as f:
            paths.update(WPCTL_PATH.findall(f.read()))
    return paths


def check_routes(spec, root):
    problems = []
    code, documented = code_routes(root), spec_routes(spec)
    if len(code) < 5:
        problems.append(f"found only {len(code)} routes in the code: has the registration changed?")
    for m, p in sorted(code - documented):
        problems.append(f"{m} {p}: registered in the code, missing from the spec")
    for m, p in sorted(documented - code):
        problems.append(f"{m} {p}: in the spec, not registered in the code")
    templates = [re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$") for _, p in documented]
    for path in sorted(wpctl_paths(root)):
        candidate = path if not path.endswith("/") else path + "x"  # "/api/v1/sessions/" + uuid
        if not any(t.match(candidate) for t in templates):
            problems.append(f"wpctl requests {path}, which the spec does not have")
    print(f"routes: {len(code)} in the code, {len(documented)} in the spec, {len(wpctl_paths(root))} wpctl paths")
    return problems


# ---------------------------------------------------------------- live

def junk(rng, n=None):
    alphabet = string.ascii_letters + string.digits + "-_./%:{}[]\"' \\\x00\u00e9"
    return "".join(rng.choice(alphabet) for _ in range(n if n is not None else rng.randint(0, 40)))


def values(rng, schema, contract, valid):
    """A few values for a parameter schema: fitting ones (valid) or not."""
    if "$ref" in schema:
        schema = pointer(contract.spec, schema["$ref"])
    t = schema.get("type")
    if valid:
        if "enum" in schema:
            return list(schema["enum"])
        if t == "integer":
            lo, hi = schema.get("minimum", 0), schema.get("maximum", 1 << 31)
            return sorted({lo, hi, rng.randint(lo, hi)})
        if schema.get("format") == "ipv4":
            return ["10.1.0.10", f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"]
        if "pattern" in schema and "[0-9a-f]{8}" in schema["pattern"]:
            return ["%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                                       rng.getrandbits(12), rng.getrandbits(48))]
        return ["branch", junk(rng, 8)]
    out = ["", junk(rng), junk(rng, 300)]
    if t == "integer":
        out += [str(schema.get("minimum", 0) - 1), str(schema.get("maximum", 1 << 31) + 1), "1e3", "-5", "0x10",
                "99999999999999999999"]
    if schema.get("format") == "ipv4":
        out += ["256.1.1.1", "1.2.3", "::1", "10.1.0.10/24"]
    if "pattern" in schema:
        out += ["00000000-0000-0000-0000-00000000000g", "not-a-uuid"]
    return out


class Live:
    def __init__(self, contract, url, token, rng, deadline):
        self.c, self.url, self.token, self.rng, self.deadline = contract, url.rstrip("/"), token, rng, deadline
        self.problems, self.calls, self.statuses = [], 0, {}

    def request(self, method, path, query=None, body=None, ctype=None, token="default"):
        token = self.token if token == "default" else token
        url = self.url + urllib.parse.quote(path, safe="/%") + ("?" + urllib.parse.urlencode(query) if query else "")
        req = urllib.request.Request(url, data=body, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        if ctype:
            req.add_header("Content-Type", ctype)
        self.calls += 1
        for _ in range(20):  # 429s are in the contract; retry so every case is seen
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                if e.code != 429:
                    return e.code, e.headers, e.read()
                self.check_response(None, method, path, e.code, e.headers, e.read())
                time.sleep(0.2)
        return 429, {}, b""

    def check_response(self, op, method, path, status, headers, body):
        where = f"{method} {path} -> {status}"
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status >= 500 and not (op and str(status) in op.get("responses", {})):
            self.problems.append(f"{where}: a 5xx the spec does not declare: {body[:200]!r}")
            return
        if op is None:  # no operation: every error is an api.Error
            schema, ctype = {"$ref": "#/components/schemas/Error"}, "application/json"
        else:
            r = self.c.response(op, status)
            if r is None:
                self.problems.append(f"{where}: status not in the spec: {body[:200]!r}")
                return
            content = r.get("content", {})
            if not content:
                return
            ctype = next(iter(content))
            schema = content[ctype].get("schema", {})
        got = (headers.get("Content-Type") or "").split(";")[0].strip()
        if got != ctype:
            self.problems.append(f"{where}: Content-Type {got!r}, spec says {ctype}")
            return
        if ctype != "application/json":
            return
        try:
            doc = json.loads(body)
        except ValueError:
            self.problems.append(f"{where}: body is not JSON: {body[:200]!r}")
            return
        for e in self.c.errors(schema, doc):
            self.problems.append(f"{where}: {e}")

    def call(self, path_template, method, op, params=None, query=None, body=None, ctype=None, token="default"):
        if time.monotonic() > self.deadline:
            return None
        path = path_template
        for k, v in (params or {}).items():
            path = path.replace("{" + k + "}", v)
        status, headers, raw = self.request(method.upper(), path, query, body, ctype, token)
        self.check_response(op, method.upper(), path, status, headers, raw)
        return status, raw


def live_session_uuids(live):
    status, _, raw = live.request("GET", "/api/v1/sessions", {"limit": "5"})
    try:
        return [s["uuid"] for s in json.loads(raw)["sessions"]] if status == 200 else []
    except (ValueError, KeyError):
        return []


def exercise_operation(live, path, method, op, config_text, uuids, rounds):
    rng = live.rng
    params = [p for p in op.get("parameters", [])]
    query_params = [p for p in params if p["in"] == "query"]
    path_params = [p for p in params if p["in"] == "path"]
    for _ in range(rounds):
        valid = rng.random() < 0.5
        query = {}
        for p in query_params:
            if rng.random() < 0.6:
                query[p["name"]] = str(rng.choice(values(rng, p.get("schema", {}), live.c, valid or rng.random() < 0.5)))
        pp = {}
        for p in path_params:
            pool = values(rng, p.get("schema", {}), live.c, valid) + (uuids if valid else [])
            pp[p["name"]] = rng.choice(pool) or "x"
        body = ctype = None
        if "requestBody" in op:
            ctype = rng.choice(["application/yaml", "application/json", "text/plain"])
            body = config_body(rng, config_text, valid).encode("utf-8", "surrogatepass")
            query["dry_run"] = "1"  # never commit generated configs
        live.call(path, method, op, pp, query, body, ctype)
    # auth: no token, a wrong token
    if live.token:
        pp = {p["name"]: (uuids[0] if uuids else "00000000-0000-4000-8000-000000000000") for p in path_params}
        body = config_text.encode() if "requestBody" in op and config_text else (b"x" if "requestBody" in op else None)
        live.call(path, method, op, pp, {"dry_run": "1"} if body else None, body, "application/yaml" if body else None,
                  token=None)
        live.call(path, method, op, pp, {"dry_run": "1"} if body else None, body, "application/yaml" if body else None,
                  token="wrong-" + junk(rng, 6).replace(" ", "_"))


def config_body(rng, config_text, valid):
    if valid and config_text:
        return config_text
    choices = [
        "",
        junk(rng),
        "router: [unclosed",
        "colour: blue\n",
        "router: {name: 5}\n",
        "a: &x [1, 2]\nb: *x\n",
        json.dumps({"router": {"name": junk(rng, 5)}, "peers": [{"name": "p", "waypoints": ["300.1.1.1"]}]}),
        json.dumps([1, 2, 3]),
        "\u0000\u00ff" + junk(rng, 10),
    ]
    if config_text:
        lines = config_text.splitlines()
        i = rng.randrange(len(lines))
        choices.append("\n".join(lines[:i] + [junk(rng, 12)] + lines[i + 1:]))  # one line broken
        choices.append("\n".join(lines[:i]))  # cut short
    return rng.choice(choices)


def check_live(spec, a):
    contract = Contract(spec)
    rng = random.Random(a.seed)
    live = Live(contract, a.url, a.token, rng, time.monotonic() + a.seconds)
    config_text = open(a.config, encoding="utf-8").read() if a.config else ""
    uuids = live_session_uuids(live)
    ops = list(operations(spec))
    for path, method, op in ops:
        exercise_operation(live, path, method, op, config_text, uuids, a.rounds)
    # paths and methods no route serves: 404 with an api.Error body
    for _ in range(5):
        live.call("/api/v1/" + junk(rng, 6).replace("/", "_").replace("\\", "_"), "GET", None)
    live.call("/api/v1/stats", "DELETE", None)
    # a body over mgmt.limits.max_body_bytes (default 4 MiB): 413
    put = spec["paths"]["/api/v1/config"]["put"]
    live.call("/api/v1/config", "put", put, query={"dry_run": "1"}, body=b"#" * (4 << 20 | 4096), ctype="text/plain")
    if time.monotonic() > live.deadline:
        live.problems.append(f"ran out of the {a.seconds} s budget after {live.calls} calls")
    if a.wpctl:
        check_wpctl(live, a, uuids)
    print(f"live: {len(ops)} operations, {live.calls} calls, seed {a.seed}, statuses {dict(sorted(live.statuses.items()))}")
    return live.problems


def check_wpctl(live, a, uuids):
    """`wpctl -o json` prints the REST documents as they are: each fits its 200 schema."""
    docs = {"stats": "/api/v1/stats", "peers": "/api/v1/peers", "ha": "/api/v1/ha", "paths": "/api/v1/paths",
            "sessions": "/api/v1/sessions", "ipsec": "/api/v1/ipsec"}
    if uuids:
        docs["session " + uuids[0]] = "/api/v1/sessions/{uuid}"
    for cmd, path in docs.items():
        op = live.c.spec["paths"][path]["get"]
        schema = live.c.response(op, 200)["content"]["application/json"]["schema"]
        argv = [a.wpctl, "--url", a.url, "--token", a.token, "-o", "json"] + cmd.split()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
        if r.returncode != 0:
            live.problems.append(f"wpctl {cmd}: exit {r.returncode}: {r.stderr.strip()[:200]}")
            continue
        for e in live.c.errors(schema, json.loads(r.stdout)):
            live.problems.append(f"wpctl -o json {cmd}: {e}")


def main():
    ap = argparse.ArgumentParser(description="checks docs/api/openapi.yaml")
    ap.add_argument("mode", choices=["spec", "routes", "live"])
    ap.add_argument("spec")
    ap.add_argument("--root", default=".")
    ap.add_argument("--url")
    ap.add_argument("--token", default="")
    ap.add_argument("--config", help="a valid config for PUT /api/v1/config?dry_run=1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=12, help="generated calls per operation")
    ap.add_argument("--seconds", type=float, default=25)
    ap.add_argument("--wpctl")
    a = ap.parse_args()
    spec = load(a.spec)
    problems = check_spec(spec)
    if a.mode == "routes":
        problems += check_routes(spec, a.root)
    elif a.mode == "live":
        if not a.url:
            ap.error("live needs --url")
        if not problems:
            problems += check_live(spec, a)
    for p in problems:
        print(p)
    print(f"openapi {a.mode}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
