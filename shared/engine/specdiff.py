"""The difference between two versions of an app spec, in the founder's nouns (issue 19: "change the app").

`spec_diff(old, new)` compares by name: entities, attributes (per entity; an attribute whose type, requiredness,
default, values or target changed is "changed" with the before and after), links (relations), roles (what each may
read and write, its scope) and rules (capabilities, by id, with their parameters). Every part has `added`, `removed`
and `changed` lists, sorted, so the run page can show any two versions side by side.
"""

from __future__ import annotations

from .appspec import AppSpec

_ATTRIBUTE_KEYS = ("type", "required", "unique", "default", "values", "ref", "min", "max")
_ROLE_KEYS = ("read", "write", "read_own", "scope", "manage_users")
_RULE_SKIP = ("id", "routes")


def _part(before: dict[str, dict], after: dict[str, dict]) -> dict:
    changed = []
    for name in sorted(set(before) & set(after)):
        a, b = before[name], after[name]
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if keys:
            changed.append({"name": name, "from": {k: a.get(k) for k in keys}, "to": {k: b.get(k) for k in keys}})
    return {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
            "changed": changed}


def _attributes(spec: AppSpec) -> dict[str, dict]:
    return {f"{e.name}.{f.name}": {k: getattr(f, k) if not isinstance(getattr(f, k), tuple) else list(getattr(f, k))
                                   for k in _ATTRIBUTE_KEYS}
            for e in spec.entities for f in e.fields}


def _links(spec: AppSpec) -> dict[str, dict]:
    return {f"{r.entity} {r.kind} {r.target}": r.model_dump(mode="json") for r in spec.relations}


def _roles(spec: AppSpec) -> dict[str, dict]:
    dumped = {r.name: r.model_dump(mode="json") for r in spec.roles}
    return {n: {k: d.get(k) for k in _ROLE_KEYS} for n, d in dumped.items()}


def _rules(spec: AppSpec) -> dict[str, dict]:
    return {c.id: {k: v for k, v in c.model_dump(mode="json").items() if k not in _RULE_SKIP}
            for c in spec.capabilities}


def spec_diff(old: AppSpec, new: AppSpec) -> dict:
    """{entities, attributes, links, roles, rules}: each {added, removed, changed}; `same` when nothing differs."""
    out = {
        "entities": _part({e.name: {"label": e.label, "plural": e.plural} for e in old.entities},
                          {e.name: {"label": e.label, "plural": e.plural} for e in new.entities}),
        "attributes": _part(_attributes(old), _attributes(new)),
        "links": _part(_links(old), _links(new)),
        "roles": _part(_roles(old), _roles(new)),
        "rules": _part(_rules(old), _rules(new)),
    }
    out["same"] = not any(p["added"] or p["removed"] or p["changed"] for p in out.values())
    return out
