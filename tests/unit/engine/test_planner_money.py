"""Money stated in a feature's words (issue 17): a price per record or per unit, and a deposit percentage, are read
as rules, bound to the payments capability's typed parameters, and certified only when the capability carries
their numbers. Ideas written here, in domains no word list names."""

from __future__ import annotations

from shared.engine.planner import plan_builtin
from shared.engine.planner.reading import rules_of


def _idea(title: str, *features: str) -> dict:
    return {"title": title, "description": f"{title}: a small business app.", "audience": "a small team",
            "key_features": list(features)}


def _payments(spec):
    return next(c for c in spec.capabilities if c.kind == "payments")


def _trace(spec, words: str):
    return next(t for t in spec.trace if words in t.feature)


def test_a_price_per_hour_is_a_unit_price_times_the_records_hours():
    spec = plan_builtin(_idea("TuneRound - piano tuner's visits", "Tuning visits with address and piano make",
                              "Visits cost $65 per hour, paid online"))
    pay = _payments(spec)
    assert (pay.unit_price, pay.quantity_field) == (65.0, "hours"), pay
    ent = spec.entity(pay.entity)
    assert ent.field("hours").type == "decimal" and not ent.field(pay.amount_field).required
    t = _trace(spec, "$65 per hour")
    assert t.status == "planned", t.reason
    assert any(c.template == "payments.computed_amount" and c.rules for c in t.criteria)


def test_a_price_each_is_fixed_per_record():
    spec = plan_builtin(_idea("BaleBarn - hay bale orders", "Farmers order bales of hay for collection",
                              "Each bale costs £6, paid by card"))
    pay = _payments(spec)
    assert (pay.unit_price, pay.quantity_field, pay.entity) == (6.0, None, "bale"), pay
    assert _trace(spec, "£6").status == "planned", _trace(spec, "£6").reason


def test_a_deposit_percentage_is_charged_on_the_job_not_the_payer():
    spec = plan_builtin(_idea("SignCraft - hand-painted sign commissions",
                              "Commissions with client, sign size and wording",
                              "Clients pay a 30% deposit by card"))
    pay = _payments(spec)
    assert (pay.deposit_percent, pay.entity, pay.platform_fee_percent) == (30.0, "commission", None), pay
    t = _trace(spec, "30% deposit")
    assert "30% deposit" not in (t.reason or ""), t.reason  # the deposit rule is carried


def test_amounts_above_or_up_to_a_sum_are_no_prices():
    assert [r.category for r in rules_of("Expenses over £500 need approval")] == ["threshold"]
    assert "price" not in [r.category for r in rules_of("Refunds of up to $20 need no sign-off")]
    price = rules_of("Rooms cost 40 euros a night", "price")[0]
    assert (price.number, price.unit, price.nouns) == (40.0, "night", ["night"])


def test_a_percentage_is_a_deposit_only_when_the_words_next_to_it_say_so():
    from shared.engine.planner.b_flow import _stated_deposit

    assert _stated_deposit("Tutors pay 30% upfront for each course") == 30.0
    assert _stated_deposit("We keep a 10% commission and buyers pay upfront") is None  # a platform fee


def test_a_deposit_that_is_given_back_is_not_built_by_taking_it():
    spec = plan_builtin(_idea("PartyTent - marquee hire", "Customers hire a marquee for a weekend",
                              "Customers pay a 50 pound deposit per marquee, refunded after it comes back"))
    t = _trace(spec, "50 pound deposit")
    assert t.status == "partial" and "50 pound;" in (t.reason or ""), t.reason  # the price rule is not carried


def test_a_price_per_hour_of_a_booked_record_is_charged_for_the_hours_it_is_booked():
    spec = plan_builtin(_idea("BandRoom - rehearsal studio", "Bands book a rehearsal in a free slot",
                              "Rehearsals cost £12 per hour, paid by card"))
    pay = _payments(spec)
    booking = next(c for c in spec.capabilities if c.kind == "booking")
    assert (pay.entity, pay.unit_price, pay.quantity_field) == (booking.entity, 12.0, None), pay
    assert (pay.start_field, pay.end_field) == (booking.start_field, booking.end_field)
    t = _trace(spec, "£12 per hour")
    assert t.status == "planned", t.reason
    assert any("2 hours at 12.00 an hour" in c.text and "2400 minor units" in c.text for c in t.criteria)


def test_a_deposit_before_work_starts_holds_back_the_started_state_until_paid():
    spec = plan_builtin(_idea("Reframe - picture framing commissions", "Commissions with client, artwork and size",
                              "Clients pay a 40% deposit before work begins"))
    pay = _payments(spec)
    assert (pay.deposit_percent, pay.state_field, pay.paid_before) == (40.0, "status", ["in_progress"]), pay
    values = spec.entity(pay.entity).field("status").values
    assert values[0] != "in_progress" and "in_progress" in values
    from shared.engine.capabilities.payments import check
    assert check(pay, spec) == []
    t = _trace(spec, "before work begins")
    assert not any(w in (t.reason or "") for w in ("'before'", "'begins'")), t.reason
    assert any(c.template == "payments.paid_before" for c in t.criteria), t.criteria


def test_the_paid_before_criterion_moves_the_record_once_stripes_signed_webhook_says_paid(tmp_path):
    """The criterion runs against the app: refused unpaid, with a checkout open and after an unsigned 'paid'
    message; the runner then signs Stripe's checkout.session.completed with the app's webhook secret, and the
    same move succeeds."""
    from shared.engine.compiler import compile_project
    from shared.engine.criteria import compile_criterion

    from .capabilities._caps3_specs import design
    from .gate_worker import job, run_jobs

    spec = plan_builtin(_idea("Reweave - loom repair workshop", "Repairs with loom, owner and fault",
                              "Owners pay a 30% deposit before the repair starts"))
    t = _trace(spec, "before the repair starts")
    c = next(c for c in t.criteria if c.template == "payments.paid_before")
    scenario = compile_criterion(spec, c, t.feature)
    signed = [s for s in scenario["steps"] if s.get("stripe_signed")]
    assert len(signed) == 1 and scenario["steps"][-1]["expect"] == 200, scenario["steps"]
    got = run_jobs([job("reweave", compile_project(spec, design()), [scenario], tmp_path)], tmp_path, workers=1)
    result = got["reweave"][scenario["id"]]
    assert result["passed"], result
    assert result["steps_run"] == len(scenario["steps"]), result
