"""The pipeline state machine, by noun (decision 0043; it was one module, shared/pipeline.py).

Every decision is a Firestore transaction on `tenants/{t}/pipelines/{p}`; every message the
decision implies is written to the outbox in that same transaction and published after it
commits (shared/dispatch.py). Stage executions are fenced by (stage, attempt, dispatch_id) and a
claim id, so duplicates and stale messages are acknowledged without effect, and only the current
claim holder can commit. Progress events go to the `events` subcollection (one document each,
numbered by `event_seq`) because Firestore sustains about one write per second per document.

    records.py      the run document, its fence and the server-only documents beside it
    logs.py         a run's log lines          budget.py   a run's budget and spend
    transitions.py  fail, refund, pause, dispatch the next stage (inside a caller's transaction)
    intake.py       create_run, rerun_from     rerun.py    what a rerun reuses of the finished run
    claims.py       claim a stage execution; fail_stage, fail_pipeline
    commits.py      Outcome, commit, committed_outcome, complete_waiting
    timeouts.py     deadline (watchdog), reconcile_run, fail_crash_looping
    actions.py      cancel, retry, resume, continue_anyway, approve, request_changes, progress_update
    reads.py        public, get, list_pipelines, status_summary, list_events, artifacts, logs, claim_link

Import the module that owns a name (`from shared.runs import commits`); this package re-exports nothing.
"""
