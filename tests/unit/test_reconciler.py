"""Per-stage deadlines from measured durations (shared/reconciler.py), the Firestore call bounds
(shared/clients.bound_calls), the production no-op fault hook, and the preview launcher."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared import reconciler, settings


@pytest.fixture
def local(monkeypatch):
    monkeypatch.setenv("FACTORY_ENV", "local")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-factory")
    monkeypatch.setenv("STAGE_DEADLINE_S", "180")
    monkeypatch.delenv("FACTORY_FAULTS", raising=False)
    for var in ("STAGE_DEADLINE_FACTOR", "STAGE_QUEUE_FLOOR_S", "STAGE_RUN_FLOOR_S"):
        monkeypatch.delenv(var, raising=False)
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()
    reconciler._cache.update(at=0.0, doc=None)


def test_deadline_is_factor_times_p95_with_floor_and_cap(local):
    fast = [0.05] * 19 + [0.1]  # a 100 ms stage: 3 x p95 is below the floor
    slow_queue = [10.0] * 20  # 3 x 10 s = 30 s
    huge = [100.0] * 20  # 3 x 100 s is over the cap
    out = reconciler.compute({"queue_s": {"tech_stack": fast, "qa": slow_queue, "development": huge},
                              "run_s": {"tech_stack": fast, "qa": [20.0] * 20}})
    assert out["queue_s"]["tech_stack"] == 3.0, "queue floor"
    assert out["queue_s"]["qa"] == 30.0
    assert out["queue_s"]["development"] == 180.0, "never above STAGE_DEADLINE_S"
    assert out["run_s"]["tech_stack"] == 30.0, "run floor"
    assert out["run_s"]["qa"] == 60.0


def test_too_few_samples_means_the_cap(local):
    out = reconciler.compute({"queue_s": {"tech_stack": [0.05] * (reconciler.MIN_SAMPLES - 1)}, "run_s": {}})
    assert out["queue_s"]["tech_stack"] == 180.0
    assert out["run_s"]["deployment"] == 180.0


def test_p95_ignores_the_slowest_five_percent_only(local):
    xs = [1.0] * 95 + [50.0] * 5
    assert reconciler._p95(xs) == 1.0
    assert reconciler._p95(xs + [50.0]) == 50.0


def test_each_redispatch_doubles_the_deadline(local):
    reconciler._cache.update(at=1e18, doc={"queue_s": {"qa": 3.0}, "run_s": {"qa": 30.0}})
    assert [reconciler.stage_deadline_s("qa", "queue", n) for n in range(3)] == [3.0, 6.0, 12.0]
    assert reconciler.stage_deadline_s("qa", "run") == 30.0
    assert reconciler.stage_deadline_s("deployment", "queue") == 180.0, "unmeasured stage: the cap"


def test_every_firestore_rpc_gets_the_deadline(local):
    from google.api_core import retry as retries

    class Wrapped:
        def __init__(self):
            self._timeout = 60.0
            self._retry = retries.Retry(timeout=60.0)

    class Transport:
        _wrapped_methods = {"get": Wrapped(), "commit": Wrapped()}

    from shared import clients

    clients.bound_calls(Transport, 4.0)
    for w in Transport._wrapped_methods.values():
        assert w._timeout == 4.0 and w._retry._timeout == 4.0


def test_realtime_streams_keep_their_lifetime_while_unary_calls_are_bound(local):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore as fs

    from shared import clients

    transport = fs.Client(project="demo-bound", credentials=AnonymousCredentials())._firestore_api._transport
    clients.bound_calls(transport, 3.0)
    streams = {id(transport.listen), id(transport.write)}
    unary = [w for m, w in transport._wrapped_methods.items() if id(m) not in streams and w._timeout is not None]
    assert unary and all(w._timeout == 3.0 for w in unary)
    assert transport._wrapped_methods[transport.listen]._timeout > 3600, "a listener is not cut after 3 s"


def test_fault_hook_is_a_no_op_when_faults_are_off(local):
    from shared import faults

    hook = faults.for_stage("t_any", "qa")
    assert hook is faults.OFF
    assert hook.passthrough is False and hook.engine_value() is None
    hook.after_claim()  # would raise or kill if anything were armed
    assert hook.swallow_publish(object()) is False


def test_preview_launcher_sets_limits_then_execs_without_preexec_fn():
    from shared.engine import preview

    argv = preview.limited_argv([sys.executable, "-c", "import resource; print(resource.getrlimit("
                                 "resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_CORE)[0])"],
                                sys.executable, memory_mb=700)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, close_fds=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(700 * 1024 * 1024), "0"]
