"""Same StageInput -> byte-identical artifacts, for every stage."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

from shared.engine import (
    STAGES,
    EngineConfig,
    StageInput,
    no_artifacts,
    preview,
    run_stage,
)
from shared.engine.artifacts import TAR_MTIME, ZIP_EPOCH

from .corpus import idea_by_id


def _run_twice(stage, inp, config):
    first = run_stage(stage, inp, config)
    if stage == "deployment":
        preview.stop_preview(inp.pipeline_id, config.state_dir)
    second = run_stage(stage, inp, config)
    if stage == "deployment":
        preview.stop_preview(inp.pipeline_id, config.state_dir)
    return first, second


def test_every_stage_is_deterministic(state_dir):
    # realtime + multi-tenancy + payments: exercises the most template branches
    idea = idea_by_id("truck-order")
    config = EngineConfig(state_dir=state_dir)
    store: dict[tuple[str, str], bytes] = {}
    prior: dict[str, dict] = {}
    for stage in STAGES:
        inp = StageInput("det-1", "tenant-a", idea, dict(prior), lambda s, n: store[(s, n)])
        first, second = _run_twice(stage, inp, config)
        assert first.outcome == "ok", (stage, first.reason)
        assert first.artifacts.keys() == second.artifacts.keys()
        for name in first.artifacts:
            assert first.artifacts[name] == second.artifacts[name], f"{stage}/{name} differs between runs"
        if stage != "deployment":
            assert first.summary == second.summary
        for name, data in first.artifacts.items():
            store[(stage, name)] = data
        prior[stage] = first.summary

    with zipfile.ZipFile(io.BytesIO(store[("development", "project.zip")])) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert all(info.date_time == ZIP_EPOCH for info in zf.infolist())
    raw = store[("deployment", "source.tar.gz")]
    assert int.from_bytes(raw[4:8], "little") == TAR_MTIME  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tf:
        members = tf.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {m.mtime for m in members} == {TAR_MTIME} and {m.uid for m in members} == {0}
        assert "Dockerfile" in [m.name for m in members]


def test_different_ideas_give_different_projects(state_dir):
    config = EngineConfig(state_dir=state_dir)
    digests = set()
    for idea_id in ("invoice-flow", "week-plate"):
        idea = idea_by_id(idea_id)
        r = run_stage("development", StageInput("d", "t", idea, {}, no_artifacts), config)
        digests.add(r.summary["project_sha256"])
    assert len(digests) == 2


def test_failing_qa_report_is_deterministic(state_dir):
    config = EngineConfig(state_dir=state_dir, fault_injection="failing_test")
    idea = idea_by_id("leafy")
    dev = run_stage("development", StageInput("det-qa", "t", idea, {}, no_artifacts), config)
    store = {("development", k): v for k, v in dev.artifacts.items()}
    inp = StageInput("det-qa", "t", idea, {}, lambda s, n: store[(s, n)])
    first, second = run_stage("qa", inp, config), run_stage("qa", inp, config)
    assert first.outcome == second.outcome == "loop_back"
    assert first.artifacts == second.artifacts
    report = first.artifacts["qa-report.json"].decode()
    assert "Ran " in report and " in 0." not in report and "/tmp/" not in report
