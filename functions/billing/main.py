"""Billing (HTTPS): the plans, Stripe Checkout for owners, and the workspace's credits and payments."""

import functions_framework

from shared.billing import checkout as core
from shared.http import Response, Router
from shared.models.billing import CheckoutCreate
from shared.settings import get_settings

get_settings().require("stripe_secret_key")  # refuse to start without a Stripe key
router = Router("billing")


@router.route("GET", "/api/billing/plans")
def plans(call):
    return core.list_plans(call.caller)


@router.route("POST", "/api/billing/checkout")
def checkout(call):
    # Money: the owner's token is also checked for revocation.
    return Response(core.create_checkout(call.caller_checked_revoked(), call.model(CheckoutCreate)), status=201)


@router.route("GET", "/api/billing")
def state(call):
    return core.get_billing(call.caller)


@functions_framework.http
def billing(request):
    return router(request)
