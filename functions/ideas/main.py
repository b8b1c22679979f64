"""The ideas function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("ideas")


@functions_framework.http
def ideas(request):
    return router(request)
