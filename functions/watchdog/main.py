"""Watchdog (internal HTTPS): Cloud Tasks deadlines for stage dispatches (the fast path), the
scheduled reconciler that finds runs past their stage deadline without Tasks, and the scheduled
sweep that publishes stranded outbox messages. (Expired local previews are stopped by the local
scheduler, emulator/scheduler.py: previews exist only locally, and the watchdog ships without the
stage engine.)"""

import functions_framework

from shared import auth, dispatch
from shared.http import Router
from shared.models.pipeline import StageMessage
from shared.runs import timeouts
from shared.settings import get_settings

get_settings()
router = Router("watchdog")


@router.route("POST", "/deadline")
def deadline(call):
    auth.require_service(call.request, "watchdog")
    msg = call.model(StageMessage)
    return {"result": timeouts.deadline(msg)}


@router.route("POST", "/reconcile")
def reconcile(call):
    auth.require_service(call.request, "watchdog")
    return timeouts.reconcile()


@router.route("POST", "/sweep")
def sweep(call):
    auth.require_service(call.request, "watchdog")
    return {"published": dispatch.sweep()}


@functions_framework.http
def watchdog(request):
    return router(request)
