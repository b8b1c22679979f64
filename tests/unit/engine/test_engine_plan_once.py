"""Plan once (decision 0021): the design stage plans and stores the app spec; development, QA and deployment read
it; a QA loop-back repairs the stored spec through the generator's repair path instead of planning again."""

from __future__ import annotations

import io
import json
import zipfile

from shared.engine import EngineConfig, StageInput, run_stage
from shared.engine import planner as planner_module
from shared.engine.appspec import AppSpec
from shared.engine.generators import BuiltinGenerator
from shared.engine.planner import plan_builtin
from shared.engine.runner import run_pipeline
from shared.engine.schemas import DesignProposal
from shared.engine.specstore import StoredSpec
from shared.engine.stages.qa import spec_match

from .corpus import idea_by_id
from .fake_llm import FakeLLM

IDEA = idea_by_id("invoice-flow")
WIREFRAME_KINDS = ("home", "list", "capability")


def _with_client_notes(spec: dict) -> dict:
    """A spec the built-in planner would not write: one more record (a model's own reading of the idea)."""
    spec = json.loads(json.dumps(spec))
    spec["entities"].append({
        "name": "client_note", "plural": "client_notes", "label": "Client note", "label_plural": "Client notes",
        "fields": [{"name": "title", "label": "Title", "type": "text", "required": True,
                    "source": "Client list with contact details"}],
        "display_field": "title", "source": "Client list with contact details"})
    spec["pages"] += [
        {"id": "client_notes", "path": "/client_notes", "title": "Client notes", "kind": "list", "entity": "client_note"},
        {"id": "client_note_detail", "path": "/client_notes/<int:id>", "title": "Client note", "kind": "detail",
         "entity": "client_note"},
        {"id": "client_note_form", "path": "/client_notes/new", "title": "New client note", "kind": "form",
         "entity": "client_note"}]
    spec["navigation"].append({"label": "Client notes", "page": "client_notes"})
    for role in spec["roles"]:
        for key in ("read", "write"):
            if role[key]:
                role[key].append("client_note")
    return spec


def _task(body: dict) -> str:
    return json.loads(body["messages"][1]["content"])["task"]


def _design_system(body: dict) -> dict:
    context = json.loads(body["messages"][1]["content"])["context"]
    return BuiltinGenerator().generate("design_system", context, DesignProposal).model_dump(mode="json")


def _llm_config(fake: FakeLLM, state_dir: str, **kw) -> EngineConfig:
    return EngineConfig(engine_by_stage={"uiux_design": "llm", "development": "llm"}, llm_base_url=fake.base_url,
                        llm_api_key="k", llm_timeout_s=10.0, llm_backoff_s=0.01, state_dir=state_dir, **kw)


def _wireframed(spec: AppSpec) -> set[str]:
    return {f"wireframes/{p.id.replace('_', '-')}.svg" for p in spec.pages if p.kind in WIREFRAME_KINDS}


def _project_spec(project_zip: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(project_zip)) as zf:
        return json.loads(zf.read("app/spec.json"))


def test_under_the_llm_engine_the_wireframes_show_the_app_that_is_built(state_dir):
    model_spec = _with_client_notes(plan_builtin(IDEA).model_dump(mode="json"))

    def responder(body):
        task = _task(body)
        return {"content": _design_system(body) if task == "design_system" else model_spec}

    with FakeLLM(responder=responder) as fake:
        run = run_pipeline(IDEA, _llm_config(fake, state_dir), pipeline_id="plan-once-llm", stop_after="development")
    assert run.status == "succeeded", run.reason
    assert [_task(r) for r in fake.requests].count("app_spec") == 1  # planned once, by the design stage
    built = AppSpec.model_validate_json(run.read("development", "app-spec.json"))
    assert "client_note" in [e.name for e in built.entities]  # the model's spec is the one built
    sitemap = json.loads(run.read("uiux_design", "sitemap.json"))
    assert [e["name"] for e in sitemap["entities"]] == [e.name for e in built.entities]
    assert [e["name"] for e in _project_spec(run.read("development", "project.zip"))["entities"]] == \
        [e.name for e in built.entities]
    wireframes = {name for (stage, name) in run.artifacts if stage == "uiux_design" and name.startswith("wireframes/")}
    assert wireframes == _wireframed(built)
    assert "Client notes" in run.read("uiux_design", "wireframes/client-notes.svg").decode()
    assert run.results["uiux_design"].summary["pages"] == [p["id"] for p in sitemap["pages"]]
    assert run.read("uiux_design", "app-spec.json") == run.read("development", "app-spec.json")


