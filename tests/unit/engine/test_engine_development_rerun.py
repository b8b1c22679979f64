"""Development rerun (a redelivered message, a later attempt, another process): byte-identical artifacts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from shared.engine import STAGES, EngineConfig, StageInput, run_stage
from shared.engine.artifacts import read_zip

from .corpus import idea_by_id

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# The integration journey's idea (tests/helpers.py IDEA), as the stage runner hands it over.
IDEA = {"title": "Invoice tracker for freelancers",
        "description": "Freelancers lose track of unpaid invoices; this app tracks invoices, clients and reminders.",
        "target_audience": "independent freelancers and small agencies",
        "key_features": ["create invoices", "track clients", "payment reminders"], "constraints": None}

CHILD = """
import hashlib, json, sys
from shared.engine import EngineConfig, StageInput, run_stage
idea, prior, store, state = json.loads(sys.stdin.read())
arts = {tuple(k.split("/", 1)): bytes.fromhex(v) for k, v in store.items()}
r = run_stage("development", StageInput("rerun", "t", idea, prior, lambda s, n: arts[(s, n)], attempt=2),
              EngineConfig(state_dir=state))
print(hashlib.sha256(r.artifacts["project.zip"]).hexdigest())
"""


def _prior_stages(idea, config):
    store, prior = {}, {}
    for stage in STAGES[:3]:
        r = run_stage(stage, StageInput("rerun", "t", idea, dict(prior), lambda s, n: store[(s, n)]), config)
        store.update({(stage, k): v for k, v in r.artifacts.items()})
        prior[stage] = r.summary
    return store, prior


def test_development_rerun_gives_the_same_files_in_process_and_in_another_process(state_dir):
    import hashlib

    config = EngineConfig(state_dir=state_dir)
    for idea in (IDEA, idea_by_id("kitchen-stock")):
        store, prior = _prior_stages(idea, config)
        runs = [run_stage("development", StageInput("rerun", "t", idea, dict(prior),
                                                    lambda s, n, store=store: store[(s, n)], attempt=attempt), config)
                for attempt in (1, 1, 2)]
        first = read_zip(runs[0].artifacts["project.zip"])
        for r in runs[1:]:
            files = read_zip(r.artifacts["project.zip"])
            assert [p for p in sorted(set(first) | set(files)) if first.get(p) != files.get(p)] == []
            for name in ("project.zip", "app-spec.json", "app-spec.md", "project-manifest.json"):
                assert r.artifacts[name] == runs[0].artifacts[name], name
        payload = json.dumps([idea, prior, {f"{s}/{n}": v.hex() for (s, n), v in store.items()}, str(state_dir)])
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONHASHSEED="12345")
        child = subprocess.run([sys.executable, "-c", CHILD], input=payload, capture_output=True, text=True,
                               env=env, cwd=ROOT, timeout=300, check=True)
        assert child.stdout.strip() == hashlib.sha256(runs[0].artifacts["project.zip"]).hexdigest()
