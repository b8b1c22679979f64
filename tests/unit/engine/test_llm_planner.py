"""The LLM planner against the fake OpenAI-compatible server: the spec, its repairs, a clear failure."""

from __future__ import annotations

import json

import pytest

from shared.engine import EngineConfig, LLMOutputInvalid, StageInput, run_stage
from shared.engine.appspec import AppSpec, spec_problems
from shared.engine.generators import BuiltinGenerator, LLMGenerator
from shared.engine.planner import plan_builtin, plan_spec

from .corpus import idea_by_id
from .fake_llm import FakeLLM

IDEA = idea_by_id("kiln-share")


def _good() -> dict:
    spec = plan_builtin(IDEA)
    assert spec_problems(spec) == []
    return spec.model_dump(mode="json")


def _gen(fake: FakeLLM, **kw) -> LLMGenerator:
    cfg = {"llm_base_url": fake.base_url, "llm_api_key": "k", "llm_timeout_s": 5.0, "llm_backoff_s": 0.01,
           "llm_max_repairs": 2}
    cfg.update(kw)
    return LLMGenerator(EngineConfig(**cfg))


def _last_user_message(request: dict) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


def test_a_good_spec_is_used_as_it_is():
    good = _good()
    with FakeLLM([{"content": good}]) as fake:
        gen = _gen(fake)
        spec = plan_spec({"idea": IDEA, "feedback": None}, gen)
    assert isinstance(spec, AppSpec) and spec.model_dump(mode="json") == good
    assert len(fake.requests) == 1 and gen.usage()["llm_repairs"] == 0
    system = fake.requests[0]["messages"][0]["content"]
    assert "trace" in system and '"discriminator"' in system  # the documented shape and AppSpec's JSON schema
    context = json.loads(fake.requests[0]["messages"][1]["content"])["context"]
    assert context["idea"]["key_features"] == IDEA["key_features"]
    assert {k["kind"] for k in context["capability_kinds"]} >= {"booking", "ledger"}


def test_an_unresolved_reference_is_sent_back_and_repaired():
    good = _good()
    broken = json.loads(json.dumps(good))
    firing = next(e for e in broken["entities"] if e["name"] == "firing")
    ref = next(f for f in firing["fields"] if f["name"] == "kiln_id")
    ref["ref"] = "oven"  # no such entity
    with FakeLLM([{"content": broken}, {"content": good}]) as fake:
        spec = plan_spec({"idea": IDEA, "feedback": None}, _gen(fake))
    assert spec.entity("firing").field("kiln_id").ref == "kiln"
    assert len(fake.requests) == 2
    repair = _last_user_message(fake.requests[1])
    assert "references unknown entity 'oven'" in repair and "firing.kiln_id" in repair


def test_a_trace_that_omits_a_feature_is_sent_back_and_repaired():
    good = _good()
    broken = json.loads(json.dumps(good))
    dropped = broken["trace"].pop(2)["feature"]
    with FakeLLM([{"content": broken}, {"content": good}]) as fake:
        spec = plan_spec({"idea": IDEA, "feedback": None}, _gen(fake))
    assert dropped in [t.feature for t in spec.trace]
    repair = _last_user_message(fake.requests[1])
    assert "missing from the trace" in repair and dropped in repair


def test_dropping_a_feature_from_features_does_not_escape_the_trace_check():
    good = _good()
    broken = json.loads(json.dumps(good))
    gone = broken["features"].pop(0)
    broken["trace"] = [t for t in broken["trace"] if t["feature"] != gone]
    with FakeLLM([{"content": broken}, {"content": good}]) as fake:
        plan_spec({"idea": IDEA, "feedback": None}, _gen(fake))
    assert "missing from 'features'" in _last_user_message(fake.requests[1])


def test_a_spec_that_stays_invalid_is_a_clear_failure():
    broken = _good()
    broken["trace"] = broken["trace"][:1]
    with FakeLLM([{"content": broken}]) as fake:
        with pytest.raises(LLMOutputInvalid) as err:
            plan_spec({"idea": IDEA, "feedback": None}, _gen(fake, llm_max_repairs=1))
    assert len(fake.requests) == 2
    assert "still invalid after 1 repairs" in str(err.value) and "missing from the trace" in str(err.value)


def test_the_development_stage_rejects_with_the_reason(tmp_path):
    broken = _good()
    broken["entities"][0]["fields"][0]["type"] = "colour"  # not a field type
    with FakeLLM([{"content": broken}]) as fake:
        config = EngineConfig(engine_by_stage={"development": "llm"}, llm_base_url=fake.base_url,
                              llm_api_key="k", llm_timeout_s=5.0, llm_max_repairs=1, state_dir=str(tmp_path))
        r = run_stage("development", StageInput("p-llm", "t", IDEA, {}, lambda s, n: (_ for _ in ()).throw(KeyError(n))),
                      config)
    assert r.outcome == "reject" and "app_spec" in r.reason and "did not match the schema" in r.reason


def test_the_builtin_engine_plans_through_the_same_entry_point():
    spec = plan_spec({"idea": IDEA, "feedback": None}, BuiltinGenerator())
    assert spec.model_dump(mode="json") == _good()


def test_a_reading_that_drops_a_word_is_sent_back_and_repaired():
    good = _good()
    broken = json.loads(json.dumps(good))
    words = broken["trace"][0]["reading"]["words"]
    dropped = words.pop(0)["word"]
    with FakeLLM([{"content": broken}, {"content": good}]) as fake:
        spec = plan_spec({"idea": IDEA, "feedback": None}, _gen(fake))
    assert len(fake.requests) == 2
    assert f"drops the words ['{dropped}']" in _last_user_message(fake.requests[1])
    assert [u.word for u in spec.trace[0].reading.words][0] == dropped


def test_a_models_planned_status_is_recomputed_from_its_reading():
    """The model may write `planned`; a rule its reading states and no capability carries makes it partial."""
    good = _good()
    claimed = json.loads(json.dumps(good))
    t = next(t for t in claimed["trace"] if t["status"] == "planned")
    t["feature"] = t["feature"] + " at most 3"
    i = claimed["trace"].index(t)
    claimed["features"][i] = t["feature"]
    t["reading"]["rules"].append({"category": "limit", "words": "at most 3", "number": 3, "unit": None,
                                  "nouns": []})
    n = len(t["reading"]["rules"]) - 1
    t["reading"]["words"] += [{"word": "most", "maps_to": f"rule:{n}"}, {"word": "3", "maps_to": f"rule:{n}"}]
    idea = dict(IDEA, key_features=claimed["features"])
    with FakeLLM([{"content": claimed}]) as fake:
        spec = plan_spec({"idea": idea, "feedback": None}, _gen(fake))
    out = spec.trace[i]
    assert out.status == "partial" and any("at most 3" in nb for nb in out.not_built), out
