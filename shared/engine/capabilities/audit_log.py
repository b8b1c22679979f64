"""Capability `audit_log`: Append-only, hash-chained history: who, what, when, before and after; verify endpoint; CSV export."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, Route, SpecModel  # noqa: F401
from ._resolve import duplicates, entity_problems, readers, readers_any, writers

KIND = "audit_log"
PACKAGES: list[str] = []


class Params(CapabilityBase):
    kind: Literal["audit_log"] = "audit_log"
    entities: list[Name] = Field(min_length=1, description="entities whose changes are recorded")


def check(cap: Params, spec) -> list[str]:
    p: list[str] = duplicates(cap.entities, "entity")
    for e in cap.entities:
        p += entity_problems(spec, e)
    if not p and not any(writers(spec, e) for e in cap.entities):
        p.append(f"no role may write any of {cap.entities}, so there would be no changes to audit; add one of them "
                 f"to a role's write list")
    if not p and not readers_any(spec, cap.entities):
        p.append(f"no role may read any of {cap.entities}, so nobody could read the audit trail; add them to a "
                 f"role's read list (for example an auditor role)")
    return p


def routes(cap: Params, spec) -> list[Route]:
    roles = readers_any(spec, cap.entities)
    a, pg = f"/api/{cap.id}", f"/{cap.id}"
    return [
        Route(method="GET", path=f"{a}/entries", summary="audit entries, newest first (filter: entity, record_id)",
              roles=roles),
        Route(method="GET", path=f"{a}/entries/<int:entry_id>", summary="one audit entry with before and after",
              roles=roles),
        Route(method="GET", path=f"{a}/verify",
              summary="recompute the hash chain; reports the first tampered entry", roles=roles),
        Route(method="GET", path=f"{a}/export.csv", summary="the audit trail as CSV", roles=roles),
        Route(method="GET", path=f"{pg}/", summary="audit trail page with the chain's verification", roles=roles),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    ents = [spec.entity(e) for e in sorted(cap.entities)]
    ctx = {"ents": ents, "roles": readers_any(spec, cap.entities), "t": _test_plan(cap, spec)}
    d = "capabilities/audit_log"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(f"{d}/module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(f"{d}/index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(f"{d}/test.py.j2", **ctx),
    }


def _test_plan(cap: Params, spec) -> dict:
    """Which entity, field and roles the generated tests act with."""
    ent = next(spec.entity(e) for e in sorted(cap.entities) if writers(spec, e))
    ws = writers(spec, ent.name)
    writer = "owner" if "owner" in ws else ws[0]
    rs = readers(spec, ent.name)
    reader = next((r for r in rs if r not in ws), writer)
    outsider = next((r.name for r in spec.roles if r.name not in readers_any(spec, cap.entities)), None)
    from . import custody
    moves = []  # custody capabilities on an audited entity: their check-outs/ins are chained (tested)
    for c in spec.capabilities:
        if c.kind == "custody" and c.item_entity in cap.entities and "owner" in readers(spec, c.item_entity):
            movers = custody.checkout_roles(c, spec)
            if movers:
                moves.append({"id": c.id, "item": c.item_entity, "holder": c.holder_entity,
                              "mover": "owner" if "owner" in movers else movers[0]})
    # a reader that does not manage users: sees other members by display name only, never their email
    member = next((r.name for r in spec.roles if r.name in rs and not r.manage_users), None)
    return {"entity": ent, "field": ent.display_field, "writer": writer, "reader": reader, "outsider": outsider,
            "custody": moves, "member": member}


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): someone who can write the
    database but not the audit key deletes the newest entry and rewinds the head to the entry before; verify must
    report the chain broken (the head's seal no longer matches)."""
    from ..exploits import attack

    ent = spec.entity(cap.entities[0])
    p = attack(spec, f"audit_truncation:{cap.id}", "Deleting the newest audit entries and rewinding the chain's head "
                                                   "in the database is detected by the audit trail's verification.")
    who = p.writer(ent.name)
    row = p.make(ent.name, who, note=f"create {ent.label.lower()}: an audit entry")
    p.step(who, "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json={ent.display_field: "changed for the audit"},
           note=f"change the {ent.label.lower()}: the newest audit entry")
    p.step("owner", "GET", f"/api/{cap.id}/verify", checks=[{"path": "ok", "op": "true"}],
           note="the untouched chain verifies")
    table = f"{cap.id}_entries"
    p.step(None, "SQL", "", note="delete the newest entry and rewind the head to the one before, in the database")
    p.scenario["steps"][-1]["sql"] = [
        f"DELETE FROM {table} WHERE id = (SELECT MAX(id) FROM {table})",
        f"UPDATE {cap.id}_head SET count = count - 1, hash = (SELECT hash FROM {table} ORDER BY id DESC LIMIT 1) "
        f"WHERE id = 1"]
    p.step("owner", "GET", f"/api/{cap.id}/verify", checks=[{"path": "ok", "op": "false"}],
           note="the verification reports the truncated chain")
    return [p.scenario]
