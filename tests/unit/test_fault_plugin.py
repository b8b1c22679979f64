"""Fault injection is a local-only plug-in (decision 0043): production code never imports it, no packaged
function contains it, and it goes into shared/hooks.py only in local mode with FACTORY_FAULTS=enabled."""

from __future__ import annotations

import pytest

from infra import package
from shared import hooks, settings, topology

ROOT = package.ROOT


def _is_fault_module(module: str) -> bool:
    return module == "emulator" or module.startswith("emulator.") or module.rsplit(".", 1)[-1] == "faults"


@pytest.fixture
def no_plugins(monkeypatch):
    """Empty hook lists for the test (and whatever a test installs is gone after it)."""
    monkeypatch.setattr(hooks, "stage_hooks", [])
    monkeypatch.setattr(hooks, "publish_copy_hooks", [])


def _settings(monkeypatch, **env):
    for var in ("FACTORY_ENV", "FACTORY_FAULTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-plugin")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings.get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings():
    yield
    settings.get_settings.cache_clear()


def test_production_code_never_imports_the_fault_plugin():
    """Every import in shared/ and functions/, inside functions too (what infra/package.py follows)."""
    found = []
    for top in ("shared", "functions"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "templates" in rel.parts or "__pycache__" in rel.parts:
                continue
            module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            found += [f"{rel}: {name}" for name in sorted(package.imported_names(path, module)) if _is_fault_module(name)]
    assert found == []


def test_no_packaged_function_contains_a_fault_module(tmp_path):
    # One closure over every function's files is the union of what each one ships (infra/package.py).
    entries = sorted(p for fn in topology.FUNCTIONS for p in (ROOT / "functions" / fn.name).rglob("*.py")
                     if "__pycache__" not in p.parts)
    shipped = package.closure(entries)
    assert {"shared.stage_runner", "shared.dispatch", "shared.hooks", "shared.runs.commits"} <= shipped
    assert sorted(m for m in shipped if _is_fault_module(m)) == []
    # A function for real: ideas reaches the outbox (shared/dispatch.py), which used to import the faults.
    dest = package.package("ideas", tmp_path)
    assert (dest / "shared" / "dispatch.py").is_file() and (dest / "shared" / "hooks.py").is_file()
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*fault*")) == []
    assert not (dest / "emulator").exists()


def test_nothing_is_installed_the_hooks_are_off(no_plugins):
    assert hooks.for_stage("t_any", "qa") is hooks.OFF
    assert hooks.publish_copies("t_any") == 1
    off = hooks.OFF
    assert off.passthrough is False and off.engine_value() is None
    off.after_claim()  # does nothing
    assert off.swallow_publish(object()) is False


@pytest.mark.parametrize("env", [{"FACTORY_ENV": "local"}, {"FACTORY_ENV": "local", "FACTORY_FAULTS": "disabled"}])
def test_the_host_installs_no_fault_hooks_unless_local_with_faults_enabled(no_plugins, monkeypatch, env):
    from emulator import functions_host

    _settings(monkeypatch, **env)
    assert functions_host.install_plugins() == []
    assert hooks.stage_hooks == [] and hooks.publish_copy_hooks == []
    # (In production FACTORY_FAULTS is refused outright: tests/unit/test_production_refuses_emulators.py.)


def test_the_host_installs_the_fault_hooks_in_local_mode_with_faults_enabled(no_plugins, monkeypatch):
    from emulator import faults, functions_host

    _settings(monkeypatch, FACTORY_ENV="local", FACTORY_FAULTS="enabled")
    assert functions_host.install_plugins() == ["faults"]
    assert functions_host.install_plugins() == ["faults"]  # once per process, however often asked
    assert hooks.stage_hooks == [faults.for_stage] and hooks.publish_copy_hooks == [faults.publish_copies]
    # Installed but switched off afterwards: the hook reads nothing and is OFF.
    _settings(monkeypatch, FACTORY_ENV="local")
    assert hooks.for_stage("t_any", "qa") is hooks.OFF and hooks.publish_copies("t_any") == 1
