"""Capability `reminders`: name checks, routes, and the generated app's own reminder tests in five domains (one per
rule: due in N days, overdue, below a threshold; and two whose recipient is reached through references: a job's
translator by email over one hop, a visit's pet owner by SMS over two)."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import reminders

from . import _ops_specs as S

IDEAS = [S.plant_care, S.library_loans, S.spare_parts, S.translation_jobs, S.vet_visits]
#: the generated tests a recipient path adds, by idea
PATH_TESTS = {
    "translation_jobs": ["test_the_address_is_read_through_the_links_when_the_reminder_is_due",
                         "test_a_due_record_whose_link_is_empty_is_reported_not_sent_to_anyone_else"],
    "vet_visits": ["test_the_address_is_read_through_the_links_when_the_reminder_is_due",
                   "test_a_due_record_whose_link_is_empty_is_reported_not_sent_to_anyone_else",
                   "test_a_linked_person_without_phone_is_reported_not_sent_to_anyone_else",
                   "test_a_text_goes_through_twilio_to_the_number_read"],
}


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_reminder_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 7, run.output
    for must in ("test_run_due_delivers_each_due_reminder_once", "test_later_matches_are_delivered_on_the_next_run",
                 "test_a_reminder_returns_after_its_condition_cleared",
                 "test_run_due_needs_the_scheduler_token_or_the_owner",
                 "test_a_failed_delivery_is_recorded_and_retried_a_bounded_number_of_times"):
        assert mine.get(must) == "passed", (must, mine)
    for must in PATH_TESTS.get(idea.__name__, []):
        assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in run.results.values()), run.output


def test_run_due_is_declared_for_the_owner():
    spec = AppSpec.model_validate(S.plant_care())
    routes = {(r.method, r.path): r.roles for r in reminders.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/watering/run-due")] == ["owner"]
    assert routes[("GET", "/api/watering/outbox")] == ["owner"]
    assert routes[("GET", "/api/watering/due")] == ["owner", "carer", "visitor"]


@pytest.mark.parametrize("idea, change, words", [
    (S.plant_care, {"field": "species"}, ["text field but must be date or datetime", "next_watering"]),
    (S.plant_care, {"field": "watered_on"}, ["'watered_on' is not a field of 'plant'"]),
    (S.plant_care, {"days": None}, ["needs 'days'"]),
    (S.plant_care, {"recipient_field": "nickname"}, ["must be email", "carer_email"]),
    (S.plant_care, {"entity": "tree"}, ["'tree' is not an entity"]),
    (S.spare_parts, {"threshold": None}, ["needs 'threshold'"]),
    (S.spare_parts, {"threshold": 0}, ["not above", "minimum"]),
    (S.spare_parts, {"rule": "overdue"}, ["integer field but must be date or datetime"]),
    (S.spare_parts, {"recipient_field": None}, ["channel sms needs recipient_field"]),
    # recipient paths: which hop does not resolve, which type is wrong
    (S.translation_jobs, {"recipient_field": "translator.email"},
     ["hop 1 'translator' is not a field of 'job'", "reference fields of job: ['translator_id']"]),
    (S.translation_jobs, {"recipient_field": "title.email"},
     ["hop 1 job.title is a text field", "must be a reference field", "['translator_id']"]),
    (S.translation_jobs, {"recipient_field": "translator_id.full_name"},
     ["ends in translator.full_name, a text field, but channel email needs an email field",
      "email fields of translator: ['email']"]),
    (S.translation_jobs, {"recipient_field": "translator_id.mail"}, ["'mail', which is not a field of 'translator'"]),
    (S.translation_jobs, {"recipient_field": "translator_id.email", "channel": "sms"},
     ["channel sms needs a phone field", "add a phone field to translator"]),
    (S.vet_visits, {"recipient_field": "pet_id.species.phone"},
     ["hop 2 pet.species is a text field", "reference fields of pet: ['pet_owner_id']"]),
    (S.vet_visits, {"recipient_field": "pet_id.pet_owner_id.full_name"},
     ["ends in person.full_name, a text field, but channel sms needs a phone field", "['phone']"]),
    (S.vet_visits, {"recipient_field": "pet_id.pet_owner_id.pet_id.phone"}, ["takes 3 reference hops; at most 2"]),
    (S.vet_visits, {"recipient_field": "pet_owner_id.phone"}, ["hop 1 'pet_owner_id' is not a field of 'visit'",
                                                                "['pet_id']"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(reminders.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(reminders)" in p for p in spec_problems(spec))


def test_the_due_work_is_declared_for_the_scheduler_and_its_settings_documented():
    spec = AppSpec.model_validate(S.plant_care())
    jobs = reminders.scheduled_jobs(spec.capabilities[0], spec)
    assert jobs == [{"name": "leafy-watering-run-due", "schedule": "*/15 * * * *", "method": "POST",
                     "path": "/api/watering/run-due", "auth_header": "Authorization: Bearer",
                     "token_setting": "REMINDERS_TOKEN"}]
    _, files = S.compile_spec(S.plant_care())
    readme = files["README.md"].decode()
    for name in ("REMINDERS_TOKEN", "REMINDERS_EMAIL_ADAPTER", "SMTP_HOST", "TWILIO_ACCOUNT_SID"):
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("idea, path", [(S.translation_jobs, "translator_id.email"),
                                        (S.vet_visits, "pet_id.pet_owner_id.phone"),
                                        (S.plant_care, "carer_email"), (S.library_loans, None)])
def test_a_path_or_a_plain_field_that_resolves_has_no_problem(idea, path):
    spec = AppSpec.model_validate(S.with_cap(idea(), recipient_field=path))
    assert reminders.check(spec.capabilities[0], spec) == []
    assert spec_problems(spec) == []


def test_a_recipient_path_names_the_person_it_reaches():
    spec = AppSpec.model_validate(S.translation_jobs())
    assert reminders.hops(spec.capabilities[0], spec) == [("translator_id", "translator")]
    assert reminders.recipient_words(spec.capabilities[0], spec) == "translator's email"
    spec = AppSpec.model_validate(S.vet_visits())
    assert reminders.hops(spec.capabilities[0], spec) == [("pet_id", "pet"), ("pet_owner_id", "person")]
    assert reminders.recipient_words(spec.capabilities[0], spec) == "pet owner's phone"


# ------------------------------------------------------------------ REALISES: the person the words name


def _recipient(noun: str):
    from shared.engine.appspec.model import RuleReading

    return RuleReading(category="recipient", words=f"the {noun}", nouns=[noun])


@pytest.mark.parametrize("idea, path, noun, expected", [
    (S.translation_jobs, "translator_id.email", "translator", True),  # the entity the path reaches
    (S.translation_jobs, None, "translator", False),  # the creator default is not the translator
    (S.vet_visits, "pet_id.pet_owner_id.phone", "owner", True),  # the role the last link gives the person
    (S.vet_visits, "pet_id.pet_owner_id.phone", "person", True),
    (S.vet_visits, "pet_id.pet_owner_id.phone", "vet", False),
    (S.vet_visits, "pet_id.pet_owner_id.phone", "visit", False),  # the records on the way are not the recipient
    (S.plant_care, "carer_email", "carer", True),  # a plain field still works
    (S.plant_care, None, "carer", False),
])
def test_a_recipient_rule_is_realised_by_the_path_to_the_person_it_names(idea, path, noun, expected):
    from shared.engine.criteria.k_notify import REALISES

    spec = AppSpec.model_validate(S.with_cap(idea(), recipient_field=path, channel=(
        "sms" if path and path.endswith("phone") else "email")))
    assert REALISES["reminders"](spec.capabilities[0], spec, _recipient(noun), None) is expected


def test_email_the_translator_is_planned_with_the_path_and_partial_with_the_creator_default():
    from shared.engine.criteria.certify import certify

    t = certify(AppSpec.model_validate(S.translation_jobs())).trace[0]
    assert t.status == "planned", t.not_built
    rules = {r.category: i for i, r in enumerate(t.reading.rules)}
    assert t.reading.rules[rules["recipient"]].nouns == ["translator"]
    [c] = [c for c in t.criteria if rules["recipient"] in c.rules]
    assert c.params["recipient_field"] == "translator_id.email" and "the translator's email" in c.text
    assert "to the translator's email" in t.built_as
    t = certify(AppSpec.model_validate(S.with_cap(S.translation_jobs(), recipient_field=None))).trace[0]
    assert t.status == "partial"
    assert any("translator" in nb for nb in t.not_built), t.not_built
    assert "the user who created the job" in t.built_as


def test_the_criterion_scenario_makes_the_linked_person_and_expects_their_address():
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.certify import certify

    spec = certify(AppSpec.model_validate(S.vet_visits()))
    t = spec.trace[0]
    [c] = [c for c in t.criteria if any(t.reading.rules[i].category == "recipient" for i in c.rules)]
    steps = compile_criterion(spec, c, t.feature)["steps"]
    person = next(s for s in steps if s["path"] == "/api/people" and s["json"].get("phone") == "+1 555 0142")
    pet = next(s for s in steps if s["path"] == "/api/pets" and s["json"].get("pet_owner_id") == f"${{{person['save']}.id}}")
    assert any(s["path"] == "/api/visits" and s["json"].get("pet_id") == f"${{{pet['save']}.id}}" for s in steps)
    run = next(s for s in steps if s["path"].endswith("/run-due"))
    assert {"path": "no_recipient", "op": "len", "value": 1} in run["checks"]  # the pet without an owner
    box = next(s for s in steps if s["path"].endswith("/outbox"))
    assert {"path": "items.0.recipient", "op": "eq", "value": "+1 555 0142"} in box["checks"]
    assert {"path": "items.0.channel", "op": "eq", "value": "sms"} in box["checks"]


# ------------------------------------------------------------------ a broken path resolution is caught


def test_reminders_sent_to_the_creator_instead_of_the_path_fail_the_generated_tests_and_criteria():
    """Mutation: the generated module ignores the path and falls back to the record's creator. The generated path
    tests and the acceptance criteria must fail (the QA run of the unmutated app passes in
    test_generated_reminder_tests_pass)."""
    from shared.engine.criteria.certify import certify

    spec = certify(AppSpec.model_validate(S.translation_jobs()))
    _, files = S.compile_spec(spec.model_dump(mode="json"))
    name = "app/capabilities/deadline_alerts.py"
    module = files[name].decode()
    assert "    if RECIPIENT:\n" in module
    files[name] = module.replace("    if RECIPIENT:\n", "    if RECIPIENT and False:\n", 1).encode()
    run = S.qa(files)
    assert not run.passed
    mine = run.of("test_cap_deadline_alerts")
    for broken in ("test_run_due_delivers_each_due_reminder_once",
                   "test_the_address_is_read_through_the_links_when_the_reminder_is_due",
                   "test_a_due_record_whose_link_is_empty_is_reported_not_sent_to_anyone_else"):
        assert mine.get(broken) != "passed", (broken, mine)
    [feature] = run.features
    assert feature["criteria"] and not any(c["passed"] for c in feature["criteria"]), feature["criteria"]


# ------------------------------------------------------------------ reminders about a custody capability's check-outs


def _loans(cap_id: str = "overdue_tools", members: dict | None = None, **changes) -> AppSpec:
    """The tool library with one reminders capability changed (and the member entity's fields, if given)."""
    s = S.tool_loans()
    next(c for c in s["capabilities"] if c["id"] == cap_id).update(changes)
    if members is not None:
        next(e for e in s["entities"] if e["name"] == "member")["fields"] = members
    return AppSpec.model_validate(s)


@pytest.mark.parametrize("cap_id, change, words", [
    ("overdue_tools", {"custody": "loans"}, ["custody 'loans' is not a capability of the spec",
                                             "custody capabilities of the spec: ['key_desk', 'lending']"]),
    ("overdue_tools", {"custody": "due_texts"}, ["custody 'due_texts' is a reminders capability, not a custody one"]),
    ("overdue_tools", {"entity": "member"}, ["entity 'member' is not what custody 'lending' lends",
                                             "set entity to 'tool'"]),
    ("overdue_tools", {"field": "name"}, ["field 'name'", "each check-out's due time", "set field to 'due_at'"]),
    ("overdue_tools", {"rule": "below_threshold", "threshold": 3}, ["a check-out has a due time",
                                                                    "use overdue", "or due_in_days"]),
    ("due_texts", {"days": None}, ["rule due_in_days needs 'days'"]),
    ("due_texts", {"days": 0}, ["only at the very moment it falls due", "rule overdue (days 0"]),
    # the address is the holder's, never the item's
    ("overdue_tools", {"recipient_field": "full_name"},
     ["member.full_name is a text field, but channel email needs an email field", "email fields of member: ['email']"]),
    ("overdue_tools", {"recipient_field": "condition"},
     ["'condition' is not a field of 'member'", "holding the item, so name a field of member, not of tool"]),
    ("overdue_tools", {"recipient_field": "email", "channel": "sms"},
     ["member.email is an email field, but channel sms needs a phone field", "phone fields of member: ['phone']"]),
    ("due_texts", {"recipient_field": None}, ["channel sms needs recipient_field: the phone field of member",
                                              "phone fields of member: ['phone']"]),
    ("overdue_tools", {"members": [S.f("full_name", required=True), S.f("phone", "phone")]},
     ["the reminder goes to the member holding the item, but member has no email field",
      "add an email field to member"]),
    # holders who are the app's users: their login email, and nothing else
    ("key_returns", {"channel": "sms"}, ["custody 'key_desk' lends to the app's users, who have only a login email",
                                         "holder_entity with a phone field"]),
    ("key_returns", {"recipient_field": "door"}, ["the holding user's login email; drop recipient_field"]),
])
def test_check_names_what_does_not_fit_a_custody_reminder(cap_id, change, words):
    change = dict(change)
    spec = _loans(cap_id, members=change.pop("members", None), **change)
    cap = spec.capability(cap_id)
    text = " | ".join(reminders.check(cap, spec))
    for w in words:
        assert w in text, (w, text)
    assert any(f"capability {cap_id!r} (reminders)" in p for p in spec_problems(spec))


def test_a_custody_reminder_that_fits_has_no_problem_and_names_the_holder():
    from shared.engine.criteria.certify import describe

    spec = AppSpec.model_validate(S.tool_loans())
    assert spec_problems(spec) == []
    email, sms, keys = (spec.capability(c) for c in ("overdue_tools", "due_texts", "key_returns"))
    assert reminders.holder_address(email, spec) == "email"  # the holder entity's first email field
    assert [reminders.recipient_words(c, spec) for c in (email, sms, keys)] == [
        "member's email", "member's phone", "holder's email"]
    assert describe(email, spec) == ("email reminders about overdue check-outs of tools, 7 days after their due time, "
                                     "to the member's email")
    assert describe(sms, spec) == ("SMS reminders about check-outs of tools, 1 day before their due time, to the "
                                   "member's phone")
    routes = {(r.method, r.path): r.roles for r in reminders.routes(email, spec)}
    assert routes[("GET", "/api/overdue_tools/due")] == ["owner", "librarian"]  # the tool's readers


@pytest.mark.parametrize("cap_id, noun, expected", [
    ("overdue_tools", "member", True),  # the holder entity
    ("overdue_tools", "borrower", True),  # anyone holding a thing
    ("overdue_tools", "tool", False),  # the item is not the recipient
    ("overdue_tools", "librarian", False),  # nor the one who lends it
    ("key_returns", "keyholder", True),  # holders who are users: the roles that check out
    ("key_returns", "visitor", False),
])
def test_a_recipient_rule_is_realised_by_the_holder_of_a_check_out(cap_id, noun, expected):
    from shared.engine.criteria.k_notify import REALISES

    spec = AppSpec.model_validate(S.tool_loans())
    assert REALISES["reminders"](spec.capability(cap_id), spec, _recipient(noun), None) is expected


def test_the_custody_criterion_checks_out_to_a_holder_and_expects_the_holders_address():
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.certify import certify

    spec = certify(AppSpec.model_validate(S.tool_loans()))
    t = next(t for t in spec.trace if t.capabilities == ["overdue_tools"])
    [c] = t.criteria
    assert c.template == "reminders.custody_due" and sorted(c.rules) == [0, 1, 2]
    steps = compile_criterion(spec, c, t.feature)["steps"]
    holder = next(s for s in steps if s["path"] == "/api/members" and s["json"]["email"] == "holder-reminded@example.com")
    out = next(s for s in steps if s["path"].endswith("/checkout") and s["json"]["holder_id"] == f"${{{holder['save']}.id}}")
    runs = [s for s in steps if s["path"] == "/api/overdue_tools/run-due" and s.get("now")]
    # an hour before 7 days past due, and an hour after
    assert [r["now"] for r in runs] == ["2030-01-26T11:00:00", "2030-01-26T13:00:00"]
    assert out["json"]["due_at"] == "2030-01-19T12:00:00Z"
    box = next(s for s in steps if s["path"].endswith("/outbox"))
    assert {"path": "items.0.recipient", "op": "eq", "value": "holder-reminded@example.com"} in box["checks"]
    assert {"path": "items.0.record_id", "op": "eq", "value": f"${{{out['save']}.id}}"} in box["checks"]


#: the generated tests of a reminder about check-outs, and those a holder entity, an optional address, SMS add
CUSTODY_TESTS = ["test_an_open_check_out_is_reminded_once_to_its_holder",
                 "test_each_check_out_is_reminded_to_its_own_holder",
                 "test_due_lists_the_check_outs_due_to_readers", "test_run_due_needs_the_scheduler_token_or_the_owner"]


@pytest.mark.parametrize("cap_id, extra", [
    ("overdue_tools", ["test_checking_the_tool_in_ends_its_reminders", "test_the_outbox_page_escapes_the_tool_name"]),
    ("due_texts", ["test_checking_the_tool_in_ends_its_reminders",
                   "test_a_holder_without_phone_is_reported_not_sent_to_anyone_else",
                   "test_a_text_goes_through_twilio_to_the_holders_number"]),
    ("key_returns", ["test_checking_the_key_in_ends_its_reminders"]),
])
def test_generated_custody_reminder_tests_pass(cap_id, extra):
    """One build of the tool library (shared with test_certification): each reminders capability's own tests."""
    spec, run = S.built_once(S.tool_loans)
    assert run.passed, run.output
    assert run.findings_in(cap_id) == [], run.findings_in(cap_id)
    mine = run.of(f"test_cap_{cap_id}")
    for must in CUSTODY_TESTS + extra:
        assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in mine.values()), mine


