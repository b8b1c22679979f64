"""WCAG contrast, the design system, sitemap and wireframes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from shared.engine import EngineConfig, StageInput, no_artifacts, run_stage
from shared.engine.appspec import AppSpec
from shared.engine.stages.uiux_design import CONTRAST_PAIRS, enforce_contrast
from shared.engine.wcag import adjust_for_contrast, contrast_ratio, relative_luminance

from .corpus import idea_by_id


def test_black_on_white_is_21_to_1():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1.0)


@pytest.mark.parametrize("fg,bg,expected", [
    ("#777777", "#ffffff", 4.48),   # the classic 'grey that just fails AA'
    ("#767676", "#ffffff", 4.54),   # the lightest grey that passes on white
    ("#0000ff", "#ffffff", 8.59),
    ("#ff0000", "#ffffff", 4.00),
    ("#ffffff", "#008000", 5.14),
])
def test_known_contrast_ratios(fg, bg, expected):
    assert round(contrast_ratio(fg, bg), 2) == expected


def test_relative_luminance_uses_the_linearised_formula():
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert relative_luminance("#000000") == 0.0
    assert relative_luminance("#808080") == pytest.approx(0.2158605, rel=1e-6)  # not 0.5: sRGB is non-linear


def test_adjust_reaches_the_minimum():
    new, steps = adjust_for_contrast("#999999", "#ffffff", 4.5)
    assert steps > 0 and contrast_ratio(new, "#ffffff") >= 4.5
    same, steps = adjust_for_contrast("#000000", "#ffffff", 4.5)
    assert same == "#000000" and steps == 0
    light, _ = adjust_for_contrast("#444444", "#111111", 4.5)  # dark background: lightens
    assert contrast_ratio(light, "#111111") >= 4.5 and relative_luminance(light) > relative_luminance("#444444")


def test_enforce_contrast_fixes_a_bad_palette():
    bad = {"primary": "#99ccff", "on_primary": "#ffffff", "accent": "#ffee88", "on_accent": "#ffffff",
           "background": "#ffffff", "surface": "#f4f4f4", "text": "#aaaaaa", "muted_text": "#cccccc",
           "border": "#eeeeee", "danger": "#ff8888", "success": "#88ff88"}
    colors, checks, adjustments = enforce_contrast(bad)
    assert all(c["passes"] for c in checks)
    assert {a["token"] for a in adjustments} >= {"text", "muted_text", "danger", "success", "border"}
    for fg, bg, minimum, _ in CONTRAST_PAIRS:
        assert contrast_ratio(colors[fg], colors[bg]) >= minimum, (fg, bg)


def test_design_stage_outputs(state_dir):
    idea = idea_by_id("pawwalk")
    r = run_stage("uiux_design", StageInput("d1", "t", idea, {}, no_artifacts), EngineConfig(state_dir=state_dir))
    assert r.outcome == "ok"
    design = json.loads(r.artifacts["design-system.json"])
    assert design["contrast"]["all_pass"] is True
    for pair in design["contrast"]["pairs"]:
        assert pair["ratio"] == round(contrast_ratio(pair["foreground_hex"], pair["background_hex"]), 2)
        assert pair["ratio"] >= pair["required"]
    assert design["typography"]["scale"]["base"] == 16
    assert design["typography"]["scale"]["xl"] == 25.0  # 16 * 1.25^2
    sitemap = json.loads(r.artifacts["sitemap.json"])
    pages = [p["id"] for p in sitemap["pages"]]
    spec = AppSpec.model_validate_json(r.artifacts["app-spec.json"])  # planned here, once, and stored
    assert pages == [p.id for p in spec.pages if p.kind in ("home", "list", "capability")]
    assert pages[0] == "home" and "cap_payments_walk" in pages  # pawwalk takes payments: its page is drawn
    assert [e["name"] for e in sitemap["entities"]] == [e.name for e in spec.entities]
    assert json.loads(r.artifacts["app-spec-history.json"])["revision"] == 1
    svgs = {k: v for k, v in r.artifacts.items() if k.startswith("wireframes/")}
    assert len(svgs) == len(pages)
    for name, data in svgs.items():
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        assert root.find("{http://www.w3.org/2000/svg}title") is not None


def test_wireframes_escape_user_text(state_dir):
    idea = dict(idea_by_id("week-plate"), title='Plates <&> "quoted" app')
    r = run_stage("uiux_design", StageInput("d2", "t", idea, {}, no_artifacts), EngineConfig(state_dir=state_dir))
    for name, data in r.artifacts.items():
        if name.endswith(".svg"):
            ET.fromstring(data)  # raises on malformed XML
    assert b"Plates &lt;&amp;&gt;" in r.artifacts["wireframes/home.svg"]
