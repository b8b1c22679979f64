"""The idea corpus through the engine: verdicts for every idea, all six stages for every idea that continues."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

import pytest
import requests

from shared.engine import (
    STAGES,
    EngineConfig,
    StageInput,
    no_artifacts,
    preview,
    run_stage,
)
from shared.engine.compiler.samples import near_payload
from shared.engine.runner import run_pipeline

from .corpus import load_ideas

IDEAS = load_ideas()
CONTINUING = [i for i in IDEAS if i["expect"] in ("go", "needs_work")]
REJECTED = [i for i in IDEAS if i["expect"] == "reject"]


def test_corpus_is_large_and_varied():
    assert len(IDEAS) >= 30
    assert len({i["id"] for i in IDEAS}) == len(IDEAS)
    segments = {i["segment"] for i in IDEAS}
    assert {"b2b", "consumer", "marketplace", "bad"} <= segments
    expects = [i["expect"] for i in IDEAS]
    assert expects.count("go") >= 20 and expects.count("needs_work") >= 3 and expects.count("reject") >= 6
    needs = {n for i in IDEAS for n in i.get("expect_needs", [])}
    assert {"payments", "realtime", "ai"} <= needs
    assert any(i["expect"] == "go" and not i.get("expect_needs") for i in IDEAS)


@pytest.mark.parametrize("idea", IDEAS, ids=[i["id"] for i in IDEAS])
def test_idea_validation_verdict(idea):
    result = run_stage("idea_validation", StageInput("p-" + idea["id"], "t1", idea, {}, no_artifacts), EngineConfig())
    assert result.summary["verdict"] == idea["expect"], result.summary
    report = json.loads(result.artifacts["validation-report.json"])
    assert report["verdict"] == idea["expect"]
    assert set(result.artifacts) == {"validation-report.json", "validation-report.md"}
    for dim in ("clarity", "specificity", "market_signal"):
        assert 0 <= report["scores"][dim]["value"] <= 100
        assert report["scores"][dim]["reasons"]
    for product in report["similar_products"]:
        assert product["source_url"].startswith("https://")
    if idea["expect"] == "reject":
        assert result.outcome == "reject"
        assert result.reason and idea["expect_reason"] in result.reason
        assert result.summary["continues"] is False
    else:
        assert result.outcome == "ok" and result.reason is None
        assert result.summary["continues"] is True
    if idea["expect"] == "needs_work":
        assert report["feedback"], "needs_work must come with feedback"
        for product in idea.get("expect_products", []):
            assert product in report["clone_of"]
            assert any(product in f for f in report["feedback"])


PASSWORD = "pw-123456789"


def _session(url: str, email: str, claim_url: str | None = None) -> tuple[requests.Session, dict]:
    """A signed-in session: the owner's by the preview's claim link (`claim_url`), else by signing in."""
    sess = requests.Session()
    if claim_url:
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(claim_url).query)["token"][0]
        r = sess.post(url + "/api/auth/claim", json={"token": token, "email": email, "password": PASSWORD}, timeout=5)
    else:
        r = sess.post(url + "/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=5)
    assert r.status_code in (200, 201), r.text
    return sess, r.json()


def _make(sess, token: str, url: str, ents: dict, name: str, made: dict) -> dict:
    """Create a row of `name` (and its required referenced rows) through the live API."""
    meta = ents[name]
    payload = near_payload(meta, made.get(name, 0))  # on the real clock: inside any booking's horizon
    made[name] = made.get(name, 0) + 1
    for f in meta["fields"]:
        if f["type"] == "reference" and f["required"] and f["ref"] != name:
            payload[f["name"]] = _make(sess, token, url, ents, f["ref"], made)["id"]
    r = sess.post(f"{url}/api/{meta['plural']}", json=payload, headers={"X-CSRF-Token": token}, timeout=5)
    assert r.status_code == 201, (name, r.text)
    return r.json()


def _refuses_anonymous_and_wrong_role_writes(url: str, spec: dict, claim_url: str) -> None:
    """Against the live preview: anonymous writes get 401; a role that may not write an entity gets 403; a
    role with scope "own" gets 403 on a row someone else created (404 when it reads only its own rows)."""
    from shared.engine.appspec import AppSpec
    from shared.engine.compiler import entities_meta

    ents = entities_meta(AppSpec.model_validate(spec))
    for e in ents.values():
        r = requests.post(f"{url}/api/{e['plural']}", json={}, timeout=5)
        assert r.status_code == 401 and r.json()["error"]["code"] == "login_required", (e["name"], r.text)
    owner, me = _session(url, "owner@example.com", claim_url=claim_url)
    assert me["user"]["role"] == "owner"
    token, made, checked = me["csrf_token"], {}, 0
    for n, role in enumerate(r for r in spec["roles"] if r["name"] != "owner"):
        email = f"user{n}@example.com"
        added = owner.post(url + "/api/users", json={"email": email, "password": PASSWORD, "role": role["name"]},
                           headers={"X-CSRF-Token": token}, timeout=5)
        assert added.status_code == 201, added.text
        sess, them = _session(url, email)
        for e in ents.values():
            if e["name"] not in role["write"]:
                r = sess.post(f"{url}/api/{e['plural']}", json={}, headers={"X-CSRF-Token": them["csrf_token"]},
                              timeout=5)
            elif role["scope"] == "own":
                row = _make(owner, token, url, ents, e["name"], made)
                r = sess.patch(f"{url}/api/{e['plural']}/{row['id']}", json={},
                               headers={"X-CSRF-Token": them["csrf_token"]}, timeout=5)
            else:
                continue
            if e["name"] in role.get("read_own", []) and e["name"] in role["write"]:
                # a row the role may not even read is not there for it: 404, as for a missing row (decision 0022)
                assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (role["name"], e["name"])
            else:
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (role["name"], e["name"],
                                                                                           r.text)
            checked += 1
    assert checked or all(r["scope"] == "all" and {e["name"] for e in spec["entities"]} <= set(r["write"])
                          for r in spec["roles"])


def _pid_gone(pid: int) -> bool:
    return not preview.is_running(pid)


@pytest.mark.parametrize("idea", CONTINUING, ids=[i["id"] for i in CONTINUING])
def test_every_continuing_idea_runs_all_six_stages(idea, state_dir):
    config = EngineConfig(state_dir=state_dir)
    run = run_pipeline(idea, config, pipeline_id="corpus-" + idea["id"], tenant_id="tenant-a")
    assert run.status == "succeeded", (run.reason, run.history)
    assert [h[0] for h in run.history] == list(STAGES)

    stack = run.results["tech_stack"].summary
    assert stack["runtime"] == "python-flask" and stack["database"] == "sqlite"
    for need in idea.get("expect_needs", []):
        assert need in stack["needs"], (need, stack["needs"])

    design = run.results["uiux_design"].summary
    assert design["contrast"]["all_pass"] is True

    qa = run.results["qa"].summary
    assert qa["passed"] is True
    assert qa["tests"]["run"] > 0 and qa["tests"]["failures"] == 0 and qa["tests"]["errors"] == 0
    assert qa["tests"]["run"] == run.results["development"].summary["tests"]
    spec = json.loads(run.read("development", "app-spec.json"))
    assert qa["features_total"] == len(spec["trace"]) and 0 <= qa["features_built"] <= qa["features_total"]
    assert all(r["status"] != "built" or (r["passed"] and r["tests_total"] > 0) for r in qa["coverage"])

    deploy = run.results["deployment"].summary
    url, pid = deploy["preview"]["url"], deploy["preview"]["pid"]
    record = json.loads((preview.record_path(state_dir, "corpus-" + idea["id"])).read_text())
    assert record["pid"] == pid and record["url"] == url
    response = requests.get(url + "/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert (Path(record["dir"]) / "data" / "app.db").is_file()  # DATABASE_URL: a file under the preview's dir
    # The claim link goes to the run's server-only document; the summary every member reads has no token.
    claim_url = run.results["deployment"].private["claim"]["claim_url"]
    assert claim_url == record["claim_url"] and "token=" not in json.dumps(deploy)
    _refuses_anonymous_and_wrong_role_writes(url, spec, claim_url)
    assert preview.stop_preview("corpus-" + idea["id"], state_dir) is True
    assert _pid_gone(pid)
    assert not preview.record_path(state_dir, "corpus-" + idea["id"]).exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/health", timeout=2)


@pytest.mark.parametrize("idea", REJECTED, ids=[i["id"] for i in REJECTED])
def test_bad_ideas_stop_the_pipeline_with_a_reason(idea, state_dir):
    run = run_pipeline(idea, EngineConfig(state_dir=state_dir), pipeline_id="bad-" + idea["id"])
    assert run.status == "failed"
    assert run.history == [("idea_validation", 1, "reject")]
    assert run.reason and len(run.reason) > 20
    assert not os.path.exists(preview.previews_dir(state_dir))
