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
    from emulator import faults
    from shared import hooks

    hook = faults.for_stage("t_any", "qa")
    assert hook is hooks.OFF
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


# ------------------------------------------------------------------ evidence, not a percentile (0032)

from datetime import UTC, datetime, timedelta  # noqa: E402

from shared import health  # noqa: E402

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def ev(waited: float, **kw) -> reconciler.Evidence:
    """A QA run that has waited `waited` s at a stage measured at the 3 s queue floor, 20 s runs."""
    base = dict(now=T0 + timedelta(seconds=waited), dispatched_at=T0, base_s=3.0, run_p95_s=20.0, window_s=40.0,
                slots=8)
    return reconciler.Evidence(**{**base, **kw})


def test_a_busy_stage_after_a_quiet_spell_is_waited_for_not_failed(local):
    # The false failure: deadline at its 3 s floor, QA up and busy (claimed 5 s ago), 20 runs
    # ahead. Waited 14 s, and already re-dispatched twice: the old rule failed it; evidence says wait.
    busy = ev(14, ahead=20, running=8, waiting=29, last_claim_at=T0 + timedelta(seconds=9))
    v = reconciler.judge_queued("qa", busy, redispatches=2, max_redispatches=2)
    assert v.action == "wait", v
    assert reconciler.backlog_deadline_s(busy) == 3.0 + 28 * 20.0 / 8
    assert v.recheck_s > 0
    # Still busy long after the backlog deadline, but claims keep coming: its turn is still to come.
    later = ev(200, ahead=20, running=8, last_claim_at=T0 + timedelta(seconds=195))
    assert reconciler.judge_queued("qa", later, 2, 2).action == "wait"


def test_the_deadline_scales_with_the_backlog(local):
    assert reconciler.backlog_deadline_s(ev(0)) == 3.0
    assert reconciler.backlog_deadline_s(ev(0, ahead=4)) == 3.0 + 4 * 20.0 / 8
    assert reconciler.backlog_deadline_s(ev(0, ahead=4, running=8, slots=4)) == 3.0 + 12 * 20.0 / 4


def test_no_claim_within_the_window_while_runs_wait_is_evidence_and_the_reason_says_so(local):
    idle = ev(62, waiting=4, last_claim_at=T0 - timedelta(seconds=30))
    assert reconciler.judge_queued("qa", idle, 0, 2).action == "republish", "first: publish the same message again"
    v = reconciler.judge_queued("qa", idle, 2, 2)
    assert v.action == "fail" and v.code == "stage_timeout"
    assert v.observed == "no qa instance claimed work for 62 s while 4 runs waited"


def test_a_message_waiting_at_an_idle_stage_is_published_again_without_waiting_a_window(local):
    lost = ev(4, last_claim_at=T0 - timedelta(seconds=1))  # nothing else to do, claimed 5 s ago
    v = reconciler.judge_queued("tech_stack", lost, 0, 2)
    assert v.action == "republish" and "had nothing else to do" in v.observed
    assert reconciler.judge_queued("tech_stack", ev(2), 0, 2).action == "wait", "not yet past the deadline"


def test_a_crash_loop_fails_at_once_whatever_the_deadline(local):
    crash = health.StageHealth("stage_qa", True, restarts=4, since=T0 - timedelta(seconds=6))
    v = reconciler.judge_queued("qa", ev(1, ahead=30, base_s=180.0, crash=crash), 0, 2)
    assert v.action == "fail" and v.code == "stage_crash_loop"
    assert v.observed == "the qa service is crash-looping: it died at start 4 times in 7 s and keeps being restarted"


def test_a_run_published_after_the_latest_crash_waits_for_the_next_start(local):
    """Found by `make bench`: after a crash loop was fixed, runs published while the supervisor was still in its
    restart backoff were failed as crash-looping (4 of 100). A run published after the latest death was not
    waiting when the service died: the next start decides; one published before it is failed."""
    crash = health.StageHealth("stage_qa", True, restarts=4, since=T0 - timedelta(seconds=20),
                               last=T0 - timedelta(seconds=5))
    after = reconciler.judge_queued("qa", ev(1, crash=crash), 0, 2)  # dispatched at T0, after the last death
    assert after.action == "wait" and after.recheck_s > 0, after
    before = reconciler.judge_queued("qa", ev(1, dispatched_at=T0 - timedelta(seconds=10), crash=crash), 0, 2)
    assert before.action == "fail" and before.code == "stage_crash_loop"
    assert crash.caught(T0 - timedelta(seconds=5)) and not crash.caught(T0)


def test_supervisor_health_reads_the_functions_hosts_restart_counts(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    reader = health.SupervisorHealth(tmp_path)
    assert reader.crash_looping() == {}, "no host: nothing known to crash"
    (run / "functions.json").write_text(
        '{"stage_qa": {"state": "crash-looping", "restarts": 5, "quick_deaths": 4, "crash_since": 1700000000.0},'
        ' "stage_tech_stack": {"state": "restarting", "restarts": 9, "quick_deaths": 1},'
        ' "watchdog": {"state": "up", "restarts": 0, "quick_deaths": 0}}')
    found = reader.crash_looping()
    assert list(found) == ["stage_qa"]
    assert found["stage_qa"].restarts == 4 and found["stage_qa"].since == datetime.fromtimestamp(1700000000, UTC)
    assert list(reconciler.crash_looping_stages(reader)) == ["qa"]


def test_health_docs_count_a_streak_of_boot_failures_since_the_last_good_boot():
    now = datetime.now(UTC)
    fails = [now - timedelta(seconds=s) for s in (30, 20, 10)]
    reader = health.HealthDocReader({
        "stage_qa": {"boot_failures": fails, "last_boot_ok_at": now - timedelta(seconds=60)},
        "stage_deployment": {"boot_failures": fails, "last_boot_ok_at": now - timedelta(seconds=15)},
        "stage_development": {"boot_failures": [now - timedelta(seconds=500)] * 3},
    })
    found = reader.crash_looping()
    assert list(found) == ["stage_qa"], "a good boot ends a streak; old failures do not count"
    assert found["stage_qa"].restarts == 3 and found["stage_qa"].since == fails[0]
