"""axe-core in the browser tests: inject the pinned npm build (emulator/node_modules/axe-core, see
emulator/package.json) into a page and fail on any serious or critical violation.

    assert_no_serious_violations(page, "run")   # after the view is on screen

Only what is visible is checked (axe skips hidden elements), so call it once the view under test is shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / "emulator" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def _axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` in emulator/ (it is pinned in "
                    "emulator/package.json).", pytrace=False)
    return AXE.read_text()


def violations(page, context: str | None = None) -> list[dict]:
    """axe's violations of impact serious or critical on the page (or within the CSS selector `context`)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=_axe_source())
    found = page.evaluate("""async (context) => {
        const res = await axe.run(context ? document.querySelector(context) : document,
                                  { resultTypes: ["violations"] });
        return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })) }));
    }""", context)
    return [v for v in found if v["impact"] in SERIOUS]


def assert_no_serious_violations(page, view: str, context: str | None = None) -> None:
    bad = violations(page, context)
    lines = [f"{v['impact']} {v['id']} ({v['help']}): " + "; ".join(n["target"] for n in v["nodes"][:5])
             for v in bad]
    assert not bad, f"axe-core: serious/critical violations on the {view} view:\n  " + "\n  ".join(lines)
