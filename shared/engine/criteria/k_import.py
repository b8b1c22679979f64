"""Criteria for `import`: a small CSV is uploaded and the per-row report and the stored rows are checked.

The scenarios drive the capability's own routes (see `capabilities/import/module.py.j2`): someone who may not
import is refused (403), so is a visitor who is not signed in (401); a preview of three rows, one of them bad, lists
two to be created and names the bad field, and saves nothing; the import then saves none of them (all or nothing)
or the two good ones (per row); importing a good file twice creates nothing the second time; a reference cell
names its record by name and an unknown name is a row error.

Imports are a behaviour, not a numbered rule: a stated rule is realised only when it is the import's own key
("no duplicate members", "one member per email": a uniqueness rule whose nouns name the imported record or its key
fields) or its own row cap ("up to 1000 rows": a limit with the capability's max_rows).
"""

from __future__ import annotations

import csv
import io
import re

from . import ScenarioError, a, entity_label, field_label, noun_matches, rule_number

_DUPLICATE_WORDS = re.compile(r"duplicat\w*|\bonce\b|\bunique\w*|\bsame\b|\bagain\b|\btwice\b|\bper\b|\bone\b|"
                              r"\bno (double|repeat)\w*|\bre-?run\w*|\bre-?import\w*")
_ROW_NOUNS = {"row", "line", "record", "entry", "item"}


def _cap_module():
    from ..capabilities import module_for

    return module_for("import")


def _names(spec, entity: str, key_fields: list[str]) -> list[str]:
    """Snake names a rule's noun may use for the imported record and its key fields."""
    ent = spec.entity(entity)
    out = [entity]
    if ent is not None:
        out += [_snake(ent.label), _snake(ent.label_plural)]
        for k in key_fields:
            f = ent.field(k)
            out += [k, k.removesuffix("_id")] + ([_snake(f.label)] if f is not None else [])
    return out


def _snake(label: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


# ---------------------------------------------------------------------------------------------------- realises


def _realises_import(cap, spec, rule, reading) -> bool:
    """Its key ("no duplicate members", "one member per email") or its row cap ("up to 1000 rows")."""
    n = rule_number(rule)
    if rule.category == "uniqueness":
        if n is not None and n != 1 or not _DUPLICATE_WORDS.search(rule.words.lower()):
            return False
        own = _names(spec, cap.entity, cap.key_fields)
        return all(any(noun_matches(noun, name) for name in own) for noun in rule.nouns)
    if rule.category == "limit":
        if n is None or n != cap.max_rows:
            return False
        rows = _ROW_NOUNS | {cap.entity}
        return bool(rule.nouns) and all(any(noun_matches(noun, r) for r in rows) for noun in rule.nouns)
    return False


# ---------------------------------------------------------------------------------------------------- derive


def _roles(cap, spec) -> tuple[str, str | None]:
    """(the role the scenario imports as: not the owner when another may; a role that may not import, or None)."""
    who = _cap_module().importers(cap, spec)
    if not who:
        raise ScenarioError(f"no role may import {cap.entity}")
    outsider = next((r.name for r in spec.roles if r.name not in who and r.name != "owner"), None)
    return next((r for r in who if r != "owner"), who[0]), outsider


def _rlabel(spec, role: str) -> str:
    r = spec.role(role)
    return (r.label if r else role.replace("_", " ")).lower()


def _realised(cap, spec, reading, category: str) -> list[int]:
    if reading is None:
        return []
    return [i for i, r in enumerate(reading.rules) if r.category == category and _realises_import(cap, spec, r, reading)]


def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _derive_import(cap, spec, reading, feature) -> list[dict]:
    ent = spec.entity(cap.entity)
    if ent is None:
        return []
    try:
        importer, outsider = _roles(cap, spec)
    except ScenarioError:  # compiling the criterion reports it
        importer, outsider = "owner", None
    who = "the owner" if importer == "owner" else a(_rlabel(spec, importer))
    one, many = entity_label(spec, cap.entity), entity_label(spec, cap.entity, True)
    cols = _cap_module()._columns(cap, spec)
    probe = _cap_module().probe_values(cap, spec, cols)
    bad = field_label(spec, cap.entity, probe["bad"][0]) if probe["bad"] else "value"
    keys = " and ".join(field_label(spec, cap.entity, k) for k in cap.key_fields)
    then = ("importing it saves none of them, as the whole file is saved or nothing" if cap.commit == "all_or_nothing"
            else "importing it saves the two good ones and not the bad one")
    refused = f"; {a(_rlabel(spec, outsider))} may not import" if outsider else ""
    params = {"capability": cap.id, "entity": cap.entity}
    out = [
        {"text": _fit(f"When {who} uploads a file of three {many}, one with a bad {bad}, the preview lists two "
                      f"{many} to add and names the {bad} of the bad row, and saves nothing; {then}{refused}."),
         "template": "import.upload_report", "params": params,
         "rules": _realised(cap, spec, reading, "limit") if probe["rows_fit"] else []},
        {"text": _fit(f"Importing the same file of three {many} twice adds three {many} the first time and none the "
                      f"second: each row is matched by its {keys}, so there are still three."),
         "template": "import.rerun_creates_nothing", "params": params,
         "rules": _realised(cap, spec, reading, "uniqueness")},
    ]
    refs = [c for c in cols if c["type"] == "reference" and c["ref"] != cap.entity]
    if refs:
        c = refs[0]
        target = entity_label(spec, c["ref"])
        out.append({"text": _fit(f"A {one} row names its {target} by {field_label(spec, c['ref'], c['lookup'])} and "
                                 f"is linked to it; a row naming a {target} that does not exist is reported as an "
                                 f"error on {target} and is not saved."),
                    "template": "import.reference_by_name", "params": dict(params, field=c["field"]), "rules": []})
    return out


# ---------------------------------------------------------------------------------------------------- compile


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _setup(p, capability: str, entity: str):
    """The capability, its columns and probes, the importer and outsider actors, and {reference field: (variable,
    lookup cell)} of one record made for each reference column."""
    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "import"), None)
    if cap is None or cap.entity != entity:
        raise ScenarioError(f"the spec has no import capability {capability!r} of {entity!r}")
    mod = _cap_module()
    cols = mod._columns(cap, p.spec)
    importer, outsider = _roles(cap, p.spec)
    refs = {}
    for c in cols:
        if c["type"] == "reference" and c["ref"] != entity:
            body = p.payload(c["ref"])
            if c["lookup"] not in body:
                raise ScenarioError(f"{c['ref']}.{c['lookup']} has no sample value to name a record by")
            var = p.make(c["ref"], None, body, note=f"{a(p.entity(c['ref']).label.lower())} the file names")
            refs[c["field"]] = (var, _cell(body[c["lookup"]]))
    return cap, cols, mod.probe_values(cap, p.spec, cols), p.actor(importer), \
        (p.actor(outsider) if outsider else None), refs


