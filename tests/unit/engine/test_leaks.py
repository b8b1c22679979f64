"""No field leaks in from another domain (issue 10).

A field is explained only by (a) this idea's own words, (b) the preset catalogue entry of the exact noun the
entity is, or (c) a capability that needs it, named by a key feature that asked for that capability. The old
catalogue gave kiln bookings `guest_name` and `party_size`, houseplant listings `bedrooms` and `monthly_rent`,
and a grant tracker a sales `deals` table; none of that may happen again, for any idea of the corpus.
"""

from __future__ import annotations

import re

import pytest

from shared.engine import catalogues
from shared.engine.appspec import AppSpec  # noqa: F401  (before capabilities: appspec imports the library)
from shared.engine.capabilities import KINDS
from shared.engine.planner import plan_builtin
from shared.engine.planner.text import words_of

from .corpus import load_ideas

IDEAS = [i for i in load_ideas() if i["expect"] in ("go", "needs_work")]

#: Fields of other domains that must never appear unless the idea's own words say them.
FOREIGN_FIELDS = frozenset({
    "guest_name", "party_size", "bedrooms", "monthly_rent", "deal_value", "client_name", "customer_name",
    "tenant_name", "employee_name", "pet_name", "candidate_name", "student_name", "supplier_name",
    "order_reference", "risk_score", "daily_price", "lease_end", "grade_level", "walker",
    "interviewer", "lead_time_days", "water_every_days", "last_watered", "interval_seconds",
    "patient_name", "document_title", "assignee", "licence_number", "salary",
})
#: Fields the capabilities add when a feature asks for them (their source is that feature).
CAPABILITY_FIELDS = frozenset({
    "start_at", "end_at", "status", "due_date", "phone", "published", "quantity", "price", "amount", "body",
    "content", "share", "name", "title", "tag", "topic", "category", "note",
    "starts_at", "ends_at", "email", "date",  # a time window, the sign-in a person is linked by, a period's date
})


def _idea_text(idea: dict) -> str:
    return " . ".join([idea.get("title") or "", idea.get("description") or "", " . ".join(idea["key_features"]),
                       idea.get("target_audience") or ""])


def _explained(idea: dict, spec, entity, field) -> str | None:
    words = words_of(_idea_text(idea))
    if field.type == "reference":
        return "reference" if spec.entity(field.ref) is not None and field.name == f"{field.ref}_id" else None
    parts = field.name.split("_")
    words = words | set(re.findall(r"[a-z0-9]+", _idea_text(idea).lower()))  # "barcode" as written
    if all(p in words or p.rstrip("s") in words or p + "s" in words for p in parts):
        return "the idea's words"
    if field.type == "enum" and field.values and all(v in words for v in field.values):
        return "the idea's words (its values: 'pass or fail')"
    entry = catalogues.entity_lexicon().get(entity.name)
    if entry is not None and field.name in {f[0] for f in entry["fields"]}:
        return f"catalogue entry of {entity.name!r}"
    if field.name in ("start_date", "end_date") and re.search(r"\bdates\b", field.source.lower()):
        return "the idea's words ('dates': a start and an end)"
    if field.name in CAPABILITY_FIELDS:
        text = _idea_text(idea).lower()
        src = field.source.lower().rstrip("…")
        if src and (src[:60] in text or src.startswith("catalogue entry")):
            return "a capability a feature asked for"
    return None


@pytest.mark.parametrize("every_kind", [False, True], ids=["available-kinds", "all-kinds"])
@pytest.mark.parametrize("idea", IDEAS, ids=[i["id"] for i in IDEAS])
def test_no_entity_has_a_field_the_idea_does_not_explain(idea, every_kind):
    spec = plan_builtin(idea, kinds=KINDS if every_kind else None)
    words = words_of(_idea_text(idea))
    unexplained = []
    for e in spec.entities:
        for f in e.fields:
            why = _explained(idea, spec, e, f)
            if why is None:
                unexplained.append(f"{e.name}.{f.name} (source: {f.source!r})")
            if f.name in FOREIGN_FIELDS:
                own = catalogues.entity_lexicon().get(e.name, {"fields": []})["fields"]
                assert all(p in words for p in f.name.split("_")) or f.name in {x[0] for x in own}, (
                    f"{e.name}.{f.name} is a foreign field and the idea never says it")
    assert unexplained == []


def test_the_catalogue_suggests_fields_only_for_its_own_noun():
    lex = catalogues.entity_lexicon()
    for key, entry in lex.items():
        base = key.replace("_", " ")
        for alias in entry.get("aliases", []):
            # an alias is another spelling of the same noun (a multi-word form), never a different noun
            assert key.split("_")[-1] in alias.replace(" ", "_") or alias.replace(" ", "_").startswith(base[:4]), \
                (key, alias)
        for name, ftype, _required in entry["fields"]:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and ftype != "reference", (key, name)
            # a cross-domain field lives only on the one noun it belongs to ("table booking": guest_name)
            assert name not in FOREIGN_FIELDS or key in {"table_booking", "signature_request"}, (key, name)


@pytest.mark.parametrize("idea_id, entity_or_field", [
    ("kiln-share", "guest_name"), ("kiln-share", "party_size"),
    ("plant-swap", "bedrooms"), ("plant-swap", "monthly_rent"),
    ("grant-desk", "deal"), ("grant-desk", "deal_value"),
])
def test_the_reported_leaks_are_gone(idea_id, entity_or_field):
    idea = next(i for i in IDEAS if i["id"] == idea_id)
    spec = plan_builtin(idea, kinds=KINDS)
    names = {e.name for e in spec.entities} | {f.name for e in spec.entities for f in e.fields}
    assert entity_or_field not in names
