"""Checks Maillage's OpenAPI document with independent validators.

Usage: check.py SPEC.json SAMPLES.json

1. The document passes openapi-spec-validator (OpenAPI 3.1).
2. Every operation has a unique operationId and a summary; every path parameter of a
   path template is declared `in: path` by each of its operations.
3. Each sample — a request body the server accepted, or a body it answered — is valid
   against the schema the document gives for it (openapi-schema-validator, OAS 3.1).

Prints every problem and exits 1 if there is any.
"""

import json
import re
import sys

from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations(spec):
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method], item.get("parameters", [])


def check_operations(spec, problems):
    seen = {}
    for path, method, op, shared in operations(spec):
        where = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            problems.append(f"{where}: no operationId")
        elif op_id in seen:
            problems.append(f"{where}: operationId {op_id!r} also used by {seen[op_id]}")
        else:
            seen[op_id] = where
        if not (op.get("summary") or "").strip():
            problems.append(f"{where}: no summary")
        declared = {
            p.get("name") for p in list(shared) + op.get("parameters", []) if p.get("in") == "path"
        }
        for name in re.findall(r"\{([^}]+)\}", path):
            if name not in declared:
                problems.append(f"{where}: path parameter {name!r} is not declared in: path")
        for name in declared - set(re.findall(r"\{([^}]+)\}", path)):
            problems.append(f"{where}: {name!r} is declared in: path but not in the path")
    return len(seen)


def schema_of(spec, sample):
    item = spec["paths"].get(sample["path"])
    if item is None:
        return None, f"{sample['path']} is not in the document"
    op = item.get(sample["method"].lower())
    if op is None:
        return None, f"{sample['method']} {sample['path']} is not in the document"
    if sample["kind"] == "request":
        content = op.get("requestBody", {}).get("content", {})
    else:
        response = op.get("responses", {}).get(str(sample["status"]))
        if response is None:
            return None, f"status {sample['status']} is not documented"
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[-1]
            response = spec["components"]["responses"][name]
        content = response.get("content", {})
    media = content.get("application/json")
    if media is None or "schema" not in media:
        return None, "no application/json schema"
    return media["schema"], None


def check_samples(spec, samples, problems):
    registry = Registry().with_resource("urn:maillage:openapi", Resource.opaque(spec))
    for sample in samples:
        where = f"{sample['method']} {sample['path']} {sample['kind']}"
        if sample["kind"] == "response":
            where += f" {sample['status']}"
        schema, why = schema_of(spec, sample)
        if schema is None:
            problems.append(f"{where}: {why}")
            continue
        # References in the document are relative to its root.
        rooted = {"$id": "urn:maillage:sample", "allOf": [rebase(schema)]}
        validator = OAS31Validator(rooted, registry=registry)
        for error in sorted(validator.iter_errors(sample["body"]), key=lambda e: list(e.path)):
            at = "/".join(str(p) for p in error.absolute_path) or "(body)"
            problems.append(f"{where}: at {at}: {error.message[:300]}")


def rebase(node):
    """The schema with its `#/…` references pointing into the whole document."""
    if isinstance(node, dict):
        return {
            k: ("urn:maillage:openapi" + v if k == "$ref" and v.startswith("#") else rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [rebase(v) for v in node]
    return node


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        samples = json.load(f)
    problems = []
    try:
        validate(spec)
    except Exception as e:  # the validator's own error types vary by version
        problems.append(f"openapi-spec-validator: {e}")
    count = check_operations(spec, problems)
    check_samples(spec, samples, problems)
    for p in problems:
        print(p)
    print(f"{count} operations, {len(samples)} samples, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
