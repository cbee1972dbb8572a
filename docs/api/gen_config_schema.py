#!/usr/bin/env python3
"""Writes the configuration schemas at the end of docs/api/openapi.yaml from
proto/config.proto (every message, field, type and comment), so the API's
Config body cannot drift from the schema the router loads.

  gen_config_schema.py --root REPO            rewrite the generated part
  gen_config_schema.py --root REPO --check    exit 1 when it is out of date

The generated part follows MARKER and continues components.schemas (the last
mapping of the file). Reuses tools/gen_config_man.py's parser of the proto.
"""
import argparse
import importlib.util
import json
import sys

MARKER = "    # ---- generated from proto/config.proto by docs/api/gen_config_schema.py; do not edit below"
SCALARS = {"string": {"type": "string"}, "bool": {"type": "boolean"},
           "uint32": {"type": "integer", "minimum": 0}, "int32": {"type": "integer"},
           # protobuf JSON writes 64-bit integers as strings and reads either
           "uint64": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+$"}]}}


def parser(root):
    spec = importlib.util.spec_from_file_location("gen_config_man", f"{root}/tools/gen_config_man.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def schema_name(message):
    return "Config" if message == "Config" else "Config" + message


def field_schema(f, messages):
    if f["type"] in messages:
        one = {"$ref": f"#/components/schemas/{schema_name(f['type'])}"}
    else:
        one = dict(SCALARS[f["type"]])
    s = {"type": "array", "items": one} if f["repeated"] else one
    if f["comment"] or f["secret"]:
        text = f["comment"] + (" Secret: reads \"<redacted>\" in answers." if f["secret"] else "")
        if "$ref" in s:  # a $ref takes no siblings in OpenAPI 3.0
            s = {"allOf": [s], "description": text.strip()}
        else:
            s["description"] = text.strip()
    return s


def generated(root):
    mod = parser(root)
    with open(f"{root}/proto/config.proto", encoding="utf-8") as f:
        _, messages, _ = mod.parse(f.read())
    lines = [MARKER]
    for m in mod.reach(messages):
        comment, fields = messages[m]
        body = {"type": "object", "additionalProperties": False}
        if comment:
            body["description"] = comment
        body["properties"] = {f["name"]: field_schema(f, messages) for f in fields}
        lines.append(f"    {schema_name(m)}:")
        for key, value in body.items():
            if key == "properties":
                lines.append("      properties:")
                for name, s in value.items():
                    lines.append(f"        {name}: {json.dumps(s, ensure_ascii=False)}")
            else:
                lines.append(f"      {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    path = f"{a.root}/docs/api/openapi.yaml"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head = text.split(MARKER + "\n")[0] if MARKER in text else text.rstrip("\n") + "\n"
    new = head + generated(a.root)
    if a.check:
        if new != text:
            print(f"{path}: the Config schemas are out of date: run docs/api/gen_config_schema.py --root {a.root}")
            return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
