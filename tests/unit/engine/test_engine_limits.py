"""Artifact size/name limits, summary size, config validation and the tech-stack decision."""

from __future__ import annotations

import json

import pytest

from shared.engine import (
    ARTIFACT_MAX_BYTES,
    RUN_MAX_BYTES,
    ArtifactLimitError,
    EngineConfig,
    StageInput,
    no_artifacts,
    run_stage,
)
from shared.engine.artifacts import check_artifacts, check_summary, make_zip, read_zip
from shared.engine.stages import StageOutput

from .corpus import idea_by_id


def test_artifact_limits():
    assert check_artifacts({"a.json": b"x" * ARTIFACT_MAX_BYTES}) == ARTIFACT_MAX_BYTES
    with pytest.raises(ArtifactLimitError, match="512 KiB"):
        check_artifacts({"big.bin": b"x" * (ARTIFACT_MAX_BYTES + 1)})
    nine = {f"part-{i}.bin": b"x" * ARTIFACT_MAX_BYTES for i in range(RUN_MAX_BYTES // ARTIFACT_MAX_BYTES + 1)}
    with pytest.raises(ArtifactLimitError, match="4 MiB"):
        check_artifacts(nine)
    for bad in ("../x", "/abs", "a//b", "", "a/../b", "dir/"):
        with pytest.raises(ArtifactLimitError):
            check_artifacts({bad: b""})
    with pytest.raises(ArtifactLimitError):
        check_artifacts({"x.txt": "not bytes"})


def test_summary_limit():
    check_summary({"k": "v" * 1000})
    with pytest.raises(ArtifactLimitError):
        check_summary({"k": "v" * 9000})


def test_run_stage_enforces_limits(monkeypatch):
    from shared.engine.stages import tech_stack

    monkeypatch.setattr(tech_stack, "run", lambda inp, config, gen: StageOutput(
        "ok", {}, {"huge.bin": b"0" * (ARTIFACT_MAX_BYTES + 10)}))
    with pytest.raises(ArtifactLimitError):
        run_stage("tech_stack", StageInput("p", "t", {}, {}, no_artifacts), EngineConfig())


def test_zip_reader_refuses_path_traversal():
    evil = make_zip({"../evil.py": b"x"})
    with pytest.raises(ArtifactLimitError):
        read_zip(evil)


def test_unknown_stage_and_engine_are_errors():
    with pytest.raises(ValueError):
        run_stage("marketing", StageInput("p", "t", {}, {}, no_artifacts), EngineConfig())
    with pytest.raises(ValueError, match="unknown engine"):
        run_stage("tech_stack", StageInput("p", "t", {}, {}, no_artifacts),
                  EngineConfig(engine_by_stage={"tech_stack": "gpt-magic"}))
    with pytest.raises(ValueError, match="fault_injection"):
        run_stage("development", StageInput("p", "t", idea_by_id("leafy"), {}, no_artifacts),
                  EngineConfig(fault_injection="meteor_strike"))


def test_llm_engine_without_base_url_is_a_config_error():
    with pytest.raises(ValueError, match="llm_base_url"):
        run_stage("tech_stack", StageInput("p", "t", idea_by_id("leafy"), {}, no_artifacts),
                  EngineConfig(engine_by_stage={"tech_stack": "llm"}))


def test_tech_stack_honours_and_falls_back():
    r = run_stage("tech_stack", StageInput("p", "t", idea_by_id("landlord-lite"), {}, no_artifacts), EngineConfig())
    decision = json.loads(r.artifacts["tech-stack.json"])
    assert decision["runtime"] == "python-flask" and decision["database"] == "sqlite"
    fallbacks = {f["requested"]: f for f in decision["preferred_stack"]["fallbacks"]}
    assert set(fallbacks) == {"Python + Django", "Cloud SQL for PostgreSQL"}
    assert "cannot be built and tested" in fallbacks["Python + Django"]["reason"]
    layers = {c["layer"]: c for c in decision["components"]}
    assert layers["payments"]["id"] == "stripe-checkout"
    assert layers["runtime"]["alternatives"] and all(a["why_not"] for a in layers["runtime"]["alternatives"])
    md = r.artifacts["tech-stack.md"].decode()
    assert "## Alternatives considered" in md and "Fallback for Python + Django" in md

    honoured = run_stage("tech_stack", StageInput("p", "t", idea_by_id("invoice-flow"), {}, no_artifacts),
                         EngineConfig())
    assert honoured.summary["preferred_stack"]["honoured"] == ["python-flask"]
    assert honoured.summary["preferred_stack"]["fallbacks"] == []


def test_needs_work_continues_and_flags():
    r = run_stage("idea_validation", StageInput("p", "t", idea_by_id("slack-clone"), {}, no_artifacts), EngineConfig())
    assert r.outcome == "ok" and r.summary["verdict"] == "needs_work" and r.summary["continues"] is True
    md = r.artifacts["validation-report.md"].decode()
    assert "NEEDS WORK" in md and "[Slack](https://slack.com)" in md


def test_odd_idea_shapes_are_normalised():
    odd = {"title": None, "description": "Dog groomers lose bookings because they manage appointments on paper.",
           "target_audience": "independent dog groomers", "key_features": "book appointments\nclient list; reminders",
           "constraints": None}
    r = run_stage("idea_validation", StageInput("p", "t", odd, {}, no_artifacts), EngineConfig())
    assert r.outcome == "ok"
    assert r.summary["features"] == ["book appointments", "client list", "reminders"]


def test_non_english_ideas_are_not_called_gibberish():
    german = {"title": "Hundesalon-Planer",
              "description": "Hundefriseure verlieren Termine, weil sie alles auf Papier planen. Die App verwaltet "
                             "Termine, Kunden und Erinnerungen für kleine Salons.",
              "target_audience": "Selbstständige Hundefriseure", "key_features": ["Termine buchen", "Kundenliste"]}
    japanese = {"title": "予約アプリ", "description": "小さな美容室のための予約管理アプリです。顧客と予約を管理します。",
                "target_audience": "美容室のオーナー", "key_features": ["予約の作成", "顧客リスト"]}
    for idea in (german, japanese):
        r = run_stage("idea_validation", StageInput("p", "t", idea, {}, no_artifacts), EngineConfig())
        assert r.outcome == "ok", r.reason
