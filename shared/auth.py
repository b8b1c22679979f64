"""Who is calling: Firebase ID tokens verified with firebase-admin, roles, service identity.

The caller's tenant and role come from the verified token's custom claims (`tenant_id`, `role`),
never from the request body. Owner-only actions also re-read the membership document, so a
demoted or removed owner loses power at once, not when the old token expires.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from shared import clients, errors
from shared.settings import get_settings

ROLES = ("owner", "member", "viewer")
# What each role may do. owner: everything; member: submit ideas and act on pipelines; viewer: read.
PERMISSIONS = {
    "read": {"owner", "member", "viewer"},
    "submit": {"owner", "member"},
    "act": {"owner", "member"},
    "billing": {"owner"},
    "manage_team": {"owner"},
}


@dataclass(frozen=True)
class Caller:
    uid: str
    email: str | None
    tenant_id: str | None
    role: str | None
    claims: dict

    def require_tenant(self) -> str:
        if not self.tenant_id or self.role not in ROLES:
            raise errors.Forbidden(
                "This account is not part of a workspace yet. Finish signing up (POST /api/auth/signup) "
                "or ask an owner to invite you, then refresh your ID token.",
                code="no_tenant",
            )
        return self.tenant_id



def authorize(caller: Caller, permission: str):
    """The caller's tenant (a `store.Tenant`) if its membership grants `permission`.

    The token says which tenant; the membership document says the role. Reading it on every
    request (one indexed get) means a removed member or a demoted owner loses access at once,
    not when their current ID token expires.
    """
    from shared.store import Tenant

    tenant = Tenant(caller.require_tenant())
    snap = tenant.member(caller.uid).get()
    if not snap.exists:
        raise errors.Forbidden("You are no longer a member of this workspace; ask an owner to invite you again.",
                               code="not_a_member")
    role = snap.get("role")
    if role not in PERMISSIONS[permission]:
        allowed = sorted(PERMISSIONS[permission])
        raise errors.Forbidden(
            f"Your role '{role}' cannot do this; it needs one of: {', '.join(allowed)}. Ask an owner to change your role.",
            code="role_forbidden", details={"role": role, "allowed": allowed})
    return tenant


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    if not header:
        raise errors.Unauthenticated(
            "Sign in and send your Firebase ID token as 'Authorization: Bearer <token>'.", code="missing_token"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise errors.Unauthenticated("The Authorization header must be 'Bearer <ID token>'.", code="malformed_token")
    return token.strip()


def verify_id_token(token: str, *, check_revoked: bool) -> dict:
    from firebase_admin import auth as fb_auth

    try:
        claims = fb_auth.verify_id_token(token, app=clients.firebase_app(), check_revoked=check_revoked)
    except fb_auth.ExpiredIdTokenError:
        raise errors.Unauthenticated("Your ID token has expired; refresh it and retry.", code="token_expired") from None
    except fb_auth.RevokedIdTokenError:
        raise errors.Unauthenticated("Your session was revoked; sign in again.", code="token_revoked") from None
    except fb_auth.UserDisabledError:
        raise errors.Unauthenticated("This account is disabled.", code="user_disabled") from None
    except fb_auth.CertificateFetchError as exc:
        raise errors.TransientError(f"could not fetch token certificates: {exc}") from None
    except (fb_auth.InvalidIdTokenError, ValueError) as exc:
        if "too late" in str(exc) or "expired" in str(exc).lower():  # google-auth's wording for exp
            raise errors.Unauthenticated("Your ID token has expired; refresh it and retry.",
                                         code="token_expired") from None
        raise errors.Unauthenticated("The ID token is invalid; sign in again.", code="invalid_token") from None
    # firebase-admin checks expiry only for signed tokens; check it for emulator tokens too.
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < time.time():
        raise errors.Unauthenticated("Your ID token has expired; refresh it and retry.", code="token_expired")
    return claims


def caller_from_request(request, *, check_revoked: bool) -> Caller:
    claims = verify_id_token(_bearer(request), check_revoked=check_revoked)
    return Caller(
        uid=claims["uid"],
        email=claims.get("email"),
        tenant_id=claims.get("tenant_id"),
        role=claims.get("role"),
        claims=claims,
    )


def require_service(request) -> str:
    """Service identity only (stage workers, Cloud Tasks). A user token gets 403.

    Production: a Google-signed OIDC token whose email is one of SERVICE_ACCOUNTS. Local: the
    emulators cannot mint Google OIDC tokens, so the local cloud shares a random SERVICE_TOKEN.
    """
    s = get_settings()
    token = _bearer(request)
    if s.local:
        expected = s.service_token.get_secret_value() if s.service_token else ""
        if expected and hmac.compare_digest(token, expected):
            return "local-service"
    else:
        from google.auth.transport import requests as g_requests
        from google.oauth2 import id_token

        try:
            info = id_token.verify_oauth2_token(token, g_requests.Request(), audience=None)
        except ValueError:
            info = None
        if info and info.get("email") in s.service_accounts and info.get("email_verified"):
            return info["email"]
    raise errors.Forbidden("This route is for the factory's own services, not for user tokens.",
                           code="service_only")


def set_claims(uid: str, tenant_id: str | None, role: str | None) -> None:
    from firebase_admin import auth as fb_auth

    claims = {"tenant_id": tenant_id, "role": role} if tenant_id else {}
    fb_auth.set_custom_user_claims(uid, claims or None, app=clients.firebase_app())
