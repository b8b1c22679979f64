"""The LLM engine against a local fake OpenAI-compatible server."""

from __future__ import annotations

import json
import time

import pytest

from shared.engine import (
    STAGES,
    BudgetExceeded,
    EngineConfig,
    EngineConfigError,
    StageInput,
    TransientEngineError,
    no_artifacts,
    run_stage,
)
from shared.engine.appspec import AppSpec
from shared.engine.generators import BuiltinGenerator, LLMGenerator
from shared.engine.runner import run_pipeline
from shared.engine.schemas import (
    DeployPlan,
    DesignProposal,
    QAReview,
    TechStackDecision,
    ValidationReport,
)
from shared.engine.stages.idea_validation import build_report

from .corpus import idea_by_id
from .fake_llm import FakeLLM

IDEA = idea_by_id("invoice-flow")
SCHEMA_TASK = {
    "ValidationReport": ("validation_report", ValidationReport),
    "TechStackDecision": ("tech_stack", TechStackDecision),
    "DesignProposal": ("design_system", DesignProposal),
    "AppSpec": ("app_spec", AppSpec),
    "QAReview": ("qa_review", QAReview),
    "DeployPlan": ("deploy_plan", DeployPlan),
}


def _good_report(idea=IDEA) -> dict:
    return build_report(idea).model_dump(mode="json")


def _config(fake: FakeLLM, state_dir: str, **kw) -> EngineConfig:
    base = {"engine_by_stage": {"idea_validation": "llm"}, "llm_base_url": fake.base_url, "llm_api_key": "test-key",
            "llm_timeout_s": 2.0, "llm_backoff_s": 0.05, "state_dir": state_dir}
    base.update(kw)
    return EngineConfig(**base)


def _validate(config):
    return run_stage("idea_validation", StageInput("llm-1", "t", IDEA, {}, no_artifacts), config)


