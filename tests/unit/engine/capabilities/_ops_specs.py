"""Hand-written app specs for the booking, workflow, ledger, reminders, custody and rotation tests.

Each builder returns an AppSpec dict for one idea; `build()` fills the parts every spec needs (owner role,
pages, trace) so a test states only the entities, roles and capabilities its idea is about.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass


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


def pottery_coop():
    """Pottery co-op: firing costs shared by members by kiln-shelf share; members record settlements."""
    member = entity("member", "members", [f("name", required=True), f("shelf_share", "decimal", min=0, max=10)])
    cost = entity("firing_cost", "firing_costs", [
        f("description", required=True), f("amount", "money", required=True, min=0),
        f("paid_by_id", "reference", ref="member", required=True)], display="description")
    roles = [role("member", ["member", "firing_cost"], ["firing_cost"]), role("auditor", ["firing_cost", "member"])]
    caps = [{"kind": "ledger", "id": "cost_split", "label": "Split firing costs among members",
             "charge_entity": "firing_cost", "amount_field": "amount", "participant_entity": "member",
             "weight_field": "shelf_share", "default_split": "weight", "payer_field": "paid_by_id"}]
    return build("Glaze Co-op", "A pottery co-op that shares kiln firing costs fairly.", [member, cost], roles, caps)


def house_bills():
    """Shared house: bills split by usage among housemates; no payer field (the split names the payer)."""
    mate = entity("housemate", "housemates", [f("nickname", required=True, unique=True), f("email", "email")])
    bill = entity("bill", "bills", [f("title", required=True), f("total", "money", min=0, max=5000),
                                    f("due_on", "date")])
    roles = [role("housemate", ["housemate", "bill"], ["bill", "housemate"]), role("guest", [])]
    caps = [{"kind": "ledger", "id": "bills_ledger", "label": "Split bills and settle up",
             "charge_entity": "bill", "amount_field": "total", "participant_entity": "housemate"}]
    return build("Bill Split", "Housemates split utility bills by usage and settle up monthly.", [mate, bill],
                 roles, caps)


def plant_care():
    """Houseplant care: a reminder by email two days before a plant's next watering."""
    plant = entity("plant", "plants", [f("nickname", required=True), f("species", "text"),
                                       f("next_watering", "date", required=True), f("carer_email", "email")])
    roles = [role("carer", ["plant"], ["plant"]), role("visitor", ["plant"])]
    caps = [{"kind": "reminders", "id": "watering", "label": "Remind carers before watering day",
             "entity": "plant", "field": "next_watering", "rule": "due_in_days", "days": 2,
             "recipient_field": "carer_email"}]
    return build("Leafy", "Plant owners track watering schedules for their houseplants.", [plant], roles, caps)


def library_loans():
    """Tool library: loans whose return time has passed are reminded to the member who logged them."""
    loan = entity("loan", "loans", [f("tool_name", required=True), f("borrower", "text"),
                                    f("return_by", "datetime", required=True)])
    roles = [role("volunteer", ["loan"], ["loan"])]
    caps = [{"kind": "reminders", "id": "late_returns", "label": "Overdue alerts for late returns",
             "entity": "loan", "field": "return_by", "rule": "overdue"}]
    return build("Tool Shed", "A neighbourhood tool library tracks loans and late returns.", [loan], roles, caps)


def spare_parts():
    """Workshop stock: an SMS to the supplier when a part runs low."""
    part = entity("part", "parts", [f("part_name", required=True), f("quantity", "integer", min=0, required=True),
                                    f("supplier_phone", "phone", required=True)])
    roles = [role("mechanic", ["part"], ["part"])]
    caps = [{"kind": "reminders", "id": "low_stock", "label": "Text the supplier when stock runs low",
             "entity": "part", "field": "quantity", "rule": "below_threshold", "threshold": 5, "channel": "sms",
             "recipient_field": "supplier_phone"}]
    return build("Parts Bin", "A bike workshop keeps spare parts stocked.", [part], roles, caps)


def translation_jobs():
    """Translation agency: "Email the translator two days before a job's deadline" (job.translator_id -> translator
    .email); a job may be unassigned yet. Translators also sign in (a role), which is how the words name them."""
    translator = entity("translator", "translators", [f("full_name", required=True), f("email", "email", required=True),
                                                      f("languages", "text")], display="full_name")
    job = entity("job", "jobs", [f("title", required=True), f("deadline", "date", required=True),
                                 f("translator_id", "reference", ref="translator"), f("words", "integer", min=0)])
    roles = [role("coordinator", ["translator", "job"], ["translator", "job"]), role("translator", ["job"])]
    caps = [{"kind": "reminders", "id": "deadline_alerts", "label": "Email the translator two days before a job's deadline",
             "entity": "job", "field": "deadline", "rule": "due_in_days", "days": 2,
             "recipient_field": "translator_id.email"}]
    return build("Wordsmith", "A translation agency hands jobs to freelance translators.", [translator, job], roles,
                 caps)


