"""Criteria for what a record carries: attachments, checklist and versioning.

Each scenario drives the capability's own routes (see its `module.py.j2`) and asserts both the behaviour and the
refusal the behaviour implies (a file too big or of a type not allowed is refused, ...).
"""

from __future__ import annotations

import hashlib
import re

from . import ScenarioError
from ._notify_helpers import (
    _a,
    _about_other,
    _clipped,
    _elabel,
    _flabel,
    _refused,
    _refused_who,
    _rules,
    _writers,
)

# ---------------------------------------------------------------------------------------------------- attachments

_SIZE_UNITS = {"b": (1,), "byte": (1,), "bytes": (1,), "kb": (1000, 1024), "kib": (1024,), "kilobyte": (1000, 1024),
               "kilobytes": (1000, 1024), "k": (1000, 1024), "mb": (1_000_000, 1_048_576), "mib": (1_048_576,),
               "meg": (1_000_000, 1_048_576), "megs": (1_000_000, 1_048_576), "megabyte": (1_000_000, 1_048_576),
               "megabytes": (1_000_000, 1_048_576), "gb": (10 ** 9, 2 ** 30), "gigabyte": (10 ** 9, 2 ** 30),
               "gigabytes": (10 ** 9, 2 ** 30)}
#: Content for an allowed type, in preference order: types whose bytes the runner can read back as text first.
_CONTENT = {"text/plain": "Criteria check file.\n", "text/csv": "name,check\ncriteria,1\n",
            "application/pdf": "%PDF-1.4\n% criteria check file\n%%EOF\n", "image/gif": "GIF89a criteria check file",
            "application/zip": "PK\x03\x04 criteria check file",
            "image/webp": "RIFF\x00\x00\x00\x00WEBP criteria check file",
            "image/png": "\x89PNG\r\n\x1a\n criteria check file", "image/jpeg": "\xff\xd8\xff criteria check file"}
_BINARY = ("image/png", "image/jpeg")
_EXT = {"text/plain": "txt", "text/csv": "csv", "application/pdf": "pdf", "image/gif": "gif", "application/zip": "zip",
        "image/webp": "webp", "image/png": "png", "image/jpeg": "jpg"}


def _size_unit(rule) -> tuple[int, ...]:
    unit = (rule.unit or "").lower().strip().rstrip(".")
    if unit in _SIZE_UNITS:
        return _SIZE_UNITS[unit]
    m = re.search(r"\d\s*(kib|mib|kb|mb|gb|kilobytes?|megabytes?|gigabytes?|megs?|bytes?)\b", rule.words.lower())
    return _SIZE_UNITS.get(m.group(1), ()) if m else ()


def _realises_attachments(cap, spec, rule, reading) -> bool:
    if rule.number is None or rule.category not in ("limit", "capacity", "threshold", "time_window"):
        return False
    if _about_other(spec, rule, {cap.entity}):
        return False
    return any(round(float(rule.number) * m) == cap.max_bytes for m in _size_unit(rule))


def _good_type(allowed: list[str]) -> str:
    known = [t for t in _CONTENT if t in allowed and t not in _BINARY]
    other = [t for t in allowed if t not in _CONTENT]
    return (known or other or [t for t in _BINARY if t in allowed] or allowed)[0]


def _file(ctype: str, size: int | None = None) -> dict:
    body = _CONTENT.get(ctype, "criteria check file\n")
    out = {"name": f"criteria.{_EXT.get(ctype, 'bin')}", "content": body, "type": ctype}
    if size is not None:  # the runner pads the file to `size` bytes (the scenario stays small)
        if size < len(body):
            out["content"] = "a" * size
        else:
            out["pad_to"] = size
    return out


