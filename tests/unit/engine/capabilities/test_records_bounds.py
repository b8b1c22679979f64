"""Capability `records` with a stated range (issue 17: "a rule stated in plain words and not enforced"; 17g probe:
"Members buy shares from £100 up to a maximum of £20,000 each" stored no amount, "Gifts have a spending cap of £25"
accepted a £40 gift). The range is the money field's own min and max, held by validation on every write, and a
criterion proves both edges over HTTP. The ideas here are written for this file."""

from __future__ import annotations

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def pledge_idea():
    return {"id": "pledge-drive", "title": "Roof fund", "description": "A village hall raises money for a new roof.",
            "target_audience": "hall committees",
            "key_features": ["Donors with name and email",
                             "Pledges per donor with date and note",
                             "Each pledge is from £5 up to a maximum of £500",
                             "Raffle prizes have a price cap of £30"]}


def test_a_stated_money_range_is_the_fields_min_and_max_and_is_certified():
    spec = plan_builtin(pledge_idea())
    cap = next(c for c in spec.capabilities if c.kind == "records" and c.bounds and c.entity == "pledge")
    [(name, pair)] = cap.bounds.items()
    f = spec.entity("pledge").field(name)
    assert f.type == "money" and (f.min, f.max) == (5, 500) and pair == [5, 500]
    t = spec.trace[2]
    assert t.status == "planned", t.not_built
    prize = next(c for c in spec.capabilities if c.kind == "records" and c.bounds and c.entity != "pledge")
    assert list(prize.bounds.values()) == [[None, 30]]
    assert spec.trace[3].status == "planned", spec.trace[3].not_built


def test_the_generated_app_refuses_amounts_outside_the_range_and_its_criteria_pass():
    spec_dict = plan_builtin(pledge_idea()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    run = S.qa(files)
    assert run.passed, run.output
    bounded = [c for ft in run.features for c in ft.get("criteria") or [] if "one at the edge is saved" in c["text"]]
    assert {c["capability"] for c in bounded} == {"records_pledge", "records_prize"}, bounded
    assert all(c["passed"] for c in bounded), bounded