def vet_visits():
    """Vet clinic: "Text the owner two days before a booked visit" (visit -> pet -> the pet's owner, a person with a
    phone). `owner_id` is reserved (every record's creator), so the pet's link to its owner is `pet_owner_id`."""
    person = entity("person", "people", [f("full_name", required=True), f("phone", "phone")], display="full_name")
    pet = entity("pet", "pets", [f("pet_name", required=True), f("species", "text"),
                                 f("pet_owner_id", "reference", ref="person")], display="pet_name")
    visit = entity("visit", "visits", [f("reason", required=True), f("visit_at", "datetime", required=True),
                                       f("pet_id", "reference", ref="pet", required=True)], display="reason")
    roles = [role("receptionist", ["person", "pet", "visit"], ["person", "pet", "visit"]), role("vet", ["visit", "pet"])]
    caps = [{"kind": "reminders", "id": "visit_texts", "label": "Text the owner two days before a booked visit",
             "entity": "visit", "field": "visit_at", "rule": "due_in_days", "days": 2, "channel": "sms",
             "recipient_field": "pet_id.pet_owner_id.phone"}]
    return build("Paw Desk", "A vet clinic books visits for pets and keeps their owners informed.",
                 [person, pet, visit], roles, caps)


def tool_library():
    """Tool library: members (not editors of the catalogue) borrow tools; holders are the app's users."""
    tool = entity("tool", "tools", [f("name", required=True), f("condition", "enum", values=["good", "worn"])])
    roles = [role("member", ["tool"]), role("librarian", ["tool"], ["tool"]), role("visitor", [])]
    caps = [{"kind": "custody", "id": "lending", "label": "Check tools out and see who has them",
             "item_entity": "tool", "due_days": 3, "checkout_roles": ["owner", "member", "librarian"], "max_held": 2}]
    return build("Tool Shed", "A neighbourhood tool library lends tools to members.", [tool], roles, caps)


def evidence_room():
    """Police evidence room: items held by officers (holder records), overdue when not returned."""
    item = entity("evidence_item", "evidence_items", [f("tag", required=True, unique=True),
                                                       f("description", "long_text")], display="tag")
    officer = entity("officer", "officers", [f("badge", required=True, unique=True), f("full_name", "text")],
                     display="badge")
    roles = [role("clerk", ["evidence_item", "officer"], ["evidence_item", "officer"]),
             role("auditor", ["evidence_item", "officer"])]
    caps = [{"kind": "custody", "id": "chain", "label": "Record who holds each evidence item",
             "item_entity": "evidence_item", "holder_entity": "officer", "due_days": 1}]
    return build("Evidence Log", "An evidence room records the custody of every item.", [item, officer], roles,
                 caps)


def tool_loans():
    """Tool library: tools are lent to members (holder records, each with an email and a phone) and keys to the
    app's users. "Email members when a tool is 7 days overdue" and "Text the member the day before a tool is due"
    remind the member holding the tool; "Remind keyholders the day before a key is due" the user holding the
    key. Members do not sign in: a member's email is nobody's login."""
    tool = entity("tool", "tools", [f("name", required=True), f("condition", "enum", values=["good", "worn"])])
    member = entity("member", "members", [f("full_name", required=True), f("email", "email", required=True),
                                          f("phone", "phone")], display="full_name")
    key = entity("key", "keys", [f("label", required=True), f("door", "text")], display="label")
    roles = [role("librarian", ["tool", "member", "key"], ["tool", "member", "key"]), role("keyholder", ["key"]),
             role("visitor", ["member"])]
    caps = [{"kind": "custody", "id": "lending", "label": "Lend tools to members", "item_entity": "tool",
             "holder_entity": "member", "due_days": 14, "max_held": 3},
            {"kind": "reminders", "id": "overdue_tools", "label": "Email members when a tool is 7 days overdue",
             "custody": "lending", "entity": "tool", "field": "due_at", "rule": "overdue", "days": 7},
            {"kind": "reminders", "id": "due_texts", "label": "Text the member the day before a tool is due",
             "custody": "lending", "entity": "tool", "field": "due_at", "rule": "due_in_days", "days": 1,
             "channel": "sms", "recipient_field": "phone"},
            {"kind": "custody", "id": "key_desk", "label": "Lend keys to keyholders", "item_entity": "key",
             "due_days": 2, "checkout_roles": ["owner", "librarian", "keyholder"], "max_held": 2},
            {"kind": "reminders", "id": "key_returns", "label": "Remind keyholders the day before a key is due",
             "custody": "key_desk", "entity": "key", "field": "due_at", "rule": "due_in_days", "days": 1}]
    return build("Tool Shed", "A neighbourhood tool library lends tools to members and keys to keyholders.",
                 [tool, member, key], roles, caps, default_role="visitor")


