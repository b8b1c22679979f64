"""Capability `reminders`: name checks, routes, and the generated app's own reminder tests in three domains
(one per rule: due in N days, overdue, below a threshold)."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import reminders

from . import _ops_specs as S

IDEAS = [S.plant_care, S.library_loans, S.spare_parts]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_reminder_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 7, run.output
    for must in ("test_run_due_delivers_each_due_reminder_once", "test_later_matches_are_delivered_on_the_next_run",
                 "test_a_reminder_returns_after_its_condition_cleared",
                 "test_run_due_needs_the_scheduler_token_or_the_owner",
                 "test_a_failed_delivery_is_recorded_and_retried_a_bounded_number_of_times"):
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
