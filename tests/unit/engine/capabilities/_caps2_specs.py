"""Hand-written app specs for the audit_log, search, checklist, attachments, public_page, versioning and
live_board tests: two ideas from different domains (a café's menu and kitchen, a small-grants programme).

`cafe(kind)` / `grants(kind)` return the idea's AppSpec dict with the one capability of that kind, so each
factory test compiles exactly the behaviour it is about.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._ops_specs import entity, f, role  # the spec builders every capability test shares


def build(name, purpose, entities, roles, capabilities, default_role):
    names = [e["name"] for e in entities]
    owner = {**role("owner", names, names), "manage_users": True}
    pages = [{"id": "home", "path": "/", "title": "Home", "kind": "home"}]
    for e in entities:
        pages += [{"id": f"{e['name']}_list", "path": f"/{e['plural']}", "title": e["label_plural"], "kind": "list",
                   "entity": e["name"]},
                  {"id": f"{e['name']}_detail", "path": f"/{e['plural']}/<int:id>", "title": e["label"],
                   "kind": "detail", "entity": e["name"]}]
    return {
        "name": name, "slug": name.lower().replace(" ", "-"), "purpose": purpose, "tagline": purpose[:150],
        "features": [c["label"] for c in capabilities], "roles": [owner, *roles], "default_role": default_role,
        "entities": entities, "relations": [], "capabilities": capabilities, "pages": pages,
        "navigation": [{"label": "Home", "page": "home"}],
        "trace": [{"feature": c["label"], "status": "planned", "capabilities": [c["id"]]} for c in capabilities],
    }


CAFE_CAPS = {
    "audit_log": {"kind": "audit_log", "id": "menu_history", "label": "Tamper-evident history of menu changes",
                  "entities": ["dish", "ticket"]},
    "search": {"kind": "search", "id": "dish_search", "label": "Search dishes by name and description",
               "entity": "dish", "fields": ["name", "description"]},
    "checklist": {"kind": "checklist", "id": "prep_list", "label": "Prep checklist per dish", "entity": "dish"},
    "attachments": {"kind": "attachments", "id": "dish_photos", "label": "Photos of each dish", "entity": "dish",
                    "max_bytes": 200_000, "allowed_types": ["image/png", "image/jpeg"]},
    "public_page": {"kind": "public_page", "id": "menu", "label": "QR menu for guests", "entity": "dish",
                    "fields": ["name", "description", "price", "category"], "published_field": "on_menu"},
    "versioning": {"kind": "versioning", "id": "recipe_drafts", "label": "Recipe drafts with history",
                   "entity": "dish", "field": "recipe"},
    "live_board": {"kind": "live_board", "id": "kitchen_board", "label": "Live kitchen board of tickets",
                   "entities": ["ticket"]},
}

GRANT_CAPS = {
    "audit_log": {"kind": "audit_log", "id": "custody_log", "label": "Audit trail of applications and reviews",
                  "entities": ["application", "review"]},
    "search": {"kind": "search", "id": "find_applications", "label": "Full-text search of applications",
               "entity": "application", "fields": ["title", "summary"]},
    "checklist": {"kind": "checklist", "id": "documents", "label": "Document checklist per application",
                  "entity": "application"},
    "attachments": {"kind": "attachments", "id": "uploads", "label": "Upload supporting documents",
                    "entity": "application", "max_bytes": 1_000_000, "allowed_types": ["application/pdf", "text/plain"]},
    "public_page": {"kind": "public_page", "id": "awards", "label": "Public list of awarded grants",
                    "entity": "application", "fields": ["title", "amount"], "published_field": "awarded",
                    "qr": False},
    "versioning": {"kind": "versioning", "id": "proposal_drafts", "label": "Collaborative proposal drafts",
                   "entity": "application", "field": "proposal"},
    "live_board": {"kind": "live_board", "id": "review_board", "label": "Live board of incoming reviews",
                   "entities": ["application", "review"]},
}


def _caps(table: dict, kind: str | None) -> list[dict]:
    """The one capability of `kind`, or (None) all seven together."""
    return [table[kind]] if kind else [table[k] for k in sorted(table)]


def cafe(kind: str | None = None) -> dict:
    """A neighbourhood café: staff keep the menu and kitchen tickets; guests may only read dishes."""
    dish = entity("dish", "dishes", [
        f("name", required=True, unique=True, max=80), f("description", "long_text"), f("recipe", "long_text"),
        f("price", "money", min=0), f("category", "enum", values=["starter", "main", "dessert"]),
        f("on_menu", "boolean"), f("supplier_note", "text")])
    ticket = entity("ticket", "tickets", [
        f("table_name", required=True, max=40), f("dish_id", "reference", ref="dish", required=True),
        f("status", "enum", values=["new", "cooking", "served"])])
    roles = [role("staff", ["dish", "ticket"], ["dish", "ticket"]), role("guest", ["dish"], [])]
    return build("Corner Cafe", "A neighbourhood café keeps its menu, recipes and kitchen tickets.",
                 [dish, ticket], roles, _caps(CAFE_CAPS, kind), "staff")


def grants(kind: str | None = None) -> dict:
    """A small-grants programme: applicants edit only their own applications, reviewers score them."""
    app = entity("application", "applications", [
        f("title", required=True, max=120), f("summary", "long_text"), f("proposal", "long_text"),
        f("amount", "money", min=0), f("awarded", "boolean"), f("contact", "email")])
    review = entity("review", "reviews", [
        f("verdict", required=True, max=80), f("application_id", "reference", ref="application", required=True),
        f("score", "integer", min=1, max=5)])
    roles = [role("applicant", ["application"], ["application"], scope="own"),
             role("reviewer", ["application", "review"], ["review"]),
             role("auditor", ["application", "review"], []),
             role("visitor", [], [])]
    return build("Grant Desk", "A community fund takes grant applications, reviews and awards them.",
                 [app, review], roles, _caps(GRANT_CAPS, kind), "applicant")


IDEAS = {"cafe": cafe, "grants": grants}


def design() -> dict:
    from shared.engine.stages import uiux_design

    return uiux_design.finalize(uiux_design.propose({"title": "Test app", "description": "A test app."}, []))


def compile_spec(spec_dict: dict):
    from shared.engine.appspec import AppSpec
    from shared.engine.compiler import compile_project

    spec = AppSpec.model_validate(spec_dict)
    return spec, compile_project(spec, design())


@dataclass
class ProjectRun:
    returncode: int
    output: str
    results: dict[str, str]  # "test_cap_x.Class.test_name" -> "ok" | "FAIL" | "ERROR" | "skipped ..."

    def of(self, module: str) -> dict[str, str]:
        return {k.split(".")[-1]: v for k, v in self.results.items() if k.startswith(module + ".")}


# a test's verdict may follow a few lines of warnings or log output printed while it ran
_RESULT = re.compile(r"^(test_\w+) \(tests\.(\w+)\.(\w+)\.test_\w+\)(?:\n.*?)? \.\.\. (?:.*\n){0,8}?"
                     r"(?:.*?)(ok|FAIL|ERROR|skipped.*)$", re.MULTILINE)


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


def assert_generated_tests_pass(spec_dict: dict, where: Path, abuse: tuple[str, ...], at_least: int) -> ProjectRun:
    """Compile, run the whole generated project, and check the capability's own tests (and its abuse cases)."""
    from shared.engine.appspec import spec_problems

    spec, files = compile_spec(spec_dict)
    assert spec_problems(spec) == []
    cap = spec.capabilities[0]
    run = run_project(files, where)
    assert run.returncode == 0, run.output
    mine = run.of(f"test_cap_{cap.id}")
    assert len(mine) >= at_least, (sorted(mine), run.output)
    assert set(mine.values()) == {"ok"}, mine
    for name in abuse:
        assert mine.get(name) == "ok", (name, sorted(mine))
    assert all(v == "ok" for v in run.results.values()), run.output  # the CRUD tests still pass beside it
    assert len(run.results) > len(mine)
    return run


if __name__ == "__main__":  # python -m tests.unit.engine.capabilities._caps2_specs <idea> <kind>
    idea, kind = sys.argv[1], sys.argv[2]
    spec = IDEAS[idea](kind)
    from shared.engine.appspec import AppSpec, spec_problems

    problems = spec_problems(AppSpec.model_validate(spec))
    if problems:
        print(json.dumps(problems, indent=1))
        sys.exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        run = run_project(compile_spec(spec)[1], Path(tmp))
    print(run.output)
    sys.exit(run.returncode)
