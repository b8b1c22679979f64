"""Capability `import`: Bulk import of a CSV or JSON file into one entity, validated row by row like the records API, with a per-row report (created, updated, unchanged, skipped, error), a preview that writes nothing, and key fields that make a re-run (or two imports at once) create nothing twice.

The kind is `import`; this module is named `bulk_import` because `import` is a Python keyword.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ..appspec.base import CapabilityBase, Name

KIND = "import"

#: field types a key field may have (a value that names one row); an enum alone cannot (too few values)
KEY_TYPES = ("text", "email", "phone", "url", "integer", "date", "datetime", "enum", "reference")
#: field types of a referenced entity that rows may name it by
MATCH_TYPES = ("text", "email", "phone", "url", "integer", "enum")
#: the generated app refuses any request body above this (MAX_CONTENT_LENGTH)
APP_BODY_LIMIT = 10 * 1024 * 1024

Header = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class Params(CapabilityBase):
    kind: Literal["import"] = "import"
    entity: Name = Field(description="the records the file's rows become, e.g. member")
    key_fields: list[Name] = Field(min_length=1, max_length=3, description=(
        "fields of `entity` that together identify a row, so that running the same file again finds the row it "
        "made instead of adding a second, e.g. ['email'] or ['sku'] or ['hive_id', 'inspected_on']; the app "
        "refuses a second row with the same key on every write path"))
    on_match: Literal["update", "skip"] = Field(default="update", description=(
        "a file row whose key matches a stored row: update it with the file's values, or skip it"))
    commit: Literal["all_or_nothing", "per_row"] = Field(default="all_or_nothing", description=(
        "all_or_nothing: one bad row and nothing is saved (the report says which rows to fix); per_row: good rows "
        "are saved and bad ones reported; either way no row is ever half saved"))
    columns: dict[Header, Name] = Field(default_factory=dict, description=(
        "extra header names -> field, e.g. {'E-mail address': 'email'}; field names and labels always match, "
        "ignoring case, spaces and punctuation"))
    match_by: dict[Name, Name] = Field(default_factory=dict, description=(
        "reference field of `entity` -> field of the referenced entity a cell names it by, e.g. "
        "{'hive_id': 'name'}; default: the referenced entity's display field"))
    roles: list[Name] = Field(default_factory=list, description=(
        "roles that may import; empty = every role that may write `entity` (the owner included)"))
    max_rows: int = Field(default=1000, ge=1, le=5000, description="the most data rows one file may have")
    max_bytes: int = Field(default=2_000_000, ge=1024, le=5_000_000, description="the largest file, in bytes")


PACKAGES: list[str] = []


def norm(text: str) -> str:
    """A header or name compared loosely: lower case, words only ("E-mail  Address" -> "e mail address")."""
    return " ".join(re.findall(r"[a-z0-9]+", str(text).lower()))


def importers(cap: Params, spec) -> list[str]:
    """Roles (spec order) that may import: `roles`, or every role that may write the entity."""
    from . import _bind as b

    return list(cap.roles) if cap.roles else b.writers(spec, cap.entity)


def _managed(spec, entity: str) -> dict[str, str]:
    """{field: capability id} of the entity's fields another capability sets itself (a workflow's state)."""
    out: dict[str, str] = {}
    from . import module_for

    for c in spec.capabilities:
        hook = getattr(module_for(c.kind), "managed_fields", None)
        pairs = hook(c, spec) if hook else ([(c.entity, c.state_field)] if c.kind == "workflow" else [])
        for ent, field in pairs:
            if ent == entity:
                out.setdefault(field, c.id)
    return out


def lookup_field(cap: Params, spec, field) -> str | None:
    """The field of the referenced entity that cells of reference field `field` name a record by."""
    target = spec.entity(field.ref)
    return cap.match_by.get(field.name) or (target.display_field if target is not None else None)


def aliases(cap: Params, spec) -> dict[str, str]:
    """{normalised header: field} a file's headers are matched with: `columns`, then names and labels (a
    reference also by its name without `_id` and the referenced entity's label); a label two fields share
    matches neither. Fields another capability manages are left out."""
    ent = spec.entity(cap.entity)
    managed = _managed(spec, cap.entity)
    loose: dict[str, set[str]] = {}
    for f in ent.fields:
        if f.name in managed:
            continue
        names = {f.name, f.label}
        if f.type == "reference":
            target = spec.entity(f.ref)
            names |= {f.name.removesuffix("_id"), *((target.label,) if target is not None else ())}
        for n in names:
            if norm(n):
                loose.setdefault(norm(n), set()).add(f.name)
    out = {k: next(iter(v)) for k, v in sorted(loose.items()) if len(v) == 1}
    for header, field in cap.columns.items():
        if field not in managed:
            out[norm(header)] = field
    return dict(sorted(out.items()))


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b

    p = [m for m in (b.entity_problem(spec, cap.entity, "entity"), b.no_writer_problem(spec, cap.entity, "entity"),
                     *(b.role_problem(spec, r, "role") for r in cap.roles)) if m]
    ent = spec.entity(cap.entity)
    if ent is None:
        return p
    managed = _managed(spec, cap.entity)
    for k in cap.key_fields:
        m = b.field_problem(spec, cap.entity, k, "key field", KEY_TYPES)
        if m:
            p.append(m)
        elif k in managed:
            p.append(f"key field {cap.entity}.{k} is set by capability {managed[k]!r}, so a file cannot carry it; "
                     f"choose a field people type, e.g. an email or a code")
    if len(set(cap.key_fields)) != len(cap.key_fields):
        p.append(f"key_fields {cap.key_fields} list a field twice")
    types = [ent.field(k).type for k in cap.key_fields if ent.field(k) is not None]
    if types and all(t in ("enum", "reference") for t in types):
        p.append(f"key_fields {cap.key_fields} have only enum or reference fields, which repeat across rows; add a "
                 f"field that names one {cap.entity}, e.g. an email, a code or a date")
    for header, field in cap.columns.items():
        if not norm(header):
            p.append(f"columns header {header!r} has no letters or digits; name the column as the file does")
        if ent.field(field) is None:
            p.append(f"columns maps {header!r} to {field!r}, which is not a field of {cap.entity!r}; fields: "
                     f"{[f.name for f in ent.fields]}")
        elif field in managed:
            p.append(f"columns maps {header!r} to {cap.entity}.{field}, which capability {managed[field]!r} sets "
                     f"itself; drop it from columns")
    for field, target_field in cap.match_by.items():
        m = b.field_problem(spec, cap.entity, field, "match_by key", ("reference",))
        if m:
            p.append(m)
            continue
        ref = ent.field(field).ref
        m = b.field_problem(spec, ref, target_field, f"match_by[{field!r}]", MATCH_TYPES)
        if m:
            p.append(m)
    for r in cap.roles:
        role = spec.role(r)
        if role is not None and cap.entity not in role.write:
            p.append(f"role {r!r} may import but may not write {cap.entity!r}; an import would let it create what "
                     f"the records API refuses it: add {cap.entity!r} to its write list or drop it from roles")
    if ent is not None and not importers(cap, spec):
        p.append(f"no role may import {cap.entity}: set roles, or let a role write {cap.entity!r}")
    keys = set(cap.key_fields)
    for f in ent.fields:  # a required field no header can name could never be imported
        if f.required and f.default is None and f.name in managed:
            p.append(f"{cap.entity}.{f.name} is required but set by capability {managed[f.name]!r}; give it a "
                     f"default so that imported rows start with it")
    twins = [c for c in spec.capabilities if c.kind == "import" and c.id != cap.id and c.entity == cap.entity
             and set(c.key_fields) != keys]
    if twins:
        p.append(f"capability {twins[0].id!r} also imports {cap.entity} but with key {twins[0].key_fields}; one "
                 f"entity has one key: use the same key_fields {cap.key_fields}")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route

    who, a = importers(cap, spec), f"/api/{cap.id}"
    return [
        Route(method="POST", path=f"{a}/preview", summary="a CSV or JSON file (multipart 'file', or a JSON array): "
              "the per-row report of what an import would do; nothing is saved", roles=who),
        Route(method="POST", path=f"{a}/import", summary="import a CSV or JSON file: the per-row report (created, "
              "updated, unchanged, skipped, error); 422 when a bad row stops an all-or-nothing import", roles=who),
        Route(method="GET", path=f"{a}/runs", summary="the latest imports with their counts", roles=who),
        Route(method="GET", path=f"{a}/runs/<int:run_id>/report.csv", summary="one import's report as CSV "
              "(cells that a spreadsheet would run as formulas are quoted)", roles=who),
        Route(method="GET", path=f"{a}/template.csv", summary="a CSV with the header row a file should have",
              roles=who),
        Route(method="GET", path=f"/{cap.id}/", summary="page: upload form and the latest imports", roles=who),
        Route(method="POST", path=f"/{cap.id}/", summary="page form: preview or import a file (CSRF), then the "
              "report table", roles=who),
    ]


def _columns(cap: Params, spec) -> list[dict]:
    """The file's columns in field order: {"field", "label", "header" (what the template CSV writes), "type",
    "required", "key", "ref", "lookup"} for every field a file can carry."""
    ent = spec.entity(cap.entity)
    managed = _managed(spec, cap.entity)
    out = []
    for f in ent.fields:
        if f.name in managed:
            continue
        target = spec.entity(f.ref) if f.type == "reference" else None
        out.append({"field": f.name, "label": f.label, "type": f.type, "required": f.required,
                    "key": f.name in cap.key_fields,
                    "header": target.label if target is not None else f.label, "ref": f.ref,
                    "lookup": lookup_field(cap, spec, f) if f.type == "reference" else None})
    return out


def probe_values(cap: Params, spec, cols: list[dict]) -> dict:
    """What the generated tests use: `bad` ([field, value] the records API refuses; a typed field that is not a
    key when one can be), `change` (a field a re-run may change, or None) and `rows_fit` (a file of max_rows + 1
    tiny rows stays under max_bytes, so the row cap is what refuses it)."""
    from ..compiler import bad_values

    ent = spec.entity(cap.entity)
    carried = {c["field"] for c in cols if c["type"] != "reference"}
    bads = [fv for fv in bad_values(ent) if fv[0] in carried and isinstance(fv[1], str)]
    types = {f.name: f.type for f in ent.fields}
    # a wrong value of a typed field reads best ("a bad phone"); then an over-long text; then a key
    ranked = sorted(bads, key=lambda fv: (fv[0] in cap.key_fields, types[fv[0]] in ("text", "long_text", "file")))
    bad = ranked[0] if ranked else None
    change = next((c["field"] for c in cols if c["type"] != "reference" and not c["key"]), None)
    return {"bad": bad, "change": change, "rows_fit": (cap.max_rows + 2) * 7 + 200 < cap.max_bytes}


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b

    ent = spec.entity(cap.entity)
    who = importers(cap, spec)
    outsider = next((r.name for r in spec.roles if r.name not in who and r.name != "owner"), None)
    cols = _columns(cap, spec)
    refs = [c for c in cols if c["type"] == "reference"]
    ctx = {
        "ent": ent, "importers": who, "importer": next((r for r in who if r != "owner"), who[0]),
        "outsider": outsider, "own_roles": [r.name for r in spec.roles if r.scope == "own" and r.name in who],
        "aliases": aliases(cap, spec), "cols": cols, "refs": refs, "detail": b.detail_path(spec, cap.entity),
        "lookups": {c["field"]: c["lookup"] for c in refs},
        "ref_free_text": {c["field"]: b.free_text_display(spec.entity(c["ref"])) == c["lookup"] for c in refs},
        "ref_writer": {c["ref"]: b.writer_role(spec, c["ref"]) or "owner" for c in refs},
    }
    ctx.update(probe_values(cap, spec, cols))
    d = "capabilities/import/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/capabilities/{cap.id}_files.py": tpl.render(d + "files.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attack: for an importing role that reads only its own rows of the entity (read_own), one user's
    import runs (their reports name the rows' keys) are not listed to another user of the role, and the other's
    report is 404."""
    from ..criteria.k_import import _csv, _file, _row
    from ..exploits import attack

    out = []
    for role in importers(cap, spec):
        r = spec.role(role)
        if role == "owner" or r is None or cap.entity not in r.read_own:
            continue
        p = attack(spec, f"import_runs_private:{cap.id}:{role}", f"One {r.label.lower()}'s imports (their reports "
                                                                  "name the rows) stay hidden from another.")
        a_, b = p.actor(role, "user_a"), p.actor(role, "user_b")
        cols = _columns(cap, spec)
        refs = {}
        for c in cols:
            if c["type"] == "reference" and c["ref"] != cap.entity:
                body = p.payload(c["ref"])
                maker = a_ if p.makes_own(a_, c["ref"]) else None
                refs[c["field"]] = (p.make(c["ref"], maker, body), str(body.get(c["lookup"], "")))
        run = p.var("import")
        p.step(a_, "POST", f"/api/{cap.id}/import", files=_file(_csv([_row(p, cap.entity, cols, refs)])),
               expect=200, save=run, checks=[{"path": "saved", "op": "true"}], note="user A imports a file")
        p.step(a_, "GET", f"/api/{cap.id}/runs", checks=[{"path": "items", "op": "len_ge", "value": 1}],
               note="user A sees the import")
        p.step(b, "GET", f"/api/{cap.id}/runs", checks=[{"path": "items", "op": "len", "value": 0}],
               note="user B, who imported nothing, lists no import")
        p.step(b, "GET", f"/api/{cap.id}/runs/${{{run}.run_id}}/report.csv", expect=[403, 404],
               note="user B asks for user A's report")
        out.append(p.scenario)
    return out
