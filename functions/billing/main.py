"""The billing function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("billing")


@functions_framework.http
def billing(request):
    return router(request)
