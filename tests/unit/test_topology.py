import json
from pathlib import Path

from emulator.frontdoor import glob_to_regex
from shared import topology

ROOT = Path(__file__).resolve().parents[2]


def rewrites():
    return json.loads((ROOT / "firebase.json").read_text())["hosting"]["rewrites"]


def test_every_public_http_function_has_a_rewrite_and_every_rewrite_a_function():
    services = {r["run"]["serviceId"] for r in rewrites()}
    public_http = {f.service_id for f in topology.FUNCTIONS if f.signature == "http" and f.public}
    assert services == public_http
    internal = {f.service_id for f in topology.FUNCTIONS if not f.public}
    assert not services & internal, "internal functions must not be reachable through Hosting"


def test_every_function_has_its_source_and_entry_point():
    for f in topology.FUNCTIONS:
        src = ROOT / "functions" / f.name / "main.py"
        assert src.exists(), src
        assert f"def {f.target}(" in src.read_text(), f"{src} lacks entry point {f.target}"


def test_ports_are_unique_and_do_not_clash_with_emulators():
    emu = json.loads((ROOT / "firebase.json").read_text())["emulators"]
    emu_ports = {v["port"] for v in emu.values() if isinstance(v, dict) and "port" in v}
    fn_ports = [f.port for f in topology.FUNCTIONS]
    assert len(fn_ports) == len(set(fn_ports))
    assert not emu_ports & set(fn_ports)


def test_stage_chain_and_subscriptions():
    assert topology.next_stage("idea_validation") == "tech_stack"
    assert topology.next_stage("deployment") is None
    subs = {s.topic: s for s in topology.subscriptions()}
    for stage in topology.STAGES:
        s = subs[topology.stage_topic(stage)]
        assert s.dead_letter_topic == topology.DEAD_LETTER_TOPIC
        assert s.max_delivery_attempts >= 5
    assert subs[topology.DEAD_LETTER_TOPIC].dead_letter_topic is None
    assert [topology.STAGE_PROGRESS[s] for s in topology.STAGES] == [20, 35, 50, 75, 90, 100]


def test_hosting_globs_match_like_firebase():
    assert glob_to_regex("/api/team/**").match("/api/team/members/abc")
    assert not glob_to_regex("/api/team/*").match("/api/team/members/abc")
    assert glob_to_regex("/api/team/*").match("/api/team/members")
    assert not glob_to_regex("/api/me").match("/api/meow")