ORCHARD_GRAFTS = {"title": "GraftBook", "description": "An apple orchard keeps a log of the grafts made on its trees.",
                  "audience": "Orchard growers",
                  "key_features": ["Grafts with tree row, graft date and notes",
                                   "A reminder 10 days after each graft"]}


def test_a_reminder_some_days_after_each_record_waits_that_long_from_its_own_date():
    """"A reminder 10 days after each graft": the graft's own date (not a due date made up), passed by 10 days, is
    the reminder's rule (overdue by 10), the feature reads as planned, and its criteria pass against the app."""
    from shared.engine.planner import plan_builtin

    spec = plan_builtin(ORCHARD_GRAFTS)
    t = spec.trace[1]
    [cap] = [c for c in spec.capabilities if c.id in t.capabilities]
    assert (cap.kind, cap.entity, cap.field, cap.rule, cap.days) == ("reminders", "graft", "graft_date", "overdue", 10)
    assert t.status == "planned", t.not_built
    _spec, files = S.compile_spec(spec.model_dump(mode="json"))
    run = S.qa(files)
    assert run.passed, run.output
    mine = [f for f in run.features if f["feature"] == ORCHARD_GRAFTS["key_features"][1]]
    assert mine and mine[0]["criteria"] and all(x["passed"] for x in mine[0]["criteria"]), run.features


def test_a_reminder_to_the_person_on_a_rota_is_about_their_turn_and_goes_to_them():
    """"Text the volunteer on duty the evening before", with a cleaning rota among volunteers planned: what comes
    due is the rota's work (a cleaning, by its date), and the text goes to the volunteer it is assigned to, not to
    every volunteer record by a date of their own."""
    from shared.engine.planner import plan_builtin

    spec = plan_builtin({"title": "TowerTurns", "description": "A bell tower trust shares the tower cleaning among "
                                                            "its volunteers.",
                         "audience": "Bell tower trusts",
                         "key_features": ["Towers with name and bell count",
                                          "A cleaning rota that shares the days fairly among volunteers",
                                          "Text the volunteer on duty the evening before"]})
    [rota] = [c for c in spec.capabilities if c.kind == "rotation"]
    [cap] = [c for c in spec.capabilities if c.id in spec.trace[2].capabilities]
    assert (cap.kind, cap.entity, cap.rule, cap.days, cap.channel) == ("reminders", rota.entity, "due_in_days", 1,
                                                                       "sms")
    assert spec.entity(rota.entity).field(cap.field).type in ("date", "datetime")
    assert cap.recipient_field.split(".")[0] == rota.assignee_field
    assert spec_problems(spec) == []