def _row(p, entity: str, cols: list[dict], refs: dict) -> dict:
    body = p.payload(entity)
    row = {}
    for c in cols:
        if c["type"] == "reference":
            if c["field"] in refs:
                row[c["header"]] = refs[c["field"]][1]
        elif c["field"] in body:
            row[c["header"]] = _cell(body[c["field"]])
    return row


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    headers = list(rows[0])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue()


def _file(text: str, name: str = "rows.csv") -> dict:
    return {"file": {"name": name, "content": text, "type": "text/csv"}}


def _total(p, actor: str, entity: str, n: int, note: str) -> None:
    p.step(actor, "GET", f"/api/{p.entity(entity).plural}?per_page=1", expect=200,
           checks=[{"path": "total", "op": "eq", "value": n}], note=note)


def _upload_report(p, capability: str, entity: str) -> None:
    cap, cols, probe, importer, outsider, refs = _setup(p, capability, entity)
    if probe["bad"] is None:
        raise ScenarioError(f"no field of {entity!r} has a value the records API refuses")
    many = p.entity(entity).label_plural.lower()
    rows = [_row(p, entity, cols, refs) for _ in range(3)]
    header = next(c["header"] for c in cols if c["field"] == probe["bad"][0])
    rows[2][header] = probe["bad"][1]
    text = _csv(rows)
    a_path, page = f"/api/{capability}", f"/{capability}/"
    if outsider:
        p.step(outsider, "POST", f"{a_path}/import", files=_file(text), expect=403, note="a role that may not import")
    p.step("anon", "POST", f"{a_path}/preview", files=_file(text), expect=401, note="a visitor who is not signed in")
    p.step(importer, "POST", f"{a_path}/preview", files=_file(text), expect=200,
           checks=[{"path": "dry_run", "op": "true"}, {"path": "counts.created", "op": "eq", "value": 2},
                   {"path": "counts.error", "op": "eq", "value": 1},
                   {"path": "items.2.status", "op": "eq", "value": "error"},
                   {"path": "items.2.row", "op": "eq", "value": 4},
                   {"path": f"items.2.errors.{probe['bad'][0]}", "op": "true"}],
           note="the preview lists two rows to add and names the bad field of row 4")
    _total(p, importer, entity, 0, f"the preview saved no {many}")
    if cap.commit == "all_or_nothing":
        p.step(importer, "POST", f"{a_path}/import", files=_file(text), expect=422,
               checks=[{"path": "error.code", "op": "eq", "value": "rows_invalid"},
                       {"path": "report.saved", "op": "false"}], note="one bad row: nothing is saved")
        _total(p, importer, entity, 0, f"still no {many}")
    else:
        p.step(importer, "POST", f"{a_path}/import", files=_file(text), expect=200,
               checks=[{"path": "counts.created", "op": "eq", "value": 2},
                       {"path": "counts.error", "op": "eq", "value": 1}], note="the two good rows are saved")
        _total(p, importer, entity, 2, f"two {many}, not three")
    if probe["rows_fit"]:
        key = next(c["header"] for c in cols if c["field"] == cap.key_fields[0])
        many_rows = _csv([{key: f"k{i}"} for i in range(cap.max_rows + 1)])
        p.step(importer, "POST", f"{a_path}/preview", files=_file(many_rows), expect=413,
               checks=[{"path": "error.code", "op": "eq", "value": "too_many_rows"}],
               note=f"a file of more than {cap.max_rows} rows is refused")
    p.step(importer, "GET", page, expect=200, checks=[{"op": "text_contains", "value": 'type="file"'}],
           note="the page has the upload form")


