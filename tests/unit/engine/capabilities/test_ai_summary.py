"""Capability `ai_summary`: name checks, routes and the generated app's own tests (offline engine and a fake
OpenAI-compatible server on loopback) in two domains: dish summaries and feedback classification."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import spec_problems
from shared.engine.capabilities import ai_summary

from . import _caps3_specs as S


@pytest.mark.parametrize("idea, must", [
    ("caps3_menu", ["test_offline_summary_without_a_key_is_extractive_and_stored",
                    "test_llm_summary_through_openai_compatible_settings", "test_changed_text_is_summarised_again"]),
    ("caps3_academy", ["test_offline_keyword_classifier_without_a_key",
                       "test_llm_classification_through_openai_compatible_settings",
                       "test_abuse_a_model_answer_outside_the_labels_is_not_stored"]),
])
def test_generated_ai_summary_tests_pass(idea, must, tmp_path):
    s = S.spec(idea, "ai_summary")
    files, run = S.compile_and_run(s, tmp_path)
    S.assert_all_pass(run, minimum=6, abuse=3)
    for name in must + ["test_abuse_llm_errors_and_timeouts_fall_back"]:
        assert run.results.get(name) == "ok", (name, sorted(run.results))
    module = files[f"app/capabilities/{s.capabilities[0].id}.py"].decode()
    assert "LLM_BASE_URL" in module and "timeout=" in module
    assert b"| `LLM_API_KEY` |" in files["README.md"]


def test_routes_let_readers_see_and_writers_run():
    s = S.spec("caps3_academy", "ai_summary")
    routes = {(r.method, r.path): r.roles for r in ai_summary.routes(s.capabilities[0], s)}
    assert routes[("GET", "/api/feedback_triage/feedback_notes/<int:record_id>")] == [
        "owner", "instructor", "student", "auditor"]
    assert routes[("POST", "/api/feedback_triage/feedback_notes/<int:record_id>/run")] == ["owner", "student"]


@pytest.mark.parametrize("idea, change, words", [
    ("caps3_menu", {"source_field": "price"}, ["money field but must be text or long_text", "description"]),
    ("caps3_menu", {"source_field": "blurb"}, ["'blurb' is not a field of 'dish'"]),
    ("caps3_menu", {"entity": "recipe"}, ["'recipe' is not an entity"]),
    ("caps3_academy", {"labels": ["praise"]}, ["at least two labels"]),
    ("caps3_menu", {"labels": ["praise", "complaint"]}, ["only for mode 'classification'"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    s = S.spec(idea, "ai_summary", **change)
    problems = ai_summary.check(s.capabilities[0], s)
    text = " | ".join(problems)
    for w in words:
        assert w in text, (w, problems)
    assert any(s.capabilities[0].id in p for p in spec_problems(s))
