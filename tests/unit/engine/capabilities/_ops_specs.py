"""Hand-written app specs for the booking, workflow, ledger, reminders, custody and rotation tests.

Each builder returns an AppSpec dict for one idea; `build()` fills the parts every spec needs (owner role,
pages, trace) so a test states only the entities, roles and capabilities its idea is about.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def f(name, type_="text", **kw):
    return {"name": name, "label": name.replace("_", " ").capitalize(), "type": type_, **kw}


def entity(name, plural, fields, display=None):
    return {"name": name, "plural": plural, "label": name.replace("_", " ").capitalize(),
            "label_plural": plural.replace("_", " ").capitalize(), "fields": fields,
            "display_field": display or fields[0]["name"]}


def role(name, read=(), write=(), scope="all"):
    return {"name": name, "label": name.replace("_", " ").capitalize(), "read": list(read), "write": list(write),
            "scope": scope}


def build(name, purpose, entities, roles, capabilities, default_role=None):
    """A spec: the owner may read and write everything; one trace entry (feature) per capability."""
    names = [e["name"] for e in entities]
    owner = {**role("owner", names, names), "manage_users": True}
    features = [c["label"] for c in capabilities]
    pages = [{"id": "home", "path": "/", "title": "Home", "kind": "home"}]
    for e in entities:
        pages += [{"id": f"{e['name']}_list", "path": f"/{e['plural']}", "title": e["label_plural"], "kind": "list",
                   "entity": e["name"]},
                  {"id": f"{e['name']}_detail", "path": f"/{e['plural']}/<int:id>", "title": e["label"],
                   "kind": "detail", "entity": e["name"]}]
    return {
        "name": name, "slug": name.lower().replace(" ", "-"), "purpose": purpose, "tagline": purpose[:150],
        "features": features, "roles": [owner, *roles], "default_role": (default_role or roles[0]["name"]),
        "entities": entities, "relations": [], "capabilities": capabilities, "pages": pages,
        "navigation": [{"label": "Home", "page": "home"}],
        "trace": [{"feature": c["label"], "status": "planned", "capabilities": [c["id"]]} for c in capabilities],
    }


def kiln_studio():
    """Pottery studio: members book kiln firings; a viewer role reads only kilns."""
    kiln = entity("kiln", "kilns", [f("name", required=True, unique=True), f("max_cone", "integer", min=1, max=14)])
    firing = entity("firing", "firings", [
        f("title", required=True, max=120), f("kiln_id", "reference", ref="kiln", required=True),
        f("starts_at", "datetime", required=True), f("ends_at", "datetime", required=True),
        f("cone", "integer", min=1, max=14), f("glaze", "text")])
    roles = [role("member", ["kiln", "firing"], ["firing"]), role("viewer", ["kiln"], [])]
    caps = [{"kind": "booking", "id": "kiln_booking", "label": "Book kiln firings without double booking",
             "entity": "firing", "resource": "kiln", "resource_field": "kiln_id", "start_field": "starts_at",
             "end_field": "ends_at"}]
    return build("Kiln Club", "Members of a pottery studio book kiln firings and track glazes.",
                 [kiln, firing], roles, caps)


def meeting_rooms():
    """Coworking space: staff reserve meeting rooms; guests read reservations."""
    room = entity("room", "rooms", [f("label", required=True), f("seats", "integer", min=1)], display="label")
    res = entity("reservation", "reservations", [
        f("purpose", required=True), f("room_id", "reference", ref="room", required=True),
        f("begins", "datetime", required=True), f("ends", "datetime", required=True),
        f("attendees", "integer", min=1), f("contact", "email")])
    roles = [role("staff", ["room", "reservation"], ["reservation", "room"]), role("guest", ["reservation"], [])]
    caps = [{"kind": "booking", "id": "room_calendar", "label": "Reserve rooms on a shared calendar",
             "entity": "reservation", "resource": "room", "resource_field": "room_id", "start_field": "begins",
             "end_field": "ends"}]
    return build("Room Desk", "A coworking space where staff reserve meeting rooms for members.",
                 [room, res], roles, caps)


def grant_review():
    """Small-grants programme: applicants (own records) submit, reviewers approve or reject."""
    app = entity("application", "applications", [
        f("title", required=True), f("amount", "money", min=0), f("summary", "long_text"),
        f("status", "enum", values=["draft", "submitted", "approved", "rejected"], default="draft")])
    roles = [role("applicant", ["application"], ["application"], scope="own"),
             role("reviewer", ["application"], [])]
    caps = [{"kind": "workflow", "id": "review", "label": "Reviewers approve or reject submitted applications",
             "entity": "application", "state_field": "status", "states": ["draft", "submitted", "approved", "rejected"],
             "initial": "draft", "transitions": [
                 {"name": "submit", "from_states": ["draft"], "to": "submitted", "roles": ["applicant"]},
                 {"name": "approve", "from_states": ["submitted"], "to": "approved", "roles": ["reviewer"]},
                 {"name": "reject", "from_states": ["submitted"], "to": "rejected", "roles": ["reviewer"]},
                 {"name": "reopen", "from_states": ["rejected"], "to": "draft", "roles": ["owner", "reviewer"]}]}]
    return build("Grant Desk", "A community fund receives grant applications and reviews them.",
                 [app], roles, caps)


def repair_tickets():
    """Building maintenance: tenants report, technicians work, the owner closes."""
    ticket = entity("ticket", "tickets", [
        f("problem", required=True), f("unit_number", "text"),
        f("stage", "enum", values=["reported", "in_progress", "fixed", "closed"])], display="problem")
    roles = [role("tenant", ["ticket"], ["ticket"]), role("technician", ["ticket"], [])]
    caps = [{"kind": "workflow", "id": "repairs", "label": "Track each repair from report to closure",
             "entity": "ticket", "state_field": "stage", "states": ["reported", "in_progress", "fixed", "closed"],
             "initial": "reported", "transitions": [
                 {"name": "start", "from_states": ["reported"], "to": "in_progress", "roles": ["technician"]},
                 {"name": "finish", "from_states": ["in_progress"], "to": "fixed", "roles": ["technician"]},
                 {"name": "close", "from_states": ["fixed", "reported"], "to": "closed", "roles": ["owner"]}]}]
    return build("Fix It", "Tenants report repairs that technicians fix.", [ticket], roles, caps)


def with_cap(spec, **changes):
    """A copy of `spec` whose first capability has `changes` applied (for check() tests)."""
    s = copy.deepcopy(spec)
    s["capabilities"][0].update(changes)
    return s


@dataclass
class ProjectRun:
    returncode: int
    output: str
    results: dict[str, str]  # "test_cap_x.Class.test_name" -> "ok" | "FAIL" | "ERROR" | "skipped ..."

    def of(self, module: str) -> dict[str, str]:
        return {k.split(".")[-1]: v for k, v in self.results.items() if k.startswith(module + ".")}


_RESULT = re.compile(r"^(test_\w+) \(tests\.(\w+)\.(\w+)\.test_\w+\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*)$",
                     re.MULTILINE)


def compile_spec(spec_dict: dict) -> tuple[object, dict[str, bytes]]:
    from shared.engine.appspec.model import AppSpec
    from shared.engine.compiler import compile_project
    from shared.engine.stages import uiux_design

    spec = AppSpec.model_validate(spec_dict)
    design = uiux_design.finalize(uiux_design.propose({"title": spec.name, "description": spec.purpose}, []))
    return spec, compile_project(spec, design)


def run_project(files: dict[str, bytes], where: Path, timeout_s: float = 120) -> ProjectRun:
    """Write the project under `where` and run all its tests (`python -m unittest discover -v`)."""
    for name, data in files.items():
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"],
                          cwd=where, capture_output=True, text=True, timeout=timeout_s,
                          env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "HOME": str(where)})
    found = {f"{m.group(2)}.{m.group(3)}.{m.group(1)}": m.group(4) for m in _RESULT.finditer(proc.stderr)}
    return ProjectRun(proc.returncode, proc.stderr[-20000:], found)
