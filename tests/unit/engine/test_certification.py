"""Honest "built" (issue 16): the reading of every key feature, status from the reading, and mutations that must
turn a feature partial.

The specs here are written by hand in domains of no corpus file and no word list, so the tests hold the rules,
not a planner's luck: each starts from a spec whose feature is `planned` (every word read, every rule realised
and exercised by a criterion) and changes one thing a planner can get wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shared.engine.appspec import AppSpec, spec_problems
from shared.engine.capabilities import available_kinds
from shared.engine.criteria.certify import certify, reading_problems
from shared.engine.planner import library_matches, plan_builtin
from shared.engine.planner.reading import FUNCTION_WORDS, RULE_WORDS, content_words, read_feature

HELDOUT = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "heldout_ideas.json").read_text("utf-8"))
IDEAS = {i["id"]: i for i in HELDOUT["ideas"]}


def _field(name, type_, **kw):
    return {"name": name, "label": name.replace("_", " ").capitalize(), "type": type_, **kw}


def _entity(name, plural, fields, display="name"):
    return {"name": name, "plural": plural, "label": name.replace("_", " ").capitalize(),
            "label_plural": plural.replace("_", " ").capitalize(), "fields": fields, "display_field": display}


def _spec(entities, capabilities, features, roles=None):
    names = [e["name"] for e in entities]
    roles = roles or [{"name": "owner", "label": "Owner", "read": names, "write": names, "manage_users": True},
                      {"name": "member", "label": "Member", "read": names, "write": names, "scope": "own"}]
    rels = [{"kind": "many_to_one", "entity": e["name"], "target": f["ref"], "field": f["name"]}
            for e in entities for f in e["fields"] if f["type"] == "reference"]
    trace = [{"feature": f, "status": "planned", "capabilities": caps} for f, caps in features]
    spec = AppSpec.model_validate({
        "name": "Test", "slug": "test", "purpose": "A test.", "tagline": "A test.", "features": [f for f, _ in features],
        "roles": roles, "default_role": "member", "entities": entities, "relations": rels,
        "capabilities": capabilities, "trace": trace})
    assert spec_problems(spec) == []
    return spec


# ------------------------------------------------------------------ specs whose feature is built as planned

def piano_spec(days=14, recipient_field="client_email", channel="email"):
    """Piano tuning: "Email clients 14 days before a piano's tuning due date"."""
    piano = _entity("piano", "pianos", [_field("name", "text", required=True),
                                        _field("client_email", "email", required=True),
                                        _field("client_phone", "phone"),
                                        _field("tuning_due", "date", required=True)])
    cap = {"id": "tuning_reminders", "label": "Tuning reminders", "kind": "reminders", "entity": "piano",
           "field": "tuning_due", "rule": "due_in_days", "days": days, "channel": channel,
           "recipient_field": recipient_field}
    return _spec([piano], [cap], [("Email clients 14 days before each piano's tuning due date",
                                   ["tuning_reminders"])])


def bay_spec(resource="bay"):
    """An archery range: members book bays."""
    bay = _entity("bay", "bays", [_field("name", "text", required=True)])
    coach = _entity("coach", "coaches", [_field("name", "text", required=True)])
    session = _entity("lesson", "lessons", [
        _field("title", "text", required=True), _field("bay_id", "reference", ref="bay", required=True),
        _field("coach_id", "reference", ref="coach", required=True),
        _field("start_at", "datetime", required=True), _field("end_at", "datetime", required=True)], "title")
    cap = {"id": "bay_booking", "label": "Bay bookings", "kind": "booking", "entity": "lesson",
           "resource": resource, "resource_field": f"{resource}_id", "start_field": "start_at",
           "end_field": "end_at"}
    return _spec([bay, coach, session], [cap], [("Members book bays on a calendar", ["bay_booking"])])


def quote_spec(days=14):
    """A quoting desk: "Quotes not accepted within 14 days expire" (a time trigger on when the quote was added)."""
    quote = _entity("quote", "quotes", [_field("name", "text", required=True), _field("amount", "money"),
                                        _field("status", "enum", values=["sent", "accepted", "expired"],
                                               default="sent")])
    cap = {"id": "quote_expiry", "label": "Quote expiry", "kind": "trigger", "entity": "quote", "on": "time",
           "conditions": [{"field": "status", "op": "in", "values": ["sent"]},
                          {"field": "created_at", "op": "older_than_days", "number": days}],
           "action": {"type": "set", "field": "status", "value": "expired"}}
    return _spec([quote], [cap], [("Quotes not accepted within 14 days expire", ["quote_expiry"])])


def _entry(spec, i=0):
    return certify(spec).trace[i]


def test_a_fully_read_reminder_with_its_number_and_recipient_is_planned():
    t = _entry(piano_spec())
    assert reading_problems(certify(piano_spec())) == []
    assert t.status == "planned", t.not_built
    rules = {r.category: r for r in t.reading.rules}
    assert rules["time_window"].number == 14 and rules["recipient"].nouns == ["client"]
    assert rules["channel"].unit == "email"
    assert t.criteria and all(c.template.startswith("reminders.") for c in t.criteria)
    exercised = {i for c in t.criteria for i in c.rules}
    assert {t.reading.rules.index(rules["time_window"]), t.reading.rules.index(rules["recipient"])} <= exercised
    assert "14 days" in t.built_as


def test_booking_of_the_named_record_is_planned():
    t = _entry(bay_spec())
    assert t.status == "planned", t.not_built
    assert t.reading.record == "bay"
    assert any("refused" in c.text or "409" in json.dumps(c.params) or "overlap" in c.text for c in t.criteria)


# ------------------------------------------------------------------ mutations: each turns the feature partial

def test_mutation_capability_bound_to_the_wrong_record_is_partial():
    t = _entry(bay_spec(resource="coach"))
    assert t.status == "partial"
    assert any("bays" in nb and "coach" in nb for nb in t.not_built), t.not_built


def test_mutation_dropped_number_is_partial():
    t = _entry(piano_spec(days=7))
    assert t.status == "partial"
    assert any("14 days before" in nb for nb in t.not_built), t.not_built


def test_mutation_reminder_to_the_records_creator_instead_of_the_person_named_is_partial():
    t = _entry(piano_spec(recipient_field=None))
    assert t.status == "partial"
    assert any("clients" in nb.lower() for nb in t.not_built), t.not_built
    assert "the user who created" in t.built_as


def test_mutation_wrong_channel_is_partial():
    piano = piano_spec(channel="sms", recipient_field="client_phone")
    t = _entry(piano)
    assert t.status == "partial"


def test_mutation_rule_feature_served_by_a_records_list_alone_is_partial():
    table = _entity("table", "tables", [_field("name", "text", required=True), _field("capacity", "integer")])
    cap = {"id": "tables_list", "label": "Tables", "kind": "records", "entity": "table", "fields": ["capacity"]}
    spec = _spec([table], [cap], [("Seat guests at tables up to their capacity of 8", ["tables_list"])])
    t = _entry(spec)
    assert t.status == "partial"
    assert any("capacity" in nb for nb in t.not_built), t.not_built
    assert t.reading.rules and not any(c.rules for c in t.criteria)


def test_mutation_time_trigger_waiting_other_days_leaves_the_window_unbuilt():
    t = _entry(quote_spec())
    [rule] = [i for i, r in enumerate(t.reading.rules) if r.category == "time_window" and r.number == 14]
    assert [c.template for c in t.criteria] == ["trigger.acts_after_days"] and rule in t.criteria[0].rules
    assert "within 14 days" in t.built_as and not any("14 days" in nb for nb in t.not_built)
    t = _entry(quote_spec(days=7))
    assert t.status == "partial" and "within 14 days" in t.not_built, t.not_built
    assert not any(c.rules for c in t.criteria)


def _criteria_results(spec, files: dict[str, bytes], tmp: Path) -> dict[str, bool]:
    """Run the spec's acceptance criteria against the project `files` the way QA does (its runner, one fresh
    database per scenario), outside the sandbox: {criterion id: passed}."""
    from shared.engine.criteria import compile_all
    from shared.engine.stages.qa import CRITERIA_RUNNER

    scenarios, failed = compile_all(spec)
    assert scenarios and not failed, failed
    project = tmp / "project"
    for name, data in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(data)
    (tmp / "scenarios.json").write_text(json.dumps(scenarios), encoding="utf-8")
    subprocess.run([sys.executable, str(CRITERIA_RUNNER), str(project), str(tmp / "scenarios.json"),
                    str(tmp / "results.jsonl")], cwd=project, check=True, timeout=120, capture_output=True)
    rows = [json.loads(line) for line in (tmp / "results.jsonl").read_text("utf-8").splitlines()]
    return {r["id"]: r["passed"] for r in rows if "id" in r}


@pytest.mark.parametrize("broken", [None, ("timedelta(days=number)", "timedelta(days=0)"),  # acts at once
                                    ("    if row is None:\n        return False\n", "    return False\n")])  # never
def test_a_time_triggers_criteria_pass_on_the_built_app_and_fail_on_a_broken_one(broken, tmp_path):
    from shared.engine.compiler import compile_project, default_design

    spec = certify(quote_spec())
    files = compile_project(spec, default_design(spec))
    if broken:
        name = "app/capabilities/quote_expiry.py"
        module = files[name].decode()
        assert broken[0] in module
        files[name] = module.replace(broken[0], broken[1], 1).encode()
    results = _criteria_results(spec, files, tmp_path)
    assert set(results) == {c.id for c in spec.trace[0].criteria}
    assert all(results.values()) if broken is None else not any(results.values()), results


def test_a_stored_planned_status_is_not_trusted():
    spec = piano_spec(days=7)
    assert spec.trace[0].status == "planned"  # as written
    assert certify(spec).trace[0].status == "partial"  # as assessed


# ------------------------------------------------------------------ reminders about check-outs, to the holder

def test_reminders_about_check_outs_to_the_holder_are_built_and_their_criteria_pass_on_the_built_app():
    """"Email members when a tool is 7 days overdue" bound to the custody capability's check-outs: planned from
    the reading, and every derived criterion passes against the generated app (one build, shared with
    capabilities/test_reminders.py)."""
    from .capabilities import _ops_specs as S

    spec = certify(AppSpec.model_validate(S.tool_loans()))
    mine = [t for t in spec.trace if spec.capability(t.capabilities[0]).kind == "reminders"]
    assert [(t.status, t.not_built) for t in mine] == [("planned", [])] * 3
    assert "overdue check-outs of tools, 7 days after their due time, to the member's email" in mine[0].built_as
    assert "'7 days'" in mine[0].built_as and "'to the members'" in mine[0].built_as
    _, run = S.built_once(S.tool_loans)
    rows = {f["feature"]: f for f in run.features}
    for t in mine:
        row = rows[t.feature]
        assert row["criteria"] and all(c["passed"] for c in row["criteria"]), row["criteria"]
        assert row["status"] == "built", row


def test_the_holders_a_check_out_reminder_goes_to_are_records_it_acts_on():
    """"Send members an email ..." reads `members` as the member entity: the reminder acts on it (it reads the
    holder's address), so the members are not "named, but not acted on"."""
    from .capabilities import _ops_specs as S

    d = S.tool_loans()
    words = "Send members an email when their tool is 7 days overdue"
    d["features"][1] = d["trace"][1]["feature"] = words
    t = certify(AppSpec.model_validate(d)).trace[1]
    assert "entity:member" in [u.maps_to for u in t.reading.words]
    assert not [nb for nb in t.not_built if "member" in nb], t.not_built


def test_mutation_overdue_reminder_on_a_stray_date_field_to_the_creator_is_partial():
    """What the factory did before: the overdue alert on a date field of the tool, sent to whoever added the tool,
    not to the member holding it."""
    from .capabilities import _ops_specs as S

    d = S.tool_loans()
    next(e for e in d["entities"] if e["name"] == "tool")["fields"].append(S.f("due_back", "datetime"))
    cap = next(c for c in d["capabilities"] if c["id"] == "overdue_tools")
    del cap["custody"]
    cap["field"] = "due_back"
    t = next(t for t in certify(AppSpec.model_validate(d)).trace if t.capabilities == ["overdue_tools"])
    assert t.status == "partial"
    assert "members" in t.not_built, t.not_built
    assert "the user who created the tool" in t.built_as


# ------------------------------------------------------------------ the accounting

@pytest.mark.parametrize("key", sorted(IDEAS))
def test_every_content_word_of_every_held_out_feature_is_accounted_for(key):
    spec = plan_builtin(IDEAS[key])
    assert reading_problems(spec) == []
    for t in spec.trace:
        assert Counter(u.word for u in t.reading.words) == Counter(content_words(t.feature))
        if t.status == "planned":
            assert not [u.word for u in t.reading.words if u.maps_to == "unread"]
        if t.status == "partial":
            assert t.not_built and t.built_as


def test_the_skipped_words_are_function_words_only():
    assert len(FUNCTION_WORDS) < 200
    assert not FUNCTION_WORDS & RULE_WORDS
    for w in ("only", "not", "no", "cannot", "per", "within", "before", "after", "above", "below", "once", "fee"):
        assert w not in FUNCTION_WORDS
    assert content_words("A kiln for the members") == ["kiln", "members"]


def test_a_reading_that_drops_a_word_is_refused():
    spec = certify(piano_spec())
    t = spec.trace[0]
    words = [u for u in t.reading.words if u.word != "tuning"]
    bad = spec.model_copy(update={"trace": [t.model_copy(update={"reading": t.reading.model_copy(
        update={"words": words})})]})
    assert any("drops the words ['tuning']" in p for p in reading_problems(bad))
    mapped = [u.model_copy(update={"maps_to": "entity:nowhere"}) if u.word == "piano's" else u for u in t.reading.words]
    bad = spec.model_copy(update={"trace": [t.model_copy(update={"reading": t.reading.model_copy(
        update={"words": mapped})})]})
    assert any("entity:nowhere" in p for p in reading_problems(bad))


# ------------------------------------------------------------------ rules by category, on held-out ideas

CATEGORIES = ("limit", "capacity", "uniqueness", "exclusivity", "agreement", "time_window", "threshold", "fee",
              "escalation", "block", "recipient", "channel", "scope")


def _annotated(category):
    for key, idea in sorted(IDEAS.items()):
        for r in idea.get("rules") or []:
            if r["category"] == category:
                yield key, r


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_held_out_feature_stating_a_rule_is_planned_only_with_a_criterion_exercising_it(category):
    """No feature whose words state a rule of this category is planned unless the reading holds a rule with the
    stated number, realised by a capability and exercised by a criterion (QA then requires it to pass)."""
    cases = list(_annotated(category))
    assert len(cases) >= 4
    specs: dict[str, AppSpec] = {}
    for key, rule in cases:
        spec = specs.setdefault(key, plan_builtin(IDEAS[key]))
        t = spec.trace[rule["feature"]]
        if t.status != "planned":
            continue
        exercised = {i for c in t.criteria for i in c.rules}
        matching = [i for i, r in enumerate(t.reading.rules)
                    if rule["number"] is None or (r.number is not None and abs(r.number - rule["number"]) < 1e-9)]
        assert set(matching) & exercised, (key, t.feature, rule, [r.model_dump() for r in t.reading.rules])


def test_the_reader_finds_most_held_out_rules_as_rules():
    """Recall of the rule reader on held-out words, all categories together (per category it is printed, not
    tuned: a held-out miss is not fixed by adding its words, and a rule the reader misses leaves its words unread,
    so the feature is partial anyway)."""
    found: Counter = Counter()
    total: Counter = Counter()
    for category in CATEGORIES:
        for key, rule in _annotated(category):
            t = plan_builtin(IDEAS[key]).trace[rule["feature"]]
            total[category] += 1
            numbers = {r.number for r in t.reading.rules}
            if t.reading.rules and (rule["number"] is None or float(rule["number"]) in numbers):
                found[category] += 1
    print({c: f"{found[c]}/{total[c]}" for c in CATEGORIES})
    assert sum(found.values()) / sum(total.values()) >= 0.6


# ------------------------------------------------------------------ true reasons

def test_no_capability_is_said_only_after_every_kind_was_checked():
    for idea in HELDOUT["ideas"]:
        spec = plan_builtin(idea)
        for t in spec.trace:
            if t.status == "not_covered" and "no capability in the library" in (t.reason or "").lower():
                assert library_matches(t.feature) == [], (t.feature, t.reason)
                assert f"all {len(available_kinds())} kinds checked" in t.reason


def test_upvotes_are_votes_without_down_votes():
    spec = plan_builtin({"title": "ThemeBoard", "description": "Product teams collect feedback themes.",
                         "key_features": ["Upvote themes"]})
    t = spec.trace[0]
    assert t.status != "not_covered", t.reason
    cap = spec.capability(t.capabilities[0])
    assert cap.kind == "vote" and cap.allow_down is False


def test_sign_ups_are_enrolments_not_one_person_per_record():
    spec = plan_builtin({"title": "Tide Swims", "description": "A sea-swimming club runs swims at dawn.",
                         "key_features": ["Swims with date and beach", "Swimmers sign up for a swim"]})
    t = spec.trace[1]
    assert t.status == "planned", t.not_built
    cap = spec.capability(t.capabilities[0])
    assert cap.kind == "enrolment" and spec.entity("swim").field("swimmer_id") is None
    assert [c.template for c in t.criteria][:2] == ["enrolment.sign_up_once", "enrolment.not_others"]


def test_read_feature_maps_people_and_records():
    spec = bay_spec()
    r = read_feature("Members book bays on a calendar", spec, ["bay_booking"])
    maps = {u.word: u.maps_to for u in r.words}
    assert maps["members"] == "role:member" and maps["bays"] == "entity:bay"
    assert maps["book"] == "capability:bay_booking" and maps["calendar"] == "capability:bay_booking"


# ------------------------------------------------------------------ limits per user and for the whole app, run

def listings_spec():
    """A marketplace: "Members may have at most 5 active listings" (a limit per user who posts them)."""
    listing = _entity("listing", "listings", [_field("name", "text", required=True),
                                              _field("status", "enum", values=["active", "sold"], default="active")])
    cap = {"id": "listing_cap", "label": "Listing cap", "kind": "limit", "entity": "listing", "scope": "user",
           "max": 5, "where_field": "status", "where_values": ["active"]}
    return _spec([listing], [cap], [("Members may have at most 5 active listings", ["listing_cap"])])


def visits_spec():
    """A kennel: "At most 15 visits a day" (every visit counts, whoever books it)."""
    visit = _entity("visit", "visits", [_field("name", "text", required=True),
                                        _field("visit_day", "date", required=True)])
    cap = {"id": "visit_cap", "label": "Visit cap", "kind": "limit", "entity": "visit", "scope": "app", "max": 15,
           "period": "day", "date_field": "visit_day"}
    return _spec([visit], [cap], [("At most 15 visits a day", ["visit_cap"])])


#: the line of the generated limit module that registers its check (removed to break the app on purpose)
_LIMIT_HOOK = '@event.listens_for(Session, "before_flush")\n'


def _run_criteria(spec, tmp_path, without_the_check: bool) -> dict[str, dict]:
    """Build the project, run its certified criteria with QA's runner (`criteria/runner.py`, as QA runs them) and
    return {criterion id: result}; `without_the_check` removes the limit's before_flush hook from the app first."""
    import subprocess
    import sys

    from shared.engine.compiler import compile_project
    from shared.engine.criteria import compile_all
    from shared.engine.stages import uiux_design
    from shared.engine.stages.qa import CRITERIA_RUNNER

    design = uiux_design.finalize(uiux_design.propose({"title": spec.name, "description": spec.purpose}, []))
    files = compile_project(spec, design)
    module = f"app/capabilities/{spec.capabilities[0].id}.py"
    if without_the_check:
        text = files[module].decode()
        assert _LIMIT_HOOK in text
        files[module] = text.replace(_LIMIT_HOOK, "").encode()
    project = tmp_path / ("broken" if without_the_check else "app")
    for name, data in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(data)
    scenarios, failed = compile_all(certify(spec))
    assert scenarios and not failed, failed
    (tmp_path / "scenarios.json").write_text(json.dumps(scenarios), "utf-8")
    results = tmp_path / f"results-{project.name}.jsonl"
    run = subprocess.run([sys.executable, str(CRITERIA_RUNNER), str(project), str(tmp_path / "scenarios.json"),
                          str(results)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in results.read_text("utf-8").splitlines()]
    return {r["id"]: r for r in rows if "id" in r}


@pytest.mark.parametrize("make, scope, refused", [
    (listings_spec, "user", "one more listing of the first user is refused"),
    (visits_spec, "app", "one more visit by the first user is refused"),
])
def test_limit_criteria_per_user_and_for_the_whole_app_pass_and_fail_without_the_check(make, scope, refused,
                                                                                       tmp_path):
    spec = make()
    t = _entry(spec)
    assert spec.capabilities[0].scope == scope
    assert t.status == "planned", t.not_built  # the rule is read, realised and exercised
    assert {i for c in t.criteria for i in c.rules} == {0}
    assert all(c.template == f"limit.fill_{'per_user' if scope == 'user' else 'in_all'}" for c in t.criteria)
    ids = {c.id for c in t.criteria}
    built = _run_criteria(spec, tmp_path, without_the_check=False)
    assert ids <= set(built) and all(built[i]["passed"] for i in ids), built
    broken = _run_criteria(spec, tmp_path, without_the_check=True)
    assert ids <= set(broken)
    for i in ids:  # without the check the app stores one too many, and the criterion says where
        assert not broken[i]["passed"], broken[i]
        assert refused in broken[i]["detail"] and "expected 409, got 201" in broken[i]["detail"], broken[i]
