"""A limit per user and record (decision 0074): "each player enters at most 2 sections per tournament", where the
player is only a user of the app (a role, no record of its own), counts the rows each user creates in one
tournament (`per_user` on a limit per parent), not the sections of every player together nor a player's sections
in all tournaments. The planned app holds it on every write path and its generated tests and criteria pass."""

from __future__ import annotations

import pytest

from shared.engine.planner import plan_builtin

from . import _ops_specs as S


def chess_idea():
    """A chess congress: each player enters at most 2 sections per tournament."""
    return {"id": "chess-congress", "title": "Chess Congress",
            "description": "A chess club runs weekend tournaments with several sections.",
            "target_audience": "chess club organisers",
            "key_features": ["Tournament list with date and venue",
                             "Each player enters at most 2 sections per tournament",
                             "Sections with name and rating band"]}


def quilt_idea():
    """A quilting guild: each member submits at most 3 quilts per exhibition."""
    return {"id": "quilt-exhibitions", "title": "Quilt Show Entries",
            "description": "A quilting guild runs exhibitions where members enter their quilts.",
            "target_audience": "quilting guild members",
            "key_features": ["Exhibition list with venue and opening date",
                             "Each member submits at most 3 quilts per exhibition",
                             "Quilts with title, size and technique"]}


def seed_idea():
    """An allotment seed swap: each member takes at most 5 packets per swap."""
    return {"id": "seed-swap", "title": "Seed Swap",
            "description": "An allotment society holds seed swaps through the year.",
            "target_audience": "allotment society volunteers",
            "key_features": ["Swap list with date and hall",
                             "Each member takes at most 5 packets per swap",
                             "Packets with variety and sow-by date"]}


def marrow_idea():
    """A village produce show: a grower can enter no more than 6 exhibits in any one competition."""
    return {"id": "produce-show", "title": "Produce Show",
            "description": "A village horticultural society runs produce competitions.",
            "target_audience": "show secretaries",
            "key_features": ["Competition list with class and judging date",
                             "A grower can enter no more than 6 exhibits in any one competition",
                             "Exhibits with variety and weight"]}


IDEAS = {"chess": (chess_idea, "section", "tournament", "player", 2),
         "quilt": (quilt_idea, "quilt", "exhibition", "member", 3),
         "seed": (seed_idea, "packet", "swap", "member", 5),
         "produce": (marrow_idea, "exhibit", "competition", "grower", 6)}


def _limit(spec):
    [cap] = [c for c in spec.capabilities if c.kind == "limit"]
    return cap


@pytest.mark.parametrize("name", list(IDEAS))
def test_a_limit_per_user_and_record_counts_the_rows_each_user_creates_per_record(name):
    """'Each A ... at most N B per C' with A a user of the app: B counted per C and the user who created them; no
    record of A is made, and the rule reads as realised (its criterion names the number)."""
    idea, counted, parent, person, n = IDEAS[name]
    spec = plan_builtin(idea())
    cap = _limit(spec)
    assert (cap.entity, cap.scope, cap.per_user, cap.pair_field, cap.max) == (counted, "parent", True, None, n)
    assert spec.entity(counted).field(cap.parent_field).ref == parent
    assert spec.entity(person) is None and spec.role(person) is not None  # the person is a user, not a record
    trace = next(t for t in spec.trace if t.feature == idea()["key_features"][1])
    assert cap.id in trace.capabilities
    ruled = [c for c in trace.criteria if c.rules]
    assert ruled and all(c.params["per_user"] and c.params["limit"] == n for c in ruled), trace.criteria


def test_a_person_kept_as_a_record_the_rows_point_at_keeps_the_limit_per_pair():
    """'Each referee judges at most 2 bouts per gala' where bouts point at referee records (kept by another
    feature): a limit per pair of records, as before."""
    spec = plan_builtin({"id": "judo-gala", "title": "Gala Desk", "description": "A judo club runs galas.",
                         "target_audience": "judo club officials",
                         "key_features": ["Referee list with name and grade", "Bouts with referee and mat number",
                                          "Each referee judges at most 2 bouts per gala"]})
    cap = _limit(spec)
    assert (cap.entity, cap.pair_field, cap.per_user) == ("bout", "referee_id", False)


@pytest.mark.parametrize("name", ["chess", "quilt"])
def test_generated_per_user_limit_tests_and_criteria_pass(name):
    """The planned app holds the limit per user and record on every write path: its generated tests (one user's
    rows of one record filled, the next refused; another user of the same record and the same user in another
    record unaffected; a row moved into a full record refused; 10 concurrent writers of one user; wrong roles) and
    its criteria over HTTP (two users, two records) pass."""
    idea = IDEAS[name][0]
    spec_dict = plan_builtin(idea()).model_dump(mode="json")
    spec, files = S.compile_spec(spec_dict)
    cap = _limit(spec)
    parent = spec.entity(cap.entity).field(cap.parent_field).ref
    run = S.qa(files)
    assert run.passed, run.output
    assert run.findings_in(cap.id) == [], run.findings_in(cap.id)
    mine = run.of(f"test_cap_{cap.id}")
    assert {f"test_another_user_in_the_same_{parent}_is_unaffected", "test_other_parents_are_unaffected",
            "test_moving_a_row_into_a_full_parent_is_refused", f"test_a_row_made_another_users_in_a_full_{parent}"
            f"_is_refused", "test_concurrent_writers_never_go_over_the_limit",
            "test_roles_without_access_are_refused"} <= set(mine), mine
    assert set(mine.values()) == {"passed"}, (mine, run.output)
    assert all(v == "passed" for v in run.results.values()), run.output
    feature = next(f for f in run.features if f["feature"] == idea()["key_features"][1])
    ruled = [c for c in feature["criteria"] if c["text"].startswith('"')]  # the founder's rule, quoted
    assert ruled and all(c["passed"] for c in feature["criteria"]), feature["criteria"]


def test_per_user_needs_a_parent_limit_without_a_pair():
    from shared.engine.appspec.model import AppSpec
    from shared.engine.capabilities import module_for

    spec_dict = plan_builtin(chess_idea()).model_dump(mode="json")
    spec = AppSpec.model_validate(spec_dict)
    cap = _limit(spec)
    assert module_for("limit").check(cap, spec) == []
    caps = spec_dict["capabilities"]
    at = next(i for i, c in enumerate(caps) if c["kind"] == "limit")
    for change, says in (({"scope": "user", "parent_field": None}, "per_user counts rows per parent record and user"),
                         ({"pair_field": "tournament_id"}, "set one of them")):
        bad = AppSpec.model_validate({**spec_dict, "capabilities": [*caps[:at], {**caps[at], **change},
                                                                    *caps[at + 1:]]})
        problems = module_for("limit").check(_limit(bad), bad)
        assert any(says in m for m in problems), (change, problems)
