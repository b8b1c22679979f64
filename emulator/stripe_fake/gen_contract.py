"""Write emulator/stripe_fake/contract.json from Stripe's published OpenAPI description.

    .venv/bin/python -m emulator.stripe_fake.gen_contract SPEC [--source "stripe/openapi@COMMIT:PATH"]

SPEC is `openapi/spec3.json` or `openapi/spec3.yaml` from the public repository stripe/openapi (not
committed: it is several MiB). CONTRACT below is the whole list of Stripe calls this repository makes
(decision 0044): `product` calls are made by shared/ (billing, plans, the reconciler); `harness`
calls are made only by tests/ and bench/, standing in for a customer or the Stripe Dashboard. For
each one the generator looks every parameter up in the spec and writes its type (string, integer,
boolean, enum values, metadata hash, nested hash or array) into contract.json; a parameter the spec
does not have stops the generator, unless OVERLAY names it with the place it was read from.
The fake (api.py) serves exactly these endpoints and refuses any other parameter with Stripe's 400
`parameter_unknown`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("contract.json")

# (method, spec path, used_by, parameter paths). `a[b]` is a hash key, `a[]` an array element.
CONTRACT: list[tuple[str, str, str, list[str]]] = [
    # shared/billing/checkout.py: the tenant's customer, then its Checkout Session
    ("POST", "/v1/customers", "product", ["email", "name", "metadata"]),
    ("POST", "/v1/checkout/sessions", "product", [
        "mode", "customer", "client_reference_id", "metadata", "success_url", "cancel_url",
        "subscription_data[metadata]", "payment_intent_data[metadata]",
        "line_items[][price]", "line_items[][quantity]"]),
    # shared/plans.py: the catalogue (products and prices by lookup key)
    ("GET", "/v1/prices", "product", ["lookup_keys", "limit"]),
    ("POST", "/v1/products", "product", ["id", "name", "metadata"]),
    ("POST", "/v1/prices", "product", [
        "product", "unit_amount", "currency", "lookup_key", "nickname", "metadata", "recurring[interval]",
        "transfer_lookup_key"]),
    # shared/billing/reconcile.py: paid objects of the last window, every page
    ("GET", "/v1/checkout/sessions", "product", ["created[gte]", "status", "limit", "starting_after"]),
    ("GET", "/v1/invoices", "product", ["created[gte]", "status", "limit", "starting_after"]),
    # tests/ and bench/: reading what the product made, and the Dashboard's actions
    ("GET", "/v1/customers", "harness", ["email", "limit"]),
    ("GET", "/v1/customers/{customer}", "harness", []),
    ("GET", "/v1/prices/{price}", "harness", []),
    ("GET", "/v1/checkout/sessions/{session}", "harness", []),
    ("POST", "/v1/subscriptions/{subscription_exposed_id}", "harness", ["metadata"]),
    ("DELETE", "/v1/subscriptions/{subscription_exposed_id}", "harness", []),
    ("POST", "/v1/refunds", "harness", ["payment_intent", "amount"]),
]

# Parameters Stripe added after the newest spec this repository could read (see decision 0044):
# {(method, path): {param: (type, where it was read)}}. Regenerating from a newer spec reports the
# entries the spec now has, so they can be dropped.
_PY = "stripe-python 16.1.0 stripe/params/checkout/_session_list_params.py (generated from the spec)"
OVERLAY: dict[tuple[str, str], dict[str, tuple[dict, str]]] = {
    ("GET", "/v1/checkout/sessions"): {
        "created[gte]": ({"type": "integer"}, _PY),
        "status": ({"type": "string", "enum": ["complete", "expired", "open"]}, _PY),
    },
}


class SpecError(Exception):
    pass


def load_spec(path: str) -> dict:
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml

        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return json.loads(text)


def resolve(spec: dict, node: dict) -> dict:
    """Follow `$ref`s to the schema they name."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        cur: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            cur = cur[part]
        node = cur
        seen += 1
        if seen > 20:
            raise SpecError("a $ref loop")
    return node


def _branches(spec: dict, node: dict) -> list[dict]:
    """A schema's alternatives (anyOf/oneOf), minus Stripe's `""` (unset) branch."""
    node = resolve(spec, node)
    alts = node.get("anyOf") or node.get("oneOf")
    if not alts:
        return [node]
    out = [resolve(spec, a) for a in alts]
    return [a for a in out if a.get("enum") != [""]] or out


