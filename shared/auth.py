"""Who is calling: Firebase ID tokens verified with firebase-admin, roles, service identity.

The caller's tenant and role come from the verified token's custom claims (`tenant_id`, `role`),
never from the request body. Owner-only actions also re-read the membership document, so a
demoted or removed owner loses power at once, not when the old token expires.

Every verified token is also checked against the account's Auth record (deleted, disabled,
sessions revoked), cached per process for ACCOUNT_CHECK_TTL_S: a deleted or disabled account is
refused on every route within that bound (docs/SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from shared import clients, errors
from shared.settings import get_settings

ROLES = ("owner", "member", "viewer")
# How long one process trusts its last look at an account's Auth record (deleted / disabled /
# revoked). The bound on how long a deleted account keeps working; costs one Auth lookup per
# user per process per period.
ACCOUNT_CHECK_TTL_S = 10.0
# What each role may do. owner: everything; member: submit ideas and act on pipelines; viewer: read.
PERMISSIONS = {
    "read": {"owner", "member", "viewer"},
    "submit": {"owner", "member"},
    "act": {"owner", "member"},
    "billing": {"owner"},
    "manage_team": {"owner"},
}
# Permissions that move money or access: the Auth record is read fresh for them (one Auth lookup
# per request), so a deleted or disabled owner cannot buy or change the team even inside the
# ACCOUNT_CHECK_TTL_S window that reads and submissions allow.
FRESH_ACCOUNT_CHECK = {"billing", "manage_team"}


@dataclass(frozen=True)
class Caller:
    uid: str
    email: str | None
    tenant_id: str | None
    role: str | None
    claims: dict
    email_verified: bool = False

    def require_tenant(self) -> str:
        if not self.tenant_id or self.role not in ROLES:
            raise errors.Forbidden(
                "This account is not part of a workspace yet. Finish signing up (POST /api/auth/signup) "
                "or ask an owner to invite you, then refresh your ID token.",
                code="no_tenant",
            )
        return self.tenant_id



def authorize(caller: Caller, permission: str):
    """The caller's tenant (a `store.Tenant`) if its membership grants `permission` (see `authorize_role`)."""
    return authorize_role(caller, permission)[0]


def authorize_role(caller: Caller, permission: str):
    """(the caller's tenant (a `store.Tenant`), their role) if its membership grants `permission`.

    The token says which tenant; the membership document says the role. Reading it on every
    request (one indexed get) means a removed member or a demoted owner loses access at once,
    not when their current ID token expires.
    """
    from shared.store import Tenant

    tenant = Tenant(caller.require_tenant())
    if permission in FRESH_ACCOUNT_CHECK and caller.claims.get("uid"):
        check_account(caller.claims, fresh=True)
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
    return tenant, role


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


@dataclass(frozen=True)
class Account:
    """What the Auth record says about a uid, as far as access is concerned."""

    exists: bool
    disabled: bool = False
    valid_after_ms: int = 0  # tokens issued before this (a revocation) are refused
    email: str | None = None
    email_verified: bool = False


_accounts: dict[str, tuple[float, Account]] = {}
_accounts_lock = threading.Lock()


def _lookup_account(uid: str) -> Account:
    from firebase_admin import auth as fb_auth
    from firebase_admin import exceptions as fb_exc

    try:
        rec = fb_auth.get_user(uid, app=clients.firebase_app())
    except fb_auth.UserNotFoundError:
        return Account(exists=False)
    except (fb_exc.FirebaseError, ValueError) as exc:
        raise errors.TransientError(f"could not look up the account: {exc}") from None
    return Account(exists=True, disabled=bool(rec.disabled), valid_after_ms=int(rec.tokens_valid_after_timestamp or 0),
                   email=(rec.email or "").lower() or None, email_verified=bool(rec.email_verified))


def account(uid: str, *, fresh: bool = False) -> Account:
    """The account's Auth record, at most ACCOUNT_CHECK_TTL_S old (or fresh when asked)."""
    t = time.monotonic()
    hit = _accounts.get(uid)
    if hit and not fresh and hit[0] > t:
        return hit[1]
    acc = _lookup_account(uid)
    with _accounts_lock:
        if len(_accounts) > 10_000:  # bounded memory: drop everything stale
            for k in [k for k, (exp, _) in _accounts.items() if exp <= t]:
                _accounts.pop(k, None)
        _accounts[uid] = (t + ACCOUNT_CHECK_TTL_S, acc)
    return acc


def forget_account(uid: str) -> None:
    _accounts.pop(uid, None)


def check_account(claims: dict, *, fresh: bool = False) -> Account:
    """Refuse a token whose account was deleted, disabled or had its sessions revoked."""
    acc = account(claims["uid"], fresh=fresh)
    if not acc.exists:
        raise errors.Unauthenticated("This account no longer exists; sign up again to use the factory.",
                                     code="account_deleted")
    if acc.disabled:
        raise errors.Unauthenticated("This account is disabled.", code="user_disabled")
    issued = claims.get("iat")  # the same comparison firebase-admin's check_revoked makes
    if acc.valid_after_ms and (not isinstance(issued, (int, float)) or issued * 1000 < acc.valid_after_ms):
        raise errors.Unauthenticated("Your session was revoked; sign in again.", code="token_revoked")
    return acc


