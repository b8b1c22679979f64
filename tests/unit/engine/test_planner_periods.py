"""Periods the founder's words name (issue 17, decision 0052), on ideas written for this file (in no corpus file,
no word list and not in the held-out set): an export of "the month's" rows lists one calendar period of the rows'
date, a limit "on a <noun> day" counts per day of that noun's date, and a limit "a year" counts per calendar year."""

from __future__ import annotations

from shared.engine.appspec import spec_problems
from shared.engine.planner import plan_builtin

SHEARING = {"title": "Clip Round", "description": "A sheep shearing contractor books shearing jobs on farms.",
            "key_features": ["Shearing jobs with farm, flock size and shearing date",
                             "Export the month's shearing jobs as a CSV",
                             "Export farms as CSV"]}


def _caps(spec, i, kind):
    return [c for c in (spec.capability(x) for x in spec.trace[i].capabilities) if c.kind == kind]


def test_an_export_of_the_months_rows_holds_one_month_of_their_date():
    spec = plan_builtin(SHEARING)
    assert spec_problems(spec) == []
    (cap,) = _caps(spec, 1, "export")
    assert cap.period == "month"
    (entity,) = cap.entities
    assert spec.entity(entity).field(cap.date_fields[entity]).type in ("date", "datetime")
    t = spec.trace[1]
    assert t.status == "planned", t.reason
    assert any(c.template == "export.period" for c in t.criteria), t.criteria
    # an export with no period stays a list of every row, and is not merged into the month's
    (whole,) = _caps(spec, 2, "export")
    assert whole.id != cap.id and whole.period is None and not whole.date_fields


def test_the_periodic_export_route_takes_a_day_and_its_tests_prove_it(tmp_path):
    from .capabilities import _caps3_specs as S

    spec = plan_builtin(SHEARING)
    cap = _caps(spec, 1, "export")[0]
    _files, run = S.compile_and_run(spec, tmp_path)
    plural = spec.entity(cap.entities[0]).plural
    assert run.results.get(f"test_csv_of_{plural}_holds_one_month") == "ok", run.output[-3000:]
    assert run.returncode == 0, run.output[-3000:]


def test_a_limit_on_a_named_day_counts_per_day_of_that_date():
    spec = plan_builtin({"title": "Kiln Loads", "description": "A pottery co-op fires kilns of members' pots.",
                         "key_features": ["Kiln loads with pots and a firing date",
                                          "The co-op takes no more than 5 kiln loads on a firing day"]})
    (cap,) = _caps(spec, 1, "limit")
    assert (cap.max, cap.period) == (5, "day")
    assert cap.date_field == "firing_date", cap


def test_a_limit_a_year_counts_per_calendar_year():
    spec = plan_builtin({"title": "Tool Library", "description": "A tool library lends tools to its members.",
                         "key_features": ["Tools with name and condition",
                                          "Each tool has at most 12 repairs a year"]})
    assert spec_problems(spec) == []
    (cap,) = _caps(spec, 1, "limit")
    assert (cap.max, cap.period) == (12, "year"), cap


def test_signing_up_for_a_named_day_makes_an_event_on_a_date():
    spec = plan_builtin({"title": "Beach Clean", "description": "A coastal group runs beach cleans with volunteers.",
                         "key_features": ["Volunteers sign up for a litter day",
                                          "A litter day takes no more than 20 volunteers"]})
    assert spec_problems(spec) == []
    (enrol,) = _caps(spec, 0, "enrolment")
    record = enrol.record_field.removesuffix("_id")
    assert any(f.type in ("date", "datetime") for f in spec.entity(record).fields)
    assert spec.trace[0].status == "planned", spec.trace[0].reason
    (cap,) = _caps(spec, 1, "limit")
    assert (cap.max, cap.parent_field, cap.period) == (20, enrol.record_field, None)
    assert spec.trace[1].status == "planned", spec.trace[1].reason  # "day" is the record's date, not a period


def test_a_limit_that_opens_the_sentence_counts_in_all_per_period():
    spec = plan_builtin({"title": "Skip Hire", "description": "A skip hire yard drops skips at customers' homes.",
                         "key_features": ["Skips with size and address",
                                          "Orders go from booked to dropped to collected",
                                          "No more than 9 skips go out on a drop day"]})
    # the draft keeps a record for "go" (from "orders go from ..."); the rule still counts skips, per no record
    (cap,) = _caps(spec, 2, "limit")
    assert (cap.entity, cap.scope, cap.max, cap.period, cap.date_field) == ("skip", "app", 9, "day", "drop_date")


def test_a_yearly_limit_app_refuses_the_next_row_in_the_year_and_takes_one_in_the_next(tmp_path):
    from .capabilities import _caps3_specs as S

    spec = plan_builtin({"title": "Tool Library", "description": "A tool library lends tools to its members.",
                         "key_features": ["Tools with name and condition",
                                          "Each tool has at most 3 repairs a year"]})
    (cap,) = _caps(spec, 1, "limit")
    assert cap.period == "year"
    _files, run = S.compile_and_run(spec, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    for must in ("test_the_last_place_is_taken_and_one_more_is_refused", "test_only_rows_of_the_same_period_count"):
        assert run.results.get(must) == "ok", (must, sorted(run.results))


def test_a_limit_on_a_named_day_app_refuses_one_more_that_day_and_takes_one_the_next(tmp_path):
    from .capabilities import _caps3_specs as S

    spec = plan_builtin({"title": "Skip Hire", "description": "A skip hire yard drops skips at customers' homes.",
                         "key_features": ["Skips with size and address",
                                          "No more than 4 skips go out on a drop day"]})
    (cap,) = _caps(spec, 1, "limit")
    assert (cap.scope, cap.period, cap.date_field) == ("app", "day", "drop_date")
    _files, run = S.compile_and_run(spec, tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    for must in ("test_the_last_place_is_taken_and_one_more_is_refused", "test_a_new_period_is_free",
                 "test_concurrent_writers_never_go_over_the_limit"):
        assert run.results.get(must) == "ok", (must, sorted(run.results))


def test_only_the_first_list_of_a_periodic_export_is_given_a_date():
    spec = plan_builtin({"title": "Hive Log", "description": "Beekeepers log honey harvests from their apiaries.",
                         "key_features": ["Apiaries with name and postcode",
                                          "Harvests per apiary with weight",
                                          "Export the year's harvests and apiaries as CSV"]})
    assert spec_problems(spec) == []
    (cap,) = _caps(spec, 2, "export")
    assert cap.period == "year" and list(cap.date_fields) == ["harvest"], cap
    assert not any(f.type in ("date", "datetime") for f in spec.entity("apiary").fields)  # listed whole


def test_export_check_names_a_period_without_a_date():
    from shared.engine.capabilities import export

    spec = plan_builtin(SHEARING)
    cap = _caps(spec, 1, "export")[0]
    bad = cap.model_copy(update={"date_fields": {}})
    assert any("needs date_fields" in p for p in export.check(bad, spec))
    stray = cap.model_copy(update={"period": None})
    assert any("used only with period" in p for p in export.check(stray, spec))