def _bytes_text(n: int) -> str:
    for unit, size in (("MB", 1_000_000), ("MiB", 1_048_576), ("KB", 1000), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _derive_attachments(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or not _writers(spec, cap.entity):
        return []
    label = _elabel(spec, cap.entity)
    good = _good_type(cap.allowed_types)
    refused = next(t for t in ("text/html", "application/x-msdownload", "application/octet-stream")
                   if t not in cap.allowed_types)
    params = {"cap_id": cap.id, "entity": cap.entity, "max_bytes": cap.max_bytes, "good": good, "refused": refused}
    back = ("downloading it returns the same bytes" if good not in _BINARY
            else "the file list shows it with the same size and checksum")
    out = [{"text": f"{_a(good).capitalize()} file attached to {_a(label)} is listed and {back}; {_a(refused)} file "
                    f"is refused, and so is a file over {_bytes_text(cap.max_bytes)}.",
            "template": "attachments.upload", "params": params, "rules": []}]
    for i, rule in _rules("attachments", cap, spec, reading):
        out.append({"text": f"A file of exactly {_bytes_text(cap.max_bytes)} can be attached to {_a(label)}, and one "
                            f"byte more is refused ('{rule.words}').", "template": "attachments.size_limit",
                    "params": params, "rules": [i]})
    return out


def _attach_record(p, entity: str) -> tuple[str, str]:
    ent = p.entity(entity)
    writer = p.writer(entity)
    return writer, p.make(entity, writer, note=f"a {ent.label.lower()}")


def _attachments_upload(p, cap_id: str, entity: str, max_bytes: int, good: str, refused: str) -> None:
    """Upload, list and download a file; a refused type gets 415, a file over the limit 413."""
    writer, row = _attach_record(p, entity)
    api = f"/api/{cap_id}"
    f = _file(good)
    data = f["content"].encode("latin-1")
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": f}, expect=201, save="upload",
           note=f"attach {_a(good)} file",
           checks=[{"path": "size", "op": "eq", "value": len(data)},
                   {"path": "sha256", "op": "eq", "value": hashlib.sha256(data).hexdigest()},
                   {"path": "content_type", "op": "eq", "value": good}])
    p.step(writer, "GET", f"{api}/${{{row}.id}}/files", expect=200, note="the record's files",
           checks=[{"path": "items", "op": "len", "value": 1},
                   {"path": "items.0.id", "op": "eq", "value": "${upload.id}"},
                   {"path": "items.0.sha256", "op": "eq", "value": hashlib.sha256(data).hexdigest()}])
    if good not in _BINARY:  # the runner reads every response as UTF-8 text
        p.step(writer, "GET", f"{api}/files/${{upload.id}}", expect=200, note="download it",
               checks=[{"op": "text_contains", "value": f["content"]}])
    bad = {"name": "criteria.bin", "content": "<p>criteria check file</p>", "type": refused}
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": bad}, expect=415,
           note=f"attach {_a(refused)} file: refused")
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": _file(good, max_bytes + 1)}, expect=413,
           note=f"attach a file of {max_bytes + 1} bytes: refused")
    p.step(writer, "GET", f"{api}/${{{row}.id}}/files", expect=200, note="still one file",
           checks=[{"path": "items", "op": "len", "value": 1}])


def _attachments_size_limit(p, cap_id: str, entity: str, max_bytes: int, good: str, refused: str) -> None:
    """A file of exactly the limit is accepted, one byte more is refused."""
    writer, row = _attach_record(p, entity)
    api = f"/api/{cap_id}"
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": _file(good, max_bytes)}, expect=201,
           note=f"attach a file of exactly {max_bytes} bytes",
           checks=[{"path": "size", "op": "eq", "value": max_bytes}])
    p.step(writer, "POST", f"{api}/${{{row}.id}}/files", files={"file": _file(good, max_bytes + 1)}, expect=413,
           note=f"attach a file of {max_bytes + 1} bytes: refused")
    p.step(writer, "GET", f"{api}/${{{row}.id}}/files", expect=200, note="only the first file",
           checks=[{"path": "items", "op": "len", "value": 1}])


# ---------------------------------------------------------------------------------------------------- checklist


