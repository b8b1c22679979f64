"""Capability `document` with a sign-off gate (decision 0076): a PDF held back until the record is signed off, and
a sign-off refused to the user who made the record — a heating firm whose gas safety certificate is issued only
after a second engineer signs it off, and a soil-testing service whose lab report is released only once the
supervisor has signed it. Planned from the founder's words and built into an app whose own tests and acceptance
criteria pass."""

from __future__ import annotations

import pytest

from shared.engine.capabilities.document import Params, check
from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def gas_idea():
    return {"id": "gas-certs", "title": "GasSafe", "description": "A heating firm records boiler checks at customers' "
            "homes.", "target_audience": "gas engineers",
            "key_features": ["Boiler checks with address and appliance",
                             "A gas safety certificate is issued only after a second engineer signs it off"]}


def soil_idea():
    return {"id": "soil-reports", "title": "BenchNotes", "description": "A soil testing service for farmers.",
            "target_audience": "soil testers",
            "key_features": ["Samples with farm, field and date received",
                             "A lab report is released only once the supervisor has signed it"]}


def _feature(spec, words):
    return next(t for t in spec.trace if words in t.feature)


def _document(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "document"]
    return cap


def test_a_second_signer_and_a_held_back_pdf_are_read_from_the_words():
    spec = plan_builtin(gas_idea())
    cap = _document(spec)
    t = _feature(spec, "second engineer")
    assert t.status == "planned" and t.capabilities == [cap.id], t
    assert (cap.entity, cap.signoff_role, cap.pdf_after_signoff, cap.signer_not_maker) == (
        "gas_safety_certificate", "engineer", True, True)


def test_a_pdf_released_once_the_role_has_signed_it_waits_for_any_of_that_role():
    spec = plan_builtin(soil_idea())
    cap = _document(spec)
    t = _feature(spec, "has signed it")
    assert t.status == "planned" and t.capabilities == [cap.id], t
    assert (cap.signoff_role, cap.pdf_after_signoff, cap.signer_not_maker) == ("supervisor", True, False)
    assert not [c for c in spec.capabilities if c.kind == "limit"]  # "only once the supervisor ...": not a count


@pytest.mark.parametrize("words, held, other", [
    ("Certificates are signed off by the engineer", False, False),
    ("Certificates can't be issued until the engineer has signed them", True, False),
    ("Certificates are countersigned by another engineer before they are sent", False, True),
    ("Certificates are never emailed before the engineer signs them off", True, False),
])
def test_only_the_words_that_hold_the_pdf_or_name_another_signer_set_the_gates(words, held, other):
    idea = {**gas_idea(), "key_features": ["Boiler checks with address and appliance", words]}
    cap = _document(plan_builtin(idea))
    assert (cap.signoff_role, cap.pdf_after_signoff, cap.signer_not_maker) == ("engineer", held, other)


def test_the_gates_need_a_signer():
    spec = plan_builtin(gas_idea())
    cap = _document(spec)
    bare = Params.model_validate({**cap.model_dump(), "signoff_role": None})
    assert any("need signoff_role" in p for p in check(bare, spec))


@pytest.mark.parametrize("idea", [gas_idea, soil_idea], ids=["second_engineer", "supervisor_signed"])
def test_generated_signoff_gate_tests_and_criteria_pass(idea):
    spec, files = S.compile_spec(plan_builtin(idea()).model_dump(mode="json"))
    cap = _document(spec)
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert mine and set(mine.values()) <= {"passed", "skipped"}, (mine, run.output)
    assert mine["test_the_pdf_is_issued_only_after_signoff"] == "passed"
    if cap.signer_not_maker:
        assert mine["test_the_maker_may_not_sign_their_own_record"] == "passed"
    [feature] = [f for f in run.features if "sign" in f["feature"]]
    assert feature["status"] == "built", feature
    assert feature["criteria"] and all(c["passed"] for c in feature["criteria"]), feature["criteria"]
    signoff = [c for c in feature["criteria"] if "refused until" in c["text"]]
    assert signoff and ("who created" in signoff[0]["text"]) == cap.signer_not_maker, feature["criteria"]
