"""Capability `agreement`: name checks, routes, and the generated app's own agreement tests in three domains —
volunteer shift swaps (the new volunteer agrees; coordinators exempt), quilt guild bundle trades (the holder agrees
to give a bundle to the member who asks, and its status changes with it) and allotment plot transfers (the new
plotholder agrees; the owner exempt, a secretary refused, no messages)."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec.model import AppSpec, FeatureReading, RuleReading, spec_problems
from shared.engine.capabilities import agreement

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def volunteer_shifts():
    """Food bank: a volunteer hands a shift to another volunteer, who must accept; coordinators assign directly."""
    vol = entity("volunteer", "volunteers", [f("name", required=True), f("email", "email", required=True, unique=True),
                                             f("phone", "phone")])
    shift = entity("shift", "shifts", [f("title", required=True), f("shift_date", "date", required=True),
                                       f("volunteer_id", "reference", ref="volunteer")])
    roles = [role("coordinator", ["volunteer", "shift"], ["volunteer", "shift"]),
             role("helper", ["shift", "volunteer"])]
    caps = [{"kind": "agreement", "id": "shift_swap", "label": "Swap a shift only when the other volunteer accepts",
             "entity": "shift", "fields": ["volunteer_id"], "party_field": "volunteer_id", "party": "new",
             "person_email_field": "email", "exempt_roles": ["coordinator"]}]
    return build("Shift Swap", "Volunteers at a food bank swap shifts with each other.", [vol, shift], roles, caps,
                 default_role="helper")


def quilt_bundles():
    """Quilt guild: a member asks for another member's fabric bundle; it changes hands (and becomes traded) only
    when its holder agrees. Visitors may look but not ask."""
    member = entity("member", "members", [f("display_name", required=True),
                                          f("email", "email", required=True, unique=True)], display="display_name")
    bundle = entity("bundle", "bundles", [
        f("title", required=True), f("fabric", "text"), f("yardage", "decimal", min=0.25, max=20),
        f("holder_id", "reference", ref="member", required=True),
        f("status", "enum", values=["in_stash", "traded"], default="in_stash")])
    roles = [role("quilter", ["member", "bundle"], ["bundle"], scope="own"), role("visitor", ["bundle"])]
    caps = [{"kind": "agreement", "id": "bundle_trade", "label": "Trade fabric bundles only with both members' agreement",
             "entity": "bundle", "fields": ["holder_id", "status"], "party_field": "holder_id", "party": "current",
             "person_email_field": "email", "requester_roles": ["quilter"], "expires_days": 7}]
    return build("Stash Swap", "A quilt guild whose members trade fabric bundles.", [member, bundle], roles, caps,
                 default_role="quilter")


def allotment_plots():
    """Allotments: a plotholder transfers a plot to another, who must agree; the owner may reassign, the secretary
    may not. No messages; requests never expire."""
    holder = entity("plotholder", "plotholders", [f("full_name", required=True),
                                                  f("email", "email", required=True, unique=True)],
                    display="full_name")
    plot = entity("plot", "plots", [f("plot_number", required=True, unique=True), f("size_m2", "integer", min=10),
                                    f("plotholder_id", "reference", ref="plotholder"), f("notes", "long_text")],
                  display="plot_number")
    roles = [role("secretary", ["plotholder", "plot"], ["plotholder", "plot"]),
             role("gardener", ["plot", "plotholder"])]
    caps = [{"kind": "agreement", "id": "plot_transfer", "label": "Transfer a plot only when the new plotholder agrees",
             "entity": "plot", "fields": ["plotholder_id"], "party_field": "plotholder_id",
             "person_email_field": "email", "exempt_roles": ["owner"], "expires_days": None, "notify": False}]
    return build("Plot Pass", "An allotment society records who holds each plot.", [holder, plot], roles, caps,
                 default_role="gardener")


IDEAS = [volunteer_shifts, quilt_bundles, allotment_plots]
MUST = ("test_the_change_waits_for_agreement_and_applies_on_accept", "test_only_the_person_asked_may_accept_or_decline",
        "test_the_asker_may_withdraw", "test_a_direct_write_of_a_guarded_field_is_refused",
        "test_a_second_pending_request_is_refused", "test_a_stale_request_is_not_applied",
        "test_concurrent_accepts_apply_once", "test_concurrent_requests_leave_one_pending",
        "test_bad_requests_are_refused_with_a_reason", "test_the_other_person_is_told_through_the_outbox",
        "test_the_page_lists_my_requests_and_answers_them", "test_the_page_form_asks_for_a_change")


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_agreement_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    for must in MUST:
        assert mine.get(must) == "passed", (must, mine)
    assert ("test_an_unanswered_request_expires" in mine) == (cap.expires_days is not None)
    assert set(mine.values()) == {"passed"}, mine
    # the whole project passes: the guard keeps the generic CRUD tests of the guarded entity working
    assert all(v == "passed" for v in run.results.values()), run.output
    assert len(run.results) > len(mine)


def test_each_spec_has_no_problems_and_declares_its_routes():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], idea.__name__
    spec = AppSpec.model_validate(quilt_bundles())
    cap = spec.capabilities[0]
    routes = {(r.method, r.path): r.roles for r in agreement.routes(cap, spec)}
    assert routes[("POST", "/api/bundle_trade/requests")] == ["quilter"]
    assert routes[("POST", "/api/bundle_trade/requests/<int:request_id>/accept")] == ["owner", "quilter", "visitor"]
    assert routes[("GET", "/api/bundle_trade/outbox")] == ["owner"]
    assert all(p.startswith(("/api/bundle_trade/", "/bundle_trade/")) for _m, p in routes)
    assert agreement.managed_fields(cap, spec) == {("bundle", "status"): "in_stash"}
    assert agreement.guarded(cap) == ["holder_id", "status"]
    _, files = S.compile_spec(quilt_bundles())
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == len(routes) == 10
    spec = AppSpec.model_validate(volunteer_shifts())
    assert agreement.requesters(spec.capabilities[0], spec) == ["owner", "coordinator", "helper"]
    assert agreement.describe_rule(spec.capabilities[0], spec) == (
        "a change of a shift's volunteer takes effect only when the new volunteer agrees")


SERVED = r"""
import json, tempfile
from app import create_app
app = create_app({"DATABASE_URL": "sqlite:///" + tempfile.mkdtemp() + "/x.db", "TESTING": True, "SECRET_KEY": "t"})
print(json.dumps(sorted({(m, str(r.rule)) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}})))
"""


def test_declared_routes_are_the_served_routes(tmp_path):
    import subprocess
    import sys

    _, files = S.compile_spec(volunteer_shifts())
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    proc = subprocess.run([sys.executable, "-c", SERVED], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    served = {tuple(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])}
    declared = {(r["method"], r["path"]) for r in json.loads(files["app/spec.json"])["capabilities"][0]["routes"]}
    assert declared == {x for x in served if x[1].startswith(("/api/shift_swap/", "/shift_swap/"))}


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(quilt_bundles())[1], S.compile_spec(quilt_bundles())[1]
    mine = [n for n in a if "bundle_trade" in n]
    assert len(mine) == 3
    assert all(a[n] == b[n] for n in mine)


def _person_field(d, **change):
    d["entities"][0]["fields"][1].update(change)
    return d


@pytest.mark.parametrize("spec_dict, words", [
    (S.with_cap(volunteer_shifts(), entity="rota"), ["entity 'rota' is not an entity"]),
    (S.with_cap(volunteer_shifts(), party_field="title"), ["shift.title is a text field but must be reference"]),
    (S.with_cap(volunteer_shifts(), party_field="helper_id"), ["'helper_id' is not a field of 'shift'"]),
    (S.with_cap(volunteer_shifts(), person_email_field="phone"), ["volunteer.phone is a phone field but must be "
                                                                  "email"]),
    (S.with_cap(volunteer_shifts(), fields=["shift_date"]), ["shift.shift_date is a date field", "must include "
                                                             "'volunteer_id'"]),
    (S.with_cap(volunteer_shifts(), fields=["title"]), ["display field"]),
    (S.with_cap(volunteer_shifts(), fields=["volunteer_id", "volunteer_id"]), ["list a field twice"]),
    (S.with_cap(volunteer_shifts(), exempt_roles=["boss"]), ["exempt role 'boss' is not a role"]),
    (S.with_cap(volunteer_shifts(), requester_roles=["member"]), ["requester role 'member' is not a role"]),
    (S.with_cap(volunteer_shifts(), exempt_roles=["owner", "coordinator", "helper"]), ["every role is exempt"]),
    (_person_field(volunteer_shifts(), type="text"), ["volunteer.email is a text field but must be email"]),
    (S.with_cap(quilt_bundles(), fields=["shade"]), ["'shade' is not a field of 'bundle'", "holder_id"]),
])
def test_check_names_what_does_not_resolve(spec_dict, words):
    spec = AppSpec.model_validate(spec_dict)
    text = " | ".join(agreement.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any(p.startswith(f"capability '{spec.capabilities[0].id}' (agreement)") for p in spec_problems(spec))


def test_check_refuses_a_status_without_a_start_and_a_second_driver():
    d = quilt_bundles()
    d["entities"][1]["fields"][4].update(default=None, required=True)
    spec = AppSpec.model_validate(d)
    assert any("without a default" in p for p in agreement.check(spec.capabilities[0], spec))
    d = quilt_bundles()
    d["capabilities"].append({"kind": "workflow", "id": "bundle_flow", "label": "Bundle states", "entity": "bundle",
                              "state_field": "status", "states": ["in_stash", "traded"], "initial": "in_stash",
                              "transitions": [{"name": "trade", "from_states": ["in_stash"], "to": "traded",
                                               "roles": ["owner"]}]})
    spec = AppSpec.model_validate(d)
    assert any("also set by capability 'bundle_flow'" in p for p in agreement.check(spec.capabilities[0], spec))


# ---------------------------------------------------------------------------------------------- criteria


def _realises(idea, **rule) -> bool:
    from shared.engine.criteria.kinds import REALISES

    spec = AppSpec.model_validate(idea())
    return REALISES["agreement"](spec.capabilities[0], spec, RuleReading(**rule), None)


def test_a_rule_is_realised_only_with_its_own_party_and_record():
    assert _realises(volunteer_shifts, category="agreement", words="only when the other volunteer accepts",
                     nouns=["shift", "volunteer"])
    assert _realises(allotment_plots, category="agreement", words="the new plotholder agrees to take the plot",
                     nouns=["plotholder", "plot"])
    assert not _realises(allotment_plots, category="agreement", words="the new plotholder agrees",
                         nouns=["plotholder"])  # which record: the words name none
    assert not _realises(allotment_plots, category="agreement", words="the current plotholder agrees",
                         nouns=["plotholder", "plot"])  # here the new plotholder agrees
    assert _realises(quilt_bundles, category="agreement", words="with both members' agreement",
                     nouns=["bundle", "member"])
    assert not _realises(volunteer_shifts, category="agreement", words="only when the coordinator approves",
                         nouns=["shift", "coordinator"])  # a coordinator's approval, not the volunteer's agreement
    assert not _realises(quilt_bundles, category="agreement", words="the pattern's designer agrees",
                         nouns=["pattern", "designer"])  # nouns of neither the party nor the record
    assert not _realises(quilt_bundles, category="agreement", words="only when the new member agrees",
                         nouns=["bundle", "member"])  # here the member who holds it agrees
    assert not _realises(volunteer_shifts, category="limit", words="at most 2 shifts per volunteer", number=2,
                         nouns=["shift", "volunteer"])
    assert not _realises(volunteer_shifts, category="agreement", words="two volunteers must agree", number=2,
                         nouns=["volunteer", "shift"])  # a number of people this capability does not count
    assert _realises(quilt_bundles, category="agreement", words="both members agree", number=2,
                     nouns=["member", "bundle"])


def test_criteria_speak_the_founders_nouns_and_exercise_the_realised_rule():
    from shared.engine.criteria.k_agreement import DERIVE

    spec = AppSpec.model_validate(volunteer_shifts())
    rules = [RuleReading(category="limit", words="at most 2 shifts", number=2, nouns=["shift"]),
             RuleReading(category="agreement", words="only when the other volunteer accepts",
                         nouns=["shift", "volunteer"])]
    crits = DERIVE["agreement"](spec.capabilities[0], spec, FeatureReading(record="shift", rules=rules), "Swap shifts")
    assert [c["template"] for c in crits] == ["agreement.agree_then_apply", "agreement.no_direct_write"]
    assert crits[0]["rules"] == [1] and crits[1]["rules"] == [1]
    assert crits[0]["text"].startswith("When a helper asks to give their shift to another volunteer, nothing "
                                       "changes until that volunteer accepts")
    spec = AppSpec.model_validate(quilt_bundles())
    [first, second] = DERIVE["agreement"](spec.capabilities[0], spec, None, "")
    assert "the member who holds it" in first["text"] and first["rules"] == []
    assert "holder" in second["text"]
    spec = AppSpec.model_validate(S.with_cap(allotment_plots(), exempt_roles=["owner", "secretary"]))
    [only] = DERIVE["agreement"](spec.capabilities[0], spec, None, "")  # no one left whose direct write is refused
    assert only["template"] == "agreement.agree_then_apply"
    assert only["text"].startswith("When a gardener asks to give their plot to another plotholder")


# ---------------------------------------------------------------------------------------------- planner


@pytest.fixture
def wired(monkeypatch):
    """The planner with the builder wired in as the lead will wire it (capmap's tables)."""
    from shared.engine.planner import capmap
    from shared.engine.planner.b_agreement import b_agreement

    monkeypatch.setitem(capmap.BUILDERS, "agreement", b_agreement)
    monkeypatch.setitem(capmap.CUES, "agreement", (
        r"agree(s|d|ing|ment|ments)?", r"consent\w*", r"on (their|someone'?s|his|her|another'?s) behalf",
        r"(both|mutual(ly)?|the other \w+|the (new|receiving) \w+) (accept|agree|confirm|consent)\w*"))
    monkeypatch.setitem(capmap.BEHAVIOUR, "agreement", "a change that takes effect only when the other person agrees")
    monkeypatch.setitem(capmap.IDENTITY, "agreement", ("entity", "party_field"))
    monkeypatch.setattr(capmap, "EXCLUSIVE", capmap.EXCLUSIVE + (
        ("agreement", "rotation", r"accept\w*|agree\w*|consent\w*|confirm\w*"),
        ("agreement", "workflow", r"accept\w*|agree\w*|consent\w*|confirm\w*")))


@pytest.mark.parametrize("idea, entity, party, mode", [
    ({"title": "Shift Swap", "description": "Volunteers at a food bank sign up for shifts.",
      "key_features": ["Volunteers swap shifts only when the other volunteer accepts"]},
     "shift", "volunteer_id", "new"),
    ({"title": "Stash", "description": "A quilt guild where members trade fabric bundles.",
      "key_features": ["Members trade fabric bundles only with both members' agreement"]},
     "bundle", "member_id", "new"),
    ({"title": "Plots", "description": "An allotment society with plotholders and plots.",
      "key_features": ["Plotholders transfer their allotment plots to another plotholder only when the new plotholder "
                       "agrees"]}, "plot", "plotholder_id", "new"),
])
def test_the_builder_binds_the_record_and_the_person_who_agrees(wired, idea, entity, party, mode):
    from shared.engine.planner import plan_builtin

    spec = plan_builtin(idea)
    [cap] = [c for c in spec.capabilities if c.kind == "agreement"]
    assert (cap.entity, cap.party_field, cap.party, cap.fields) == (entity, party, mode, [party])
    person = spec.entity(agreement.person_entity(cap, spec))
    assert person.field(cap.person_email_field).type == "email"
    assert spec_problems(spec) == []
    assert not [c for c in spec.capabilities if c.kind in ("rotation", "workflow")]
    [entry] = spec.trace
    assert entry.criteria and all(c.rules == [0] for c in entry.criteria), entry
    words = entry.reading.rules[0].words
    assert not [x for x in entry.not_built if x.startswith(words)], entry.not_built  # the rule is realised


def test_the_builder_asks_for_the_missing_parts(wired):
    from shared.engine.planner.b_agreement import b_agreement, stated_agreements
    from shared.engine.planner.capmap import NotFit, feature_ctx
    from shared.engine.planner.draft import Draft

    assert stated_agreements("Swap shifts with the other volunteer's consent")
    assert not stated_agreements("Volunteers swap shifts")
    d = Draft({"title": "Rota", "description": "Volunteers swap shifts.", "key_features": ["Volunteers swap shifts"]})
    with pytest.raises(NotFit, match="whose agreement"):
        b_agreement(feature_ctx(d, 0, "Volunteers swap shifts", None))
    d = Draft({"title": "Club", "description": "A club.", "key_features": ["Nothing changes until both agree"]})
    with pytest.raises(NotFit):
        b_agreement(feature_ctx(d, 0, "Nothing changes until both agree", None))