def caller_from_request(request, *, check_revoked: bool) -> Caller:
    """The verified caller. `check_revoked` asks for a fresh look at the Auth record (money, deletion);
    otherwise a look at most ACCOUNT_CHECK_TTL_S old is used."""
    claims = verify_id_token(_bearer(request), check_revoked=False)
    tenant_id, role = claims.get("tenant_id"), claims.get("role")
    from shared.store import valid_id

    if tenant_id is not None and not valid_id(tenant_id, min_len=6, max_len=64):
        # Not a claim this service ever sets: a hand-made or corrupted token.
        raise errors.Unauthenticated("The ID token carries an invalid workspace claim; sign in again.",
                                     code="invalid_token")
    if role is not None and role not in ROLES:
        raise errors.Unauthenticated("The ID token carries an invalid role claim; sign in again.",
                                     code="invalid_token")
    email = claims.get("email")
    if email is not None and not isinstance(email, str):
        raise errors.Unauthenticated("The ID token carries an invalid email claim; sign in again.",
                                     code="invalid_token")
    acc = check_account(claims, fresh=check_revoked)
    return Caller(
        uid=claims["uid"],
        email=email.lower() if email else None,
        tenant_id=tenant_id,
        role=role,
        claims=claims,
        email_verified=acc.email_verified,
    )


def audiences(function: str, path: str = "") -> list[str]:
    """The OIDC audiences a call to `function` may carry: its URL, or its URL plus the path
    (Cloud Tasks and Cloud Scheduler default the audience to the full target URL)."""
    base = get_settings().function_url(function).rstrip("/")
    out = [base, base + "/"]
    if path and path != "/":
        out.append(base + path)
    return out


def verify_google_oidc(token: str, function: str, path: str = "") -> str | None:
    """The service-account email of a Google-signed OIDC token minted for `function`, or None.

    The audience must be this function's URL (a token minted for any other service is refused),
    and the email must be a verified one listed in SERVICE_ACCOUNTS."""
    from google.auth.transport import requests as g_requests
    from google.oauth2 import id_token

    s = get_settings()
    try:
        info = id_token.verify_oauth2_token(token, g_requests.Request(), audience=audiences(function, path))
    except ValueError:
        return None
    email = info.get("email")
    if email in s.service_accounts and info.get("email_verified"):
        return email
    return None


def require_service(request, function: str) -> str:
    """Service identity only (stage workers, Cloud Tasks, Cloud Scheduler). A user token gets 403.

    Production: a Google-signed OIDC token for this function's URL whose email is one of
    SERVICE_ACCOUNTS. Local: the emulators cannot mint Google OIDC tokens, so the local cloud
    shares a random SERVICE_TOKEN, made when it starts.
    """
    s = get_settings()
    token = _bearer(request)
    if s.local:
        expected = s.service_token.get_secret_value() if s.service_token else ""
        if expected and hmac.compare_digest(token, expected):
            return "local-service"
    else:
        email = verify_google_oidc(token, function, getattr(request, "path", ""))
        if email:
            return email
    raise errors.Forbidden("This route is for the factory's own services, not for user tokens.",
                           code="service_only")


PUSH_PARAM = "push_auth"


def push_secret(service_token: str) -> str:
    """The local push-endpoint secret, derived from the local cloud's SERVICE_TOKEN (so the push
    endpoints carry a secret that grants delivery only, never the service routes)."""
    return hmac.new(service_token.encode(), b"pubsub-push", hashlib.sha256).hexdigest()[:40]


def require_push(request, function: str) -> str:
    """The caller of a Pub/Sub push endpoint (stage and dead-letter functions) is Pub/Sub itself.

    Production: the push subscription's OIDC token (audience: this function's URL, email: the
    push service account in SERVICE_ACCOUNTS). Local: the Pub/Sub emulator cannot mint tokens,
    so the push endpoint URL carries `?push_auth=<secret>`, made when the local cloud starts.
    Raises PermissionError (the handler acknowledges nothing and answers 403)."""
    s = get_settings()
    if s.local:
        expected = push_secret(s.service_token.get_secret_value()) if s.service_token else ""
        got = request.args.get(PUSH_PARAM, "") if request is not None else ""
        if expected and got and hmac.compare_digest(got, expected):
            return "local-pubsub"
        raise PermissionError("push without the local push secret")
    header = request.headers.get("Authorization", "") if request is not None else ""
    scheme, _, token = header.partition(" ")
    email = verify_google_oidc(token.strip(), function) if scheme.lower() == "bearer" and token.strip() else None
    if not email:
        raise PermissionError("push without a valid OIDC token for this function")
    return email


def set_claims(uid: str, tenant_id: str | None, role: str | None) -> bool:
    """Set the workspace claims; False when the account no longer exists (nothing to update)."""
    from firebase_admin import auth as fb_auth

    claims = {"tenant_id": tenant_id, "role": role} if tenant_id else {}
    try:
        fb_auth.set_custom_user_claims(uid, claims or None, app=clients.firebase_app())
    except fb_auth.UserNotFoundError:
        return False
    return True


def revoke_sessions(uid: str) -> bool:
    """Revoke the account's refresh tokens; False when the account no longer exists."""
    from firebase_admin import auth as fb_auth

    try:
        fb_auth.revoke_refresh_tokens(uid, app=clients.firebase_app())
    except fb_auth.UserNotFoundError:
        return False
    forget_account(uid)
    return True
