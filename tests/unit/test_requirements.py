"""The requirement groups (requirements/control.txt, requirements/engine.txt) are each complete: every package
a pinned package depends on (read from the installed metadata, extras followed) is pinned in the same group,
or in control.txt for the engine, so a function of either group installs exactly what it was tested with."""

import importlib.metadata as md

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra import package


def _pins(group: str) -> dict[str, str]:
    pins = {}
    for line in package.requirements(group).splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{group}: {line!r} is not pinned exactly"
            assert canonicalize_name(name) not in pins, f"{group}: {name} pinned twice"
            pins[canonicalize_name(name)] = version
    return pins


def _missing(pins: dict[str, str]) -> list[str]:
    missing = []
    for name in pins:
        extras_of = {""}
        for raw in md.requires(name) or []:
            req = Requirement(raw)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras_of):
                continue
            if canonicalize_name(req.name) not in pins:
                missing.append(f"{name} needs {req.name}")
            for extra in req.extras:  # e.g. httpx[http2]: its extra's own dependencies
                for sub in md.requires(req.name) or []:
                    r2 = Requirement(sub)
                    if r2.marker and r2.marker.evaluate({"extra": extra}) and canonicalize_name(r2.name) not in pins:
                        missing.append(f"{req.name}[{extra}] needs {r2.name}")
    return missing


def test_each_group_pins_its_whole_dependency_closure_at_the_installed_versions():
    for group in ("control", "engine"):
        pins = _pins(group)
        assert _missing(pins) == [], group
        for name, version in pins.items():
            assert md.version(name) == version, f"{group}: {name} pinned {version}, installed {md.version(name)}"


def test_the_control_group_carries_none_of_the_engine_only_packages():
    control, engine = _pins("control"), _pins("engine")
    assert set(control) < set(engine)
    engine_only = set(engine) - set(control)
    assert {"sqlalchemy", "alembic", "ruff", "pillow", "fpdf2", "segno", "flask-migrate"} <= engine_only
    assert "functions-framework" in control and "stripe" in control


def test_top_level_requirements_install_every_group():
    text = (package.ROOT / "requirements.txt").read_text()
    assert "-r requirements/engine.txt" in text.splitlines()
    assert "-r control.txt" in (package.REQUIREMENTS / "engine.txt").read_text().splitlines()
