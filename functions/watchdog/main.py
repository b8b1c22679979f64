"""The watchdog function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("watchdog")


@functions_framework.http
def watchdog(request):
    return router(request)