def _rerun_creates_nothing(p, capability: str, entity: str) -> None:
    cap, cols, _probe, importer, _outsider, refs = _setup(p, capability, entity)
    many = p.entity(entity).label_plural.lower()
    text = _csv([_row(p, entity, cols, refs) for _ in range(3)])
    a_path = f"/api/{capability}"
    p.step(importer, "POST", f"{a_path}/import", files=_file(text), expect=200,
           checks=[{"path": "saved", "op": "true"}, {"path": "counts.created", "op": "eq", "value": 3}],
           note=f"the first import adds three {many}")
    again = "unchanged" if cap.on_match == "update" else "skipped"
    p.step(importer, "POST", f"{a_path}/import", files=_file(text), expect=200,
           checks=[{"path": "counts.created", "op": "eq", "value": 0},
                   {"path": f"counts.{again}", "op": "eq", "value": 3}],
           note=f"the same file again adds none: every row is {again}")
    _total(p, importer, entity, 3, f"still three {many}")


def _reference_by_name(p, capability: str, entity: str, field: str) -> None:
    cap, cols, _probe, importer, _outsider, refs = _setup(p, capability, entity)
    if field not in refs:
        raise ScenarioError(f"{entity}.{field} is not a reference column the file can fill")
    col = next(c for c in cols if c["field"] == field)
    target = p.entity(col["ref"]).label.lower()
    good, lost = _row(p, entity, cols, refs), _row(p, entity, cols, refs)
    good[col["header"]] = good[col["header"]].upper()  # names match whatever the case
    lost[col["header"]] = f"No such {target} 999"
    a_path = f"/api/{capability}"
    p.step(importer, "POST", f"{a_path}/preview", files=_file(_csv([good, lost])), expect=200,
           checks=[{"path": "items.0.status", "op": "eq", "value": "created"},
                   {"path": "items.1.status", "op": "eq", "value": "error"},
                   {"path": f"items.1.errors.{field}", "op": "contains", "value": "names no"}],
           note=f"a row naming a {target} that does not exist is an error on {target}")
    saved = p.var("imported")
    p.step(importer, "POST", f"{a_path}/import", files=_file(_csv([good])), expect=200, save=saved,
           checks=[{"path": "counts.created", "op": "eq", "value": 1}], note=f"the row naming the {target} is saved")
    p.step(importer, "GET", f"/api/{p.entity(entity).plural}/${{{saved}.items.0.id}}", expect=200,
           checks=[{"path": field, "op": "eq", "value": f"${{{refs[field][0]}.id}}"}],
           note=f"it is linked to the {target} it names")


REALISES: dict = {"import": _realises_import}
DERIVE = {"import": _derive_import}
COMPILE = {"import.upload_report": _upload_report, "import.rerun_creates_nothing": _rerun_creates_nothing,
           "import.reference_by_name": _reference_by_name}