def leaf_type(spec: dict, node: dict) -> dict:
    """The compact type of a parameter the product sends whole (no nested keys named)."""
    for b in _branches(spec, node):
        if b.get("type") == "object" and isinstance(b.get("additionalProperties"), dict):
            return {"type": "metadata"}
        if b.get("type") in ("string", "integer", "boolean"):
            out: dict = {"type": b["type"]}
            if b.get("enum"):
                out["enum"] = sorted(b["enum"])
            return out
        if b.get("type") == "array":
            return {"type": "array", "items": leaf_type(spec, b.get("items") or {})}
    raise SpecError(f"no scalar, metadata or array form in {sorted(node)}")


def child(spec: dict, node: dict, key: str) -> dict:
    """The schema of `node[key]` (`key` "" means an array element)."""
    for b in _branches(spec, node):
        if key == "" and b.get("type") == "array":
            return b.get("items") or {}
        props = b.get("properties") or {}
        if key and key in props:
            return props[key]
    raise KeyError(key)


def split(param: str) -> list[str]:
    head, _, rest = param.partition("[")
    parts = [head]
    if rest:
        parts += rest[:-1].split("][")
    return parts


def _insert(tree: dict, parts: list[str], leaf: dict) -> None:
    """Build the nested contract type for one parameter path."""
    head, rest = parts[0], parts[1:]
    if not rest:
        tree[head] = leaf
        return
    if rest[0] == "":
        node = tree.setdefault(head, {"type": "array", "items": {"type": "object", "properties": {}}})
        _insert(node["items"]["properties"], rest[1:], leaf)
    else:
        node = tree.setdefault(head, {"type": "object", "properties": {}})
        _insert(node["properties"], rest, leaf)


def operation_params(spec: dict, method: str, path: str) -> dict[str, dict]:
    """{top-level parameter name: schema} of one operation (query parameters or the form body)."""
    op = (spec.get("paths") or {}).get(path, {}).get(method.lower())
    if op is None:
        raise SpecError(f"{method} {path} is not in the spec")
    out = {p["name"]: p.get("schema") or {} for p in op.get("parameters", []) if p.get("in") == "query"}
    body = (op.get("requestBody") or {}).get("content", {}).get("application/x-www-form-urlencoded", {})
    out.update((resolve(spec, body.get("schema") or {}).get("properties")) or {})
    return out


def build(spec: dict, source: str) -> tuple[dict, list[str]]:
    endpoints, notes = [], []
    for method, path, used_by, params in CONTRACT:
        top = operation_params(spec, method, path)
        overlay = OVERLAY.get((method, path), {})
        tree: dict = {}
        from_overlay = {}
        for param in params:
            parts = split(param)
            try:
                node = top[parts[0]]
                for key in parts[1:]:
                    node = child(spec, node, key)
                leaf = leaf_type(spec, node)
                if param in overlay:
                    notes.append(f"{method} {path} {param}: now in the spec; drop it from OVERLAY")
            except KeyError:
                if param not in overlay:
                    raise SpecError(f"{method} {path}: the spec has no parameter {param}") from None
                leaf, where = overlay[param]
                from_overlay[param] = where
            _insert(tree, parts, leaf)
        entry = {"method": method, "path": path, "used_by": used_by, "params": tree}
        if from_overlay:
            entry["not_in_spec_read_from"] = from_overlay
        endpoints.append(entry)
    info = spec.get("info") or {}
    return {
        "generated_by": "python -m emulator.stripe_fake.gen_contract",
        "spec": {"source": source, "api_version": info.get("version")},
        "endpoints": endpoints,
    }, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", help="path to stripe/openapi's openapi/spec3.json or spec3.yaml")
    ap.add_argument("--source", default=None, help="where SPEC came from, e.g. stripe/openapi@<commit>:openapi/spec3.yaml")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    try:
        contract, notes = build(load_spec(args.spec), args.source or args.spec)
    except SpecError as exc:
        print(f"gen_contract: {exc}", file=sys.stderr)
        return 1
    for n in notes:
        print(f"gen_contract: {n}", file=sys.stderr)
    Path(args.out).write_text(json.dumps(contract, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"gen_contract: wrote {len(contract['endpoints'])} endpoints to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