def _count_planning(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    original = planner_module.plan_builtin

    def counting(idea, kinds=None):
        calls.append(idea)
        return original(idea, kinds)

    monkeypatch.setattr(planner_module, "plan_builtin", counting)
    return calls


def _spy_repairs(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    original = BuiltinGenerator.repair

    def spying(self, task, context, schema, previous, problems, check=None):
        calls.append((task, previous, list(problems)))
        return original(self, task, context, schema, previous, problems, check)

    monkeypatch.setattr(BuiltinGenerator, "repair", spying)
    return calls


def test_a_run_that_passes_qa_plans_exactly_once(monkeypatch, state_dir):
    plans, repairs = _count_planning(monkeypatch), _spy_repairs(monkeypatch)
    run = run_pipeline(idea_by_id("billable"), EngineConfig(state_dir=state_dir), pipeline_id="plan-once-pass",
                       stop_after="qa")
    assert run.status == "succeeded", run.reason
    assert run.results["qa"].summary["passed"] is True
    assert len(plans) == 1 and repairs == []
    assert run.results["development"].summary["spec"]["origin"] == "stored"
    assert run.results["qa"].summary["spec"] == {"revision": 1, "sha256": run.results["uiux_design"].summary["spec"][
        "sha256"], "matches_project": True}


def test_a_qa_loop_back_repairs_the_stored_spec_instead_of_planning_again(monkeypatch, state_dir):
    plans, repairs = _count_planning(monkeypatch), _spy_repairs(monkeypatch)
    run = run_pipeline(idea_by_id("billable"), EngineConfig(state_dir=state_dir, fault_injection="failing_test"),
                       pipeline_id="plan-once-loop", stop_after="qa")
    assert run.status == "succeeded", run.reason
    assert [o for s, _a, o in run.history if s == "qa"] == ["loop_back", "ok"]
    assert len(plans) == 1  # the design stage's plan; neither development attempt planned
    assert len(repairs) == 1
    task, previous, problems = repairs[0]
    assert task == "app_spec"
    assert previous == AppSpec.model_validate_json(run.read("uiux_design", "app-spec.json"))
    assert any("T001" in p and "tests/test_injected_fault.py" in p for p in problems), problems
    spec = run.results["development"].summary["spec"]
    assert spec["repair"]["status"] == "unchanged" and spec["revision"] == 1  # the built-in engine keeps its spec
    assert run.read("development", "app-spec.json") == run.read("uiux_design", "app-spec.json")


def test_an_llm_repair_becomes_the_next_revision_and_a_design_rerun_draws_it(state_dir):
    first = plan_builtin(IDEA).model_dump(mode="json")
    repaired = _with_client_notes(first)

    def responder(body):
        if _task(body) == "design_system":
            return {"content": _design_system(body)}
        repairing = any(m["role"] == "assistant" for m in body["messages"])
        return {"content": repaired if repairing else first}

    with FakeLLM(responder=responder) as fake:
        config = _llm_config(fake, state_dir, fault_injection="failing_test")
        run = run_pipeline(IDEA, config, pipeline_id="plan-once-repair", stop_after="qa")
        assert run.status == "succeeded", run.reason
        spec_calls = [r for r in fake.requests if _task(r) == "app_spec"]
        assert len(spec_calls) == 2  # the plan (design) and the repair (development after QA)
        repair_messages = spec_calls[1]["messages"]
        assert [m["role"] for m in repair_messages] == ["system", "user", "assistant", "user"]
        assert json.loads(repair_messages[2]["content"]) == json.loads(run.read("uiux_design", "app-spec.json"))
        assert "T001" in repair_messages[3]["content"] and "418" in repair_messages[3]["content"]

        history = json.loads(run.read("development", "app-spec-history.json"))
        assert history["revision"] == 2
        assert [(r["revision"], r["stage"], r["origin"]) for r in history["revisions"]] == [
            (1, "uiux_design", "planned"), (2, "development", "repaired")]
        assert history["revisions"][1]["changes"]["entities"] == {"added": ["client_note"], "removed": []}
        built = AppSpec.model_validate_json(run.read("development", "app-spec.json"))
        assert "client_note" in [e.name for e in built.entities]
        assert _project_spec(run.read("development", "project.zip"))["entities"][-1]["name"] == "client_note"
        assert run.results["qa"].summary["spec"]["revision"] == 2
        assert run.results["qa"].summary["spec"]["matches_project"] is True

        # design runs again: it draws the stored (repaired) spec and plans nothing
        again = run_stage("uiux_design", StageInput("plan-once-repair", "t", IDEA, {}, run.read), config)
        assert [_task(r) for r in fake.requests].count("app_spec") == 2
    assert again.outcome == "ok"
    assert again.summary["spec"]["revision"] == 2 and again.summary["spec"]["origin"] == "stored"
    assert "client_note" in again.summary["entities"]
    assert "wireframes/client-notes.svg" in again.artifacts
    assert again.artifacts["app-spec.json"] == run.read("development", "app-spec.json")


def test_qa_and_deployment_refuse_a_project_not_built_from_the_stored_spec(state_dir):
    run = run_pipeline(IDEA, EngineConfig(state_dir=state_dir), pipeline_id="plan-once-stale",
                       stop_after="development")
    files = {"app/spec.json": run.read("development", "app-spec.json")}
    stored = AppSpec.model_validate_json(run.read("uiux_design", "app-spec.json"))
    assert spec_match(files, StoredSpec(stored, {"revision": 1}, "uiux_design"))["matches_project"] is True
    newer = AppSpec.model_validate(_with_client_notes(stored.model_dump(mode="json")))
    assert spec_match(files, StoredSpec(newer, {"revision": 2}, "development"))["matches_project"] is False

    store = dict(run.artifacts)
    manifest = json.loads(store[("development", "project-manifest.json")])
    manifest["spec_sha256"] = "0" * 64  # built from some other revision
    store[("development", "project-manifest.json")] = json.dumps(manifest).encode()
    r = run_stage("deployment", StageInput("plan-once-stale", "t", IDEA, {"qa": {"passed": True}},
                                           lambda s, n: store[(s, n)]), EngineConfig(state_dir=state_dir))
    assert r.outcome == "reject" and "stored spec is revision 1" in r.reason
