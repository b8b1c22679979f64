"""The accounts function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("accounts")


@functions_framework.http
def accounts(request):
    return router(request)
