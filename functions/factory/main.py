"""The factory function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("factory")


@functions_framework.http
def factory(request):
    return router(request)
