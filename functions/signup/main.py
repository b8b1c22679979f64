"""Signup (HTTPS): creates the Firebase user, the tenant, the owner membership and the claims."""

import functions_framework

from shared import accounts
from shared.http import Response, Router
from shared.models.accounts import SignupCreate
from shared.settings import get_settings

get_settings()  # refuse to start on invalid settings (e.g. an emulator host in production)
router = Router("signup")


@router.route("POST", "/api/auth/signup")
def create(call):
    result = accounts.signup(call.model(SignupCreate))
    return Response(result.model_dump(), status=201)


@functions_framework.http
def signup(request):
    return router(request)
