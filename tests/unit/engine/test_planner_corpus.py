"""The built-in planner over the idea corpus (plan only, no compile): traces, kinds, variety."""

from __future__ import annotations

from functools import cache

import pytest

from shared.engine.appspec import spec_problems
from shared.engine.capabilities import KINDS, available_kinds
from shared.engine.planner import plan_builtin, planned_features

from .corpus import load_ideas

IDEAS = load_ideas()
GOOD = [i for i in IDEAS if i["expect"] == "go"]
CONTINUING = [i for i in IDEAS if i["expect"] in ("go", "needs_work")]
NEW_DOMAINS = ("kiln-share", "plant-swap", "grant-desk", "food-bank-rota", "lab-custody", "allergen-menu",
               "community-fridge", "score-library", "allotment-plots", "bike-coop", "hive-log", "tool-library",
               "foster-dogs", "chore-points", "paper-drafts", "film-fest", "dinghy-club", "seed-library",
               "makerspace-tools", "csa-boxes", "museum-loans", "youth-football", "care-training")


@cache
def _plan(idea_id: str, every_kind: bool = False):
    idea = next(i for i in IDEAS if i["id"] == idea_id)
    return plan_builtin(idea, kinds=KINDS if every_kind else None)


def test_corpus_has_fifty_ideas_with_features_and_new_domains():
    assert len(IDEAS) >= 50
    assert all(isinstance(i.get("key_features"), list) for i in IDEAS)
    assert all(i["key_features"] for i in GOOD)
    ids = {i["id"] for i in IDEAS}
    assert set(NEW_DOMAINS) <= ids and len(NEW_DOMAINS) >= 15
    assert all(next(i for i in IDEAS if i["id"] == n)["expect"] == "go" for n in NEW_DOMAINS)


@pytest.mark.parametrize("idea", CONTINUING, ids=[i["id"] for i in CONTINUING])
def test_every_key_feature_is_in_the_trace_and_the_spec_is_valid(idea):
    spec = _plan(idea["id"])
    assert spec_problems(spec) == []
    assert spec.features == idea["key_features"]
    assert [t.feature for t in spec.trace] == idea["key_features"]
    kinds = set(available_kinds())
    for t in spec.trace:
        if t.status in ("planned", "partial"):
            assert t.capabilities
            assert t.status == "planned" or t.not_built
            assert all(spec.capability(c).kind in kinds for c in t.capabilities)
        else:
            assert t.reason and len(t.reason) >= 20


@pytest.mark.parametrize("idea", CONTINUING, ids=[i["id"] for i in CONTINUING])
def test_the_mapping_for_every_kind_keeps_names_resolving(idea):
    """With every kind allowed (as if the whole library were there) the only problems are unbuilt kinds."""
    spec = _plan(idea["id"], True)
    problems = [p for p in spec_problems(spec) if "is not in the library yet" not in p]
    assert problems == []
    assert [t.feature for t in spec.trace] == idea["key_features"]


def _kinds_by_idea(every_kind: bool) -> dict[str, set[str]]:
    return {i["id"]: {c.kind for c in _plan(i["id"], every_kind).capabilities} for i in GOOD}


def _best_ten(kinds_by_idea: dict[str, set[str]]) -> set[str]:
    """Greedy: the 10 ideas that together cover the most kinds."""
    covered: set[str] = set()
    pool = dict(kinds_by_idea)
    for _ in range(10):
        if not pool:
            break
        best = max(sorted(pool), key=lambda k: len(pool[k] - covered))
        covered |= pool.pop(best)
    return covered


def test_ten_ideas_use_at_least_fifteen_kinds():
    every = _best_ten(_kinds_by_idea(True))
    assert len(every) >= 15, sorted(every)
    avail = set(available_kinds())
    built = _best_ten(_kinds_by_idea(False))
    print(f"\nten corpus ideas use {len(built)} of {len(avail)} available kinds "
          f"({len(every)} of {len(KINDS)} once the library is complete); unavailable: {sorted(set(KINDS) - avail)}")
    assert built == avail & every or len(built) >= 15, (sorted(built), sorted(avail))


def _entities(idea_id: str) -> set[str]:
    return {e.name for e in _plan(idea_id, True).entities}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_planned_in_two_ideas_from_different_domains(kind):
    users = [i for i, ks in _kinds_by_idea(True).items() if kind in ks]
    pairs = [(a, b) for a in users for b in users if a < b and not (_entities(a) & _entities(b))]
    assert pairs, f"{kind} is planned only in {users}; it needs two ideas that share no record type"
    if kind in available_kinds():
        built = [i for i, ks in _kinds_by_idea(False).items() if kind in ks]
        assert len(built) >= 2, (kind, built)


def test_feature_coverage_by_planned_kinds_is_reported():
    total = sum(len(i["key_features"]) for i in GOOD)
    def bound(spec):  # features with capabilities bound (planned or partial): the binding, not certification
        return [t for t in spec.trace if t.capabilities]
    planned = sum(len(bound(_plan(i["id"]))) for i in GOOD)
    planned_all = sum(len(bound(_plan(i["id"], True))) for i in GOOD)
    certified = sum(len(planned_features(_plan(i["id"]))) for i in GOOD)
    print(f"\nbound features: {planned}/{total} with the available kinds, {planned_all}/{total} with all kinds; "
          f"{certified} planned with every word read and every rule realised")
    assert planned_all / total >= 0.9