def test_good_answer_is_used_and_usage_is_costed(state_dir):
    with FakeLLM([{"content": _good_report(), "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}]) as fake:
        r = _validate(_config(fake, state_dir))
    assert r.outcome == "ok" and r.summary["verdict"] == "go"
    assert r.usage["engine"] == "llm"
    assert (r.usage["tokens_in"], r.usage["tokens_out"]) == (1000, 500)
    assert r.usage["cost_usd"] == pytest.approx(1000 / 1000 * 0.00015 + 500 / 1000 * 0.0006)
    body = fake.requests[0]
    assert body["model"] == "gpt-4o-mini" and body["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in body["messages"][0]["content"] and "verdict" in body["messages"][0]["content"]
    assert json.loads(body["messages"][1]["content"])["context"]["idea"]["title"] == "InvoiceFlow"
    assert fake.headers[0]["Authorization"] == "Bearer test-key"


def test_malformed_json_is_repaired(state_dir):
    steps = [{"content": "Sure! {\"problem\": oops"}, {"content": "```json\n" + json.dumps(_good_report()) + "\n```"}]
    with FakeLLM(steps) as fake:
        r = _validate(_config(fake, state_dir))
    assert r.outcome == "ok"
    assert r.usage["llm_calls"] == 2 and r.usage["llm_repairs"] == 1
    repair_msg = fake.requests[1]["messages"][-1]["content"]
    assert "not valid JSON" in repair_msg
    assert fake.requests[1]["messages"][-2] == {"role": "assistant", "content": "Sure! {\"problem\": oops"}


def test_schema_violation_is_repaired(state_dir):
    bad = dict(_good_report(), verdict="maybe")
    with FakeLLM([{"content": bad}, {"content": _good_report()}]) as fake:
        r = _validate(_config(fake, state_dir))
    assert r.outcome == "ok" and r.usage["llm_repairs"] == 1
    assert "verdict" in fake.requests[1]["messages"][-1]["content"]


def test_hallucinated_product_is_sent_back(state_dir):
    bad = _good_report()
    bad["similar_products"] = [{"name": "InvoiceMagic 3000", "source_url": "https://example.com", "category": "x"}]
    with FakeLLM([{"content": bad}, {"content": _good_report()}]) as fake:
        r = _validate(_config(fake, state_dir))
    assert r.outcome == "ok"
    assert "not in catalogue_matches" in fake.requests[1]["messages"][-1]["content"]


def test_schema_violations_fail_after_max_repairs(state_dir):
    bad = dict(_good_report())
    del bad["scores"]
    with FakeLLM([{"content": bad}]) as fake:
        r = _validate(_config(fake, state_dir, llm_max_repairs=2))
    assert r.outcome == "reject"
    assert "after 2 repairs" in r.reason and "scores" in r.reason
    assert len(fake.requests) == 3
    assert r.usage["tokens_in"] == 300  # spend is still reported


def test_timeouts_become_transient_after_bounded_retries(state_dir):
    with FakeLLM([{"sleep": 1.5, "content": _good_report()}]) as fake:
        started = time.monotonic()
        with pytest.raises(TransientEngineError, match="timed out"):
            _validate(_config(fake, state_dir, llm_timeout_s=0.3, llm_max_retries=2))
        elapsed = time.monotonic() - started
    assert len(fake.requests) == 3
    assert elapsed < 6


def test_server_errors_are_retried(state_dir):
    with FakeLLM([{"status": 503}, {"status": 502}, {"content": _good_report()}]) as fake:
        r = _validate(_config(fake, state_dir))
    assert r.outcome == "ok" and r.usage["llm_http_retries"] == 2 and len(fake.requests) == 3


def test_429_backs_off_honouring_retry_after(state_dir):
    steps = [{"status": 429, "headers": {"Retry-After": "1"}}, {"content": _good_report()}]
    with FakeLLM(steps) as fake:
        r = _validate(_config(fake, state_dir))
    assert r.outcome == "ok"
    gap = fake.request_times[1] - fake.request_times[0]
    assert 0.9 <= gap < 3, gap


def test_429_wait_is_capped(state_dir):
    steps = [{"status": 429, "headers": {"Retry-After": "3600"}}, {"content": _good_report()}]
    with FakeLLM(steps) as fake:
        r = _validate(_config(fake, state_dir, llm_max_backoff_s=0.2))
    assert r.outcome == "ok"
    assert fake.request_times[1] - fake.request_times[0] < 2


def test_persistent_429_is_transient(state_dir):
    with FakeLLM([{"status": 429, "headers": {"Retry-After": "0"}}]) as fake, \
            pytest.raises(TransientEngineError, match="429"):
        _validate(_config(fake, state_dir, llm_max_retries=2))
    assert len(fake.requests) == 3


def test_budget_is_enforced(state_dir):
    usage = {"prompt_tokens": 10**6, "completion_tokens": 10**6}
    with FakeLLM([{"content": _good_report(), "usage": usage}]) as fake, pytest.raises(BudgetExceeded):
        _validate(_config(fake, state_dir, llm_max_cost_usd=0.01))


def test_bad_ideas_are_rejected_without_a_model_call(state_dir):
    with FakeLLM([{"content": _good_report()}]) as fake:
        r = run_stage("idea_validation", StageInput("llm-2", "t", idea_by_id("ransomware"), {}, no_artifacts),
                      _config(fake, state_dir))
    assert r.outcome == "reject" and fake.requests == []


def _mirror_builtin(body: dict) -> dict:
    """A 'model' that answers every task with what the built-in engine would produce."""
    payload = json.loads(body["messages"][1]["content"])
    task = payload["task"]
    schema = next(s for t, s in SCHEMA_TASK.values() if t == task)
    obj = BuiltinGenerator().generate(task, payload["context"], schema)
    return {"content": obj.model_dump(mode="json"), "usage": {"prompt_tokens": 50, "completion_tokens": 20}}


def test_every_stage_can_run_on_the_llm_engine(state_dir):
    with FakeLLM(responder=_mirror_builtin) as fake:
        config = EngineConfig(engine_by_stage={s: "llm" for s in STAGES}, llm_base_url=fake.base_url,
                              state_dir=state_dir)
        run = run_pipeline(IDEA, config, pipeline_id="llm-all")
    assert run.status == "succeeded", run.reason
    calls = {"uiux_design": 2, "development": 0}  # design plans the app spec (once); development compiles it
    for stage in STAGES:
        assert run.results[stage].usage["engine"] == "llm"
        assert run.results[stage].usage["tokens_in"] == 50 * calls.get(stage, 1), stage
    assert {json.loads(r["messages"][1]["content"])["task"] for r in fake.requests} == {t for t, _ in SCHEMA_TASK.values()}
    assert run.results["qa"].summary["passed"] is True


def test_llm_tech_stack_must_stay_runnable(state_dir):
    good = BuiltinGenerator().generate("tech_stack", {"idea": IDEA}, TechStackDecision).model_dump(mode="json")
    bad = json.loads(json.dumps(good))
    bad["runtime"] = "node-express"
    for comp in bad["components"]:
        if comp["layer"] == "runtime":
            comp["id"], comp["name"] = "node-express", "Node.js + Express"
    with FakeLLM([{"content": bad}, {"content": good}]) as fake:
        config = EngineConfig(engine_by_stage={"tech_stack": "llm"}, llm_base_url=fake.base_url, state_dir=state_dir)
        r = run_stage("tech_stack", StageInput("ts", "t", IDEA, {}, no_artifacts), config)
    assert r.outcome == "ok" and r.summary["runtime"] == "python-flask"
    assert "not runnable here" in fake.requests[1]["messages"][-1]["content"]


def test_json_schema_response_format_sends_the_task_schema(state_dir):
    with FakeLLM([{"content": {"verdict": "maybe"}}, {"content": _good_report()}]) as fake:
        r = _validate(_config(fake, state_dir, llm_response_format="json_schema"))
    assert r.outcome == "ok" and r.usage["llm_repairs"] == 1
    for body in fake.requests:  # the repair round asks for the same schema
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "validation_report"
        assert fmt["json_schema"]["schema"] == ValidationReport.model_json_schema()
        assert fmt["json_schema"]["strict"] is False


def test_json_object_schema_response_format_puts_the_schema_beside_json_object(state_dir):
    with FakeLLM([{"content": _good_report()}]) as fake:
        r = _validate(_config(fake, state_dir, llm_response_format="json_object_schema"))
    assert r.outcome == "ok"
    assert fake.requests[0]["response_format"] == {"type": "json_object",
                                                   "schema": ValidationReport.model_json_schema()}


def test_unknown_response_format_is_a_config_error(state_dir):
    with FakeLLM([{"content": _good_report()}]) as fake, pytest.raises(EngineConfigError, match="llm_response_format"):
        LLMGenerator(_config(fake, state_dir, llm_response_format="xml"))
    assert fake.requests == []
