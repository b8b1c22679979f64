"""Capability `ledger`: name checks, routes, and the generated app's own ledger tests in two domains."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import ledger

from . import _ops_specs as S

IDEAS = [S.pottery_coop, S.house_bills]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_ledger_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 14, run.output
    for must in ("test_equal_split_and_balances_sum_to_zero", "test_usage_split", "test_settle_up_clears_every_balance",
                 "test_bad_splits_are_refused", "test_bad_settlements_are_refused",
                 "test_a_split_charge_and_its_people_are_locked", "test_anonymous_and_wrong_roles_are_refused",
                 "test_concurrent_settlements_settle_a_debt_once", "test_concurrent_splits_of_one_charge_store_one",
                 "test_only_the_payer_makes_others_owe"):
        assert mine.get(must) == "passed", (must, mine)
    if cap.weight_field:
        assert mine.get("test_weight_split_defaults_to_the_participants_weights") == "passed"
    assert all(v == "passed" for v in run.results.values()), run.output


def test_routes_use_the_charge_entitys_roles():
    spec = AppSpec.model_validate(S.pottery_coop())
    routes = {(r.method, r.path): r.roles for r in ledger.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/cost_split/settlements")] == ["owner", "member"]
    assert routes[("GET", "/api/cost_split/balances")] == ["owner", "member", "auditor"]
    assert routes[("POST", "/api/cost_split/charges/<int:charge_id>/split")] == ["owner", "member"]


@pytest.mark.parametrize("change, words", [
    ({"charge_entity": "expense"}, ["charge_entity 'expense' is not an entity"]),
    ({"amount_field": "description"}, ["text field but must be money", "['amount']"]),
    ({"amount_field": "cost"}, ["'cost' is not a field of 'firing_cost'"]),
    ({"weight_field": "name"}, ["must be integer or decimal", "shelf_share"]),
    ({"payer_field": "paid_by"}, ["'paid_by' is not a field"]),
    ({"participant_entity": "firing_cost"}, ["are different entities"]),
])
def test_check_names_what_does_not_resolve(change, words):
    spec = AppSpec.model_validate(S.with_cap(S.pottery_coop(), **change))
    text = " | ".join(ledger.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any(p.startswith("capability 'cost_split' (ledger)") for p in spec_problems(spec))


def test_allocation_rule_is_exact_and_deterministic():
    """The generated module's allocate(): shares add up to the total; leftover cents go to the largest
    remainders, ties to the lower id (checked here on the rendered source, executed standalone)."""
    _, files = S.compile_spec(S.house_bills())
    src = files["app/capabilities/bills_ledger.py"].decode()
    start, end = src.index("def allocate("), src.index("def _amount(")
    ns: dict = {}

    class ApiError(Exception):
        def __init__(self, *a, **k):
            super().__init__(*a)

    from fractions import Fraction
    exec(src[start:end], {"Fraction": Fraction, "ApiError": ApiError}, ns)  # noqa: S102 - our own template
    allocate = ns["allocate"]
    assert allocate(10000, [(1, Fraction(1)), (2, Fraction(1)), (3, Fraction(1))]) == {1: 3334, 2: 3333, 3: 3333}
    assert allocate(10000, [(3, Fraction(1)), (1, Fraction(2)), (2, Fraction(3))]) == {3: 1667, 1: 3333, 2: 5000}
    assert allocate(-101, [(1, Fraction(1)), (2, Fraction(1))]) == {1: -51, 2: -50}
    assert allocate(1, [(5, Fraction(1)), (4, Fraction(1)), (9, Fraction(1))]) == {5: 0, 4: 1, 9: 0}
    for total in (1, 2, 99, 12345, 10**9 + 7):
        parts = allocate(total, [(i, Fraction(i % 4 + 1, 3)) for i in range(1, 8)])
        assert sum(parts.values()) == total
    with pytest.raises(ApiError):
        allocate(100, [(1, Fraction(0))])
