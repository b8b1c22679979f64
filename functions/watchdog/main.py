"""Watchdog (internal HTTPS): Cloud Tasks deadlines for stage dispatches (the fast path), the
scheduled reconciler that finds runs past their stage deadline without Tasks, and the scheduled
sweep that publishes stranded outbox messages and stops expired local previews."""

import functions_framework

from shared import auth, dispatch, pipeline, reconciler
from shared.http import Router
from shared.models.pipeline import StageMessage
from shared.settings import get_settings

get_settings()
router = Router("watchdog")


@router.route("POST", "/deadline")
def deadline(call):
    auth.require_service(call.request, "watchdog")
    msg = call.model(StageMessage)
    return {"result": pipeline.deadline(msg)}


@router.route("POST", "/reconcile")
def reconcile(call):
    auth.require_service(call.request, "watchdog")
    return reconciler.reconcile()


@router.route("POST", "/sweep")
def sweep(call):
    auth.require_service(call.request, "watchdog")
    published = dispatch.sweep()
    reaped = 0
    if get_settings().local:
        from shared.engine import preview

        reaped = len(preview.reap_expired(get_settings().state_dir) or [])
    return {"published": published, "previews_stopped": reaped}


@functions_framework.http
def watchdog(request):
    return router(request)
