"""Capability `payments`: name checks, routes and the generated app's own Stripe tests (a Checkout stand-in on
loopback, webhooks signed with the test secret) in two domains: meal-kit subscriptions and course fees with a
platform fee."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import spec_problems
from shared.engine.capabilities import payments

from . import _caps3_specs as S


@pytest.mark.parametrize("idea", S.IDEAS)
def test_generated_payments_tests_pass(idea, tmp_path):
    s = S.spec(idea, "payments")
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=7, abuse=3)
    for name in ("test_checkout_charges_the_records_amount_not_the_clients",
                 "test_signed_webhook_confirms_the_payment_once",
                 "test_abuse_unsigned_forged_tampered_or_stale_webhooks_are_refused"):
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    module = files[f"app/capabilities/{s.capabilities[0].id}.py"].decode()
    assert "stripe.Webhook.construct_event(payload" in module
    assert (b"stripe==16.1.0" in files["requirements.txt"].splitlines())
    assert b"| `STRIPE_WEBHOOK_SECRET` |" in files["README.md"]  # the founder is told what to set
    assert ("Payout(" in module) and (("FEE_PERCENT = Decimal(\"10.0\")" in module) == (idea == "caps3_academy"))


def test_routes_declare_a_public_webhook_and_fee_payouts():
    s = S.spec("caps3_academy", "payments")
    routes = {(r.method, r.path): r.roles for r in payments.routes(s.capabilities[0], s)}
    assert routes[("POST", "/api/course_fees/webhook")] == []  # Stripe signs it; no session
    assert routes[("POST", "/api/course_fees/courses/<int:record_id>/checkout")] == ["owner", "instructor", "student"]
    assert ("GET", "/api/course_fees/payouts") in routes
    menu = S.spec("caps3_menu", "payments")
    assert all("payouts" not in r.path for r in payments.routes(menu.capabilities[0], menu))


@pytest.mark.parametrize("change, words", [
    ({"amount_field": "name"}, ["text field but must be money", "price"]),
    ({"amount_field": "cost"}, ["'cost' is not a field of 'dish'"]),
    ({"entity": "order"}, ["'order' is not an entity"]),
])
def test_check_names_what_does_not_resolve(change, words):
    s = S.spec("caps3_menu", "payments", **change)
    problems = payments.check(s.capabilities[0], s)
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any("meal_kits" in p for p in spec_problems(s))


def test_packages_match_the_factorys_pins():
    from infra import package

    factory = set(package.requirements("engine").split())  # the pins the stage functions install
    assert set(payments.PACKAGES) <= factory


def _priced_menu(**changes):
    """caps3_menu's dish kits sold at a stated price per portion (or per hour of a cooking class's start to its end),
    with a deposit: the app computes the amount."""
    from shared.engine.appspec.model import AppSpec

    d = S.spec_dict("caps3_menu", "payments")
    dish = next(e for e in d["entities"] if e["name"] == "dish")
    dish["fields"].append({"name": "portions", "label": "Portions", "type": "integer", "min": 0})
    dish["fields"].append({"name": "class_start", "label": "Class start", "type": "datetime"})
    dish["fields"].append({"name": "class_end", "label": "Class end", "type": "datetime"})
    d["capabilities"][0].update(mode="one_time", **changes)
    return AppSpec.model_validate(d)


def test_a_stated_price_per_unit_and_deposit_are_computed_by_the_app(tmp_path):
    s = _priced_menu(unit_price=38.0, quantity_field="portions", deposit_percent=25.0)
    assert payments.check(s.capabilities[0], s) == []
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=8, abuse=3)
    assert run.results.get("test_the_amount_is_computed_from_the_stated_price_never_sent") == "ok", run.results
    module = files[f"app/capabilities/{s.capabilities[0].id}.py"].decode()
    assert 'UNIT_PRICE = Decimal("38.0")' in module and 'QUANTITY_FIELD = "portions"' in module
    tests = files[f"tests/test_cap_{s.capabilities[0].id}.py"].decode()
    assert "CENTS = 1900" in tests  # 2 portions at 38.00 = 7600, a 25% deposit of it = 1900


def test_check_refuses_a_quantity_that_is_no_number_or_has_no_price():
    s = _priced_menu(unit_price=38.0, quantity_field="name")
    assert any("quantity_field dish.name is a text field" in p for p in payments.check(s.capabilities[0], s))
    s = _priced_menu(quantity_field="portions")
    assert any("needs a unit_price" in p for p in payments.check(s.capabilities[0], s))


def test_a_price_per_hour_of_a_span_charges_the_hours_between_start_and_end(tmp_path):
    s = _priced_menu(unit_price=38.0, start_field="class_start", end_field="class_end")
    assert payments.check(s.capabilities[0], s) == []
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=8, abuse=3)
    assert run.results.get("test_the_amount_is_computed_from_the_stated_price_never_sent") == "ok", run.results
    tests = files[f"tests/test_cap_{s.capabilities[0].id}.py"].decode()
    assert "CENTS = 7600" in tests and '"class_end": "2030-01-07T12:00:00Z"' in tests  # a 2-hour class at 38.00
    s = _priced_menu(unit_price=38.0, start_field="class_start")
    assert any("go together" in p for p in payments.check(s.capabilities[0], s))


def _held_menu(**changes):
    """caps3_menu's dish kits cooked to order: a dish is ordered, then cooked (in progress), then ready; a 30%
    deposit must be paid before the kitchen starts ("a deposit before work starts")."""
    s = _priced_menu(deposit_percent=30.0, **changes)
    d = s.model_dump(mode="json", exclude_none=True)
    dish = next(e for e in d["entities"] if e["name"] == "dish")
    dish["fields"].append({"name": "status", "label": "Status", "type": "enum",
                           "values": ["ordered", "in_progress", "ready"]})
    from shared.engine.appspec.model import AppSpec
    return AppSpec.model_validate(d)


def test_paying_through_the_signed_webhook_unlocks_the_held_state_and_a_forged_one_does_not(tmp_path):
    s = _held_menu(state_field="status", paid_before=["in_progress"])
    assert payments.check(s.capabilities[0], s) == []
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=8, abuse=3)
    name = "test_paying_unlocks_the_move_to_in_progress_and_a_forged_webhook_does_not"
    assert run.results.get(name) == "ok", (name, run.results)
    module = files[f"app/capabilities/{s.capabilities[0].id}.py"].decode()
    assert "PAID_BEFORE = ['in_progress']" in module or 'PAID_BEFORE = ["in_progress"]' in module


def test_check_refuses_a_held_state_that_is_where_records_start_or_no_state_at_all():
    s = _held_menu(state_field="status", paid_before=["ordered"])
    assert any("is where a dish starts" in p for p in payments.check(s.capabilities[0], s))
    s = _held_menu(state_field="status", paid_before=["cooking"])
    assert any("are not values of dish.status" in p for p in payments.check(s.capabilities[0], s))
    s = _held_menu(paid_before=["in_progress"])
    assert any("paid_before needs state_field" in p for p in payments.check(s.capabilities[0], s))
