"""The signup function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("signup")


@functions_framework.http
def signup(request):
    return router(request)