def volunteer_shifts():
    """Food bank: shifts rotate round-robin among volunteers; swaps need a coordinator's approval."""
    vol = entity("volunteer", "volunteers", [f("name", required=True), f("phone", "phone")])
    shift = entity("shift", "shifts", [f("title", required=True), f("shift_date", "date", required=True),
                                       f("volunteer_id", "reference", ref="volunteer")])
    roles = [role("coordinator", ["volunteer", "shift"], ["volunteer", "shift"]),
             role("volunteer", ["shift", "volunteer"])]
    caps = [{"kind": "rotation", "id": "shift_rota", "label": "Swap shifts with coordinator approval",
             "entity": "shift", "assignee_field": "volunteer_id", "member_entity": "volunteer",
             "strategy": "round_robin", "swap_requires_role": "coordinator", "date_field": "shift_date"}]
    return build("Food Bank Rota", "Volunteers at a food bank share shifts fairly.", [vol, shift], roles, caps,
                 default_role="volunteer")


def chores():
    """Shared flat: chores go to whoever has the fewest; swaps apply at once; no dates."""
    mate = entity("flatmate", "flatmates", [f("nickname", required=True)])
    chore = entity("chore", "chores", [f("task", required=True), f("flatmate_id", "reference", ref="flatmate"),
                                       f("minutes", "integer", min=1, max=600)])
    roles = [role("flatmate", ["flatmate", "chore"], ["chore"]), role("guest", ["chore"])]
    caps = [{"kind": "rotation", "id": "chore_wheel", "label": "Share chores fairly",
             "entity": "chore", "assignee_field": "flatmate_id", "member_entity": "flatmate",
             "strategy": "least_loaded"}]
    return build("Chore Wheel", "Flatmates share household chores fairly.", [mate, chore], roles, caps)


def with_cap(spec, **changes):
    """A copy of `spec` whose first capability has `changes` applied (for check() tests)."""
    s = copy.deepcopy(spec)
    s["capabilities"][0].update(changes)
    return s


@dataclass
class QARun:
    passed: bool
    results: dict[str, str]  # "tests.test_cap_x.Class.test_name" -> "passed" | "failed" | ...
    findings: list[dict]
    features: list[dict]
    output: str

    def of(self, module: str) -> dict[str, str]:
        """Results of one test module (e.g. "test_cap_x") by test method name."""
        return {k.rsplit(".", 1)[-1]: v for k, v in self.results.items() if k.startswith(f"tests.{module}.")}

    def findings_in(self, text: str) -> list[dict]:
        return [f for f in self.findings if text in (f.get("file") or "")]


def compile_spec(spec_dict: dict) -> tuple[object, dict[str, bytes]]:
    from shared.engine.appspec.model import AppSpec
    from shared.engine.compiler import compile_project
    from shared.engine.stages import uiux_design

    spec = AppSpec.model_validate(spec_dict)
    design = uiux_design.finalize(uiux_design.propose({"title": spec.name, "description": spec.purpose}, []))
    return spec, compile_project(spec, design)


def qa(files: dict[str, bytes]) -> QARun:
    """Run the project's static checks and tests the way QA does (its sandbox, no network)."""
    from shared.engine.stages.qa import run_checks
    from shared.engine.types import EngineConfig

    r = run_checks(files, EngineConfig(qa_timeout_s=120))
    return QARun(r["passed"], r["test_results"], r["findings"], r["coverage"]["features"],
                 r["test_output_tail"] + "\n" + "\n".join(str(f) for f in r["findings"]))


def built(spec_dict: dict):
    """Compile an idea's spec, run QA on it, and hold it to what every capability test asks first: a valid spec,
    a project whose checks and tests all pass, no findings in the capability's files, and its one feature
    built. Returns (spec, capability, the QA run, the capability's own test results)."""
    from shared.engine.appspec.model import spec_problems

    spec, files = compile_spec(spec_dict)
    assert spec_problems(spec) == []
    cap = spec.capabilities[0]
    run = qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    # the one feature is the capability's label, not a founder's sentence: it may read as partial (a word of the
    # label nothing realises), but its behaviour tests and every acceptance criterion must pass
    [feature] = run.features
    assert feature["status"] in ("built", "partial"), feature
    assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature["criteria"]
    assert not [x for x in feature.get("not_built", []) if x.startswith(("failed:", "no acceptance"))], feature
    return spec, cap, run, run.of(f"test_cap_{cap.id}")


_BUILT: dict = {}


def built_once(idea) -> tuple[object, QARun]:
    """(spec, QA run) of an idea with several features, compiled and run the way QA does once per test process:
    tests in several files hold the same build to what each is about (generated tests, criteria)."""
    if idea.__name__ not in _BUILT:
        spec, files = compile_spec(idea())
        _BUILT[idea.__name__] = (spec, qa(files))
    return _BUILT[idea.__name__]
