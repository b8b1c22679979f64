"""The stripe_webhook function (HTTP)."""

import functions_framework

from shared.http import Router

router = Router("stripe_webhook")


@functions_framework.http
def stripe_webhook(request):
    return router(request)
