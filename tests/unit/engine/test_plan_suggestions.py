"""Issue 19's held-out test (decision 0047): for the held-out ideas (in no word list), the built-in planner's plan,
then ONLY suggested edits, accepted round after round through `planedit.apply` as the edits API applies them. Every
feature the planner left partial ends built as planned, or carries the reason no typed edit builds it, and each
such reason is checked against the spec: the library lacks the capability, or words no typed edit can express are
still unread, or no improving edit is left (the suggestions are exhausted, not hidden). The figures are printed.
QA's certification runs for real on a small sample of edited plans: the features the edits built pass QA."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from shared.engine import planedit as pe
from shared.engine import plansuggest as ps
from shared.engine.planner import plan_builtin

HELDOUT = Path(__file__).resolve().parents[2] / "fixtures" / "heldout_ideas.json"
KINDS = ("The library lacks the capability", "No typed edit can express", "No typed edit found")


def _ideas() -> list[dict]:
    return [i for i in json.loads(HELDOUT.read_text(encoding="utf-8"))["ideas"] if i.get("expect") == "go"]


@pytest.fixture(scope="module")
def outcome():
    rows = []
    for idea in _ideas():
        spec = plan_builtin(idea)
        edited, done = ps.apply_suggestions(spec)
        rows.append({"idea": idea, "spec": spec, "edited": edited, "done": done})
    return rows


def test_suggested_edits_alone_build_every_partial_feature_they_can(outcome, capsys):
    partial = built = 0
    left: Counter = Counter()
    listed = []
    for row in outcome:
        spec, edited = row["spec"], row["edited"]
        final = {x["index"]: x for x in pe.suggest(edited)}
        for i, t in enumerate(spec.trace):
            after = edited.trace[i]
            if t.status == "planned":
                assert after.status == "planned", f"{row['idea']['id']}[{i}]: an accepted suggestion broke it"
            if t.status != "partial":
                continue
            partial += 1
            if after.status == "planned":
                built += 1
                assert i not in final
                continue
            why = final[i]["none_because"]
            # exhausted, not hidden: no suggestion is left for it, and its reason is one of three, checked below
            assert final[i]["suggestions"] == [] and why == ps.why_none(edited, i), (row["idea"]["id"], i)
            kind = next(k for k in KINDS if why.startswith(k))
            if kind == "No typed edit can express":
                unread = {u.word for u in after.reading.words if u.maps_to == "unread"}
                named = ps.unexpressed(edited, i)
                assert named and all(w in unread and repr(w) in why and not ps._attribute_word(w.lower())
                                     for w in named), why
            elif kind == "The library lacks the capability":
                assert not after.capabilities and after.reason.startswith(ps.LIBRARY_LACKS)
            left[kind] += 1
            listed.append(f"  {row['idea']['id']}[{i}] {t.feature!r}: {why}")
        for d in row["done"]:  # every accepted suggestion is typed edits the API takes, with a reason
            assert d["reason"] and all(e["op"] in pe.OPS for e in d["edits"])
    with capsys.disabled():
        print(f"\nheld-out ideas {len(outcome)}: features partial before {partial}, built after suggested edits "
              f"{built}, left with reasons {sum(left.values())} ({dict(left)})")
        print("\n".join(listed))
    assert built + sum(left.values()) == partial, "every partial feature is built or reported with its reason"
    # measured 24 of 145 when written (decision 0047); the suggestions must keep building at least that many
    assert built >= 24, built


def test_every_suggestion_is_accepted_by_apply_and_improves_its_feature(outcome):
    for row in outcome[:8]:
        spec = row["spec"]
        for entry in pe.suggest(spec):
            t = spec.trace[entry["index"]]
            for s in entry["suggestions"]:
                edited = spec
                for body in s["edits"]:
                    edited, said = pe.apply(edited, body)
                    assert said
                after = edited.trace[entry["index"]]
                assert ps._score(after.status, after.not_built) > ps._score(t.status, t.not_built)
                assert (after.status == "planned") == (s["status_after"] == "built")


def test_founder_view_carries_the_suggestions(outcome):
    row = next(r for r in outcome if any(e["suggestions"] for e in pe.suggest(r["spec"])))
    v = pe.founder_view(row["spec"])
    for f, t in zip(v["features"], row["spec"].trace, strict=True):
        if t.status == "planned":
            assert f["suggested_edits"] == [] and f["no_suggestion"] is None
        else:
            assert f["suggested_edits"] or f["no_suggestion"]
    assert any(f["suggested_edits"] for f in v["features"])


def test_a_feature_the_library_cannot_build_gets_no_suggestion_and_says_why(outcome):
    lacking = [(r, i) for r in outcome for i, t in enumerate(r["spec"].trace)
               if t.status == "not_covered" and not t.capabilities and (t.reason or "").startswith(ps.LIBRARY_LACKS)]
    assert lacking
    for r, i in lacking[:5]:
        got = ps.suggest_for(r["spec"], i)
        if not got:
            assert ps.why_none(r["spec"], i).startswith("The library lacks the capability")


# QA for real on an edited plan: the pipeline in-process with the approved (edited) spec, as bench/coverage.py runs
# it; a feature counts as built when QA's report says so (its criteria pass against the running app). The idea is the
# first held-out idea (by id) whose suggestions build a feature the planner left partial: no fixed sample, so a
# planner change that builds a feature outright does not leave the test without one.


def test_the_edits_build_under_qa(outcome):
    from shared.engine import EngineConfig
    from shared.engine.runner import run_pipeline

    def fixed_in(row) -> list[int]:
        return [i for i, t in enumerate(row["spec"].trace)
                if t.status == "partial" and row["edited"].trace[i].status == "planned"]

    row = next((r for r in sorted(outcome, key=lambda r: r["idea"]["id"]) if fixed_in(r)), None)
    assert row is not None, "no held-out idea has a partial feature its suggestions build"
    idea_id, fixed = row["idea"]["id"], fixed_in(row)
    with tempfile.TemporaryDirectory(prefix="suggest-qa-") as state:
        run = run_pipeline(row["idea"], EngineConfig(state_dir=state), pipeline_id=f"sg-{idea_id}", stop_after="qa",
                           approved_spec=row["edited"])
        assert run.status == "succeeded", run.reason
        stored = json.loads(run.read("development", "app-spec.json"))
        assert stored["trace"][fixed[0]]["capabilities"] == row["edited"].trace[fixed[0]].capabilities
        report = json.loads(run.read("qa", "qa-report.json"))
    rows = report["coverage"]["features"]
    assert [rows[i]["status"] for i in fixed] == ["built"] * len(fixed), [rows[i] for i in fixed]