def _derive_checklist(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or not _writers(spec, cap.entity):
        return []
    label = _elabel(spec, cap.entity)
    who = _refused_who(spec, cap.entity)
    items = list(getattr(cap, "items", None) or [])
    if items:
        named = ", ".join(items)
        return [{"text": f"A new {label}'s checklist starts with {named}, none ticked (0%); ticking them one by one "
                         f"raises the percentage to 100% and complete; each {label} has its own copy; {who} may not "
                         f"tick items.",
                 "template": "checklist.named_items", "params": {"cap_id": cap.id, "entity": cap.entity,
                                                                 "items": items}, "rules": []}]
    return [{"text": f"Three checklist items added to {_a(label)} show 0% done; ticking one shows 33%, ticking all "
                     f"shows 100% and complete; {who} may not add or tick items.",
             "template": "checklist.progress", "params": {"cap_id": cap.id, "entity": cap.entity}, "rules": []}]


def _checklist_progress(p, cap_id: str, entity: str) -> None:
    """Add three items, tick them off and watch the progress; someone without write access is refused."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    row = p.make(entity, writer, note=f"a {ent.label.lower()}")
    api = f"/api/{cap_id}"
    items = []
    for n in range(3):
        var = f"item_{n + 1}"
        p.step(writer, "POST", f"{api}/${{{row}.id}}/items", json={"label": f"Step {n + 1}"}, expect=201,
               save=var, note=f"add checklist item {n + 1}", checks=[{"path": "done", "op": "false"}])
        items.append(var)

    def progress(done: int, percent: int, complete: bool, note: str, who: str = writer) -> None:
        p.step(who, "GET", f"{api}/${{{row}.id}}", expect=200, note=note,
               checks=[{"path": "total", "op": "eq", "value": 3}, {"path": "done", "op": "eq", "value": done},
                       {"path": "percent", "op": "eq", "value": percent},
                       {"path": "complete", "op": "true" if complete else "false"}])

    progress(0, 0, False, "nothing done yet")
    p.step(writer, "PATCH", f"{api}/items/${{{items[0]}.id}}", json={"done": True}, expect=200, note="tick one",
           checks=[{"path": "done", "op": "true"}])
    progress(1, 33, False, "one of three done")
    p.step(writer, "GET", f"{api}/incomplete?per_page=100", expect=200, note="incomplete checklists",
           checks=[{"path": "items", "op": "any", "key": "percent", "value": 33}])
    stranger, status = _refused(p, entity, writer)
    p.step(stranger, "POST", f"{api}/${{{row}.id}}/items", json={"label": "Sneaky"}, expect=status,
           note="add an item without write access: refused")
    p.step(stranger, "PATCH", f"{api}/items/${{{items[1]}.id}}", json={"done": True}, expect=status,
           note="tick an item without write access: refused")
    progress(1, 33, False, "unchanged")
    for var in items[1:]:
        p.step(writer, "PATCH", f"{api}/items/${{{var}.id}}", json={"done": True}, expect=200, note="tick another")
    progress(3, 100, True, "all done")


def _checklist_named_items(p, cap_id: str, entity: str, items: list[str]) -> None:
    """A new record starts with the named items, unticked, in order; ticking them all completes it; another record
    keeps its own copy; someone without write access may not tick."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    row = p.make(entity, writer, note=f"a {ent.label.lower()}")
    other = p.make(entity, writer, note=f"another {ent.label.lower()}")
    api = f"/api/{cap_id}"
    n = len(items)
    p.step(writer, "GET", f"{api}/${{{row}.id}}", expect=200, save="named", note="the named items, none ticked",
           checks=[{"path": "total", "op": "eq", "value": n}, {"path": "done", "op": "eq", "value": 0},
                   {"path": "complete", "op": "false"}]
           + [{"path": f"items.{i}.label", "op": "eq", "value": label} for i, label in enumerate(items)])
    stranger, status = _refused(p, entity, writer)
    p.step(stranger, "PATCH", f"{api}/items/${{named.items.0.id}}", json={"done": True}, expect=status,
           note="tick an item without write access: refused")
    for i in range(n):
        p.step(writer, "PATCH", f"{api}/items/${{named.items.{i}.id}}", json={"done": True}, expect=200,
               note=f"tick {items[i]}", checks=[{"path": "done", "op": "true"}])
        p.step(writer, "GET", f"{api}/${{{row}.id}}", expect=200, note=f"{i + 1} of {n} done",
               checks=[{"path": "done", "op": "eq", "value": i + 1},
                       {"path": "percent", "op": "eq", "value": round(100 * (i + 1) / n)},
                       {"path": "complete", "op": "true" if i + 1 == n else "false"}])
    p.step(writer, "GET", f"{api}/${{{other}.id}}", expect=200, note="the other record's items are its own",
           checks=[{"path": "total", "op": "eq", "value": n}, {"path": "done", "op": "eq", "value": 0}])


# ---------------------------------------------------------------------------------------------------- versioning

_V1 = "Mix the clay.\nWedge it well.\nLet it rest."
_V2 = "Mix the clay.\nWedge it twice.\nLet it rest."


def _derive_versioning(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or not _writers(spec, cap.entity):
        return []
    label, field = _elabel(spec, cap.entity), _flabel(spec, cap.entity, cap.field)
    who = _refused_who(spec, cap.entity)
    return [{"text": f"Each change of {_a(label)}'s {field} adds a numbered revision; the diff between revisions 1 "
                     f"and 2 shows the changed line; restoring revision 1 brings its text back as revision 3; "
                     f"{who} may not restore.",
             "template": "versioning.revisions", "params": {"cap_id": cap.id, "entity": cap.entity,
                                                            "field": cap.field}, "rules": []}]


def _versioning_revisions(p, cap_id: str, entity: str, field: str) -> None:
    """Two versions make revisions 1 and 2, the diff shows the change, restore adds revision 3."""
    ent = p.entity(entity)
    f = ent.field(field)
    if f is None:
        raise ScenarioError(f"{entity} has no field {field!r}")
    pad = "" if f.min is None or f.min <= len(_V1) else "\n" + "x" * int(f.min - len(_V1))
    v1, v2 = _V1 + pad, _V2 + pad
    writer = p.writer(entity)
    row = p.make(entity, writer, {field: v1}, note=f"a {ent.label.lower()} with a first {f.label.lower()}")
    api = f"/api/{cap_id}/${{{row}.id}}"
    p.step(writer, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json={field: v2}, expect=200,
           note=f"change the {f.label.lower()}")
    p.step(writer, "GET", f"{api}/revisions", expect=200, note="two revisions",
           checks=[{"path": "items", "op": "len", "value": 2}, {"path": "items.0.number", "op": "eq", "value": 2},
                   {"path": "items.1.number", "op": "eq", "value": 1}])
    p.step(writer, "GET", f"{api}/diff?from=1&to=2", expect=200, note="the diff",
           checks=[{"path": "diff", "op": "contains", "value": "-Wedge it well."},
                   {"path": "diff", "op": "contains", "value": "+Wedge it twice."}])
    stranger, status = _refused(p, entity, writer)
    p.step(stranger, "POST", f"{api}/revisions/1/restore", expect=status, note="restore without write access: refused")
    p.step(writer, "POST", f"{api}/revisions/99/restore", expect=404, note="restore a revision that does not exist")
    p.step(writer, "POST", f"{api}/revisions/1/restore", expect=201, note="restore revision 1",
           checks=[{"path": "changed", "op": "true"}, {"path": "revision.number", "op": "eq", "value": 3},
                   {"path": "revision.restored_from", "op": "eq", "value": 1},
                   {"path": f"record.{field}", "op": "eq", "value": v1}])
    p.step(writer, "GET", f"{api}/revisions/3", expect=200, note="revision 3 holds the first text",
           checks=[{"path": "body", "op": "eq", "value": v1}])
    p.step(writer, "GET", f"/api/{ent.plural}/${{{row}.id}}", expect=200, note="the record has it again",
           checks=[{"path": field, "op": "eq", "value": v1}])


# ---------------------------------------------------------------------------------------------------- tables


REALISES: dict = {
    "attachments": _realises_attachments,
    "checklist": lambda cap, spec, rule, reading: False,  # no parameter carries a rule
    "versioning": lambda cap, spec, rule, reading: False,  # no parameter carries a rule
}

DERIVE = {kind: _clipped(fn) for kind, fn in {
    "attachments": _derive_attachments,
    "checklist": _derive_checklist,
    "versioning": _derive_versioning,
}.items()}

COMPILE = {
    "attachments.upload": _attachments_upload,
    "attachments.size_limit": _attachments_size_limit,
    "checklist.progress": _checklist_progress,
    "checklist.named_items": _checklist_named_items,
    "versioning.revisions": _versioning_revisions,
}
