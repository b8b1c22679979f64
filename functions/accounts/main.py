"""Accounts (HTTPS): the caller's identity, invitations to the caller, and team management for owners."""

import functions_framework

from shared import accounts as core
from shared.http import Response, Router
from shared.models.accounts import InvitationCreate, MemberSettings, MemberUpdate, OwnWorkspaceCreate, WorkspaceSwitch
from shared.settings import get_settings

get_settings()
router = Router("accounts")


@router.route("GET", "/api/me")
def me(call):
    return core.me(call.caller)


@router.route("POST", "/api/me/invitations/{tenant_id}/accept")
def accept_invitation(call):
    """Accept an invitation (the caller's email must be verified and be the one invited)."""
    return core.accept_invitation(call.caller, call.params["tenant_id"])


@router.route("POST", "/api/me/invitations/{tenant_id}/decline")
def decline_invitation(call):
    """Decline an invitation (the caller's email must be verified and be the one invited)."""
    return core.decline_invitation(call.caller, call.params["tenant_id"])


@router.route("POST", "/api/me/workspace")
def switch_workspace(call):
    """Make another workspace the caller belongs to the active one."""
    return core.switch_workspace(call.caller, call.model(WorkspaceSwitch).tenant_id)


@router.route("POST", "/api/me/own-workspace")
def own_workspace(call):
    """Create the caller's own workspace (a first sign-in with Google has none); idempotent."""
    out = core.create_own_workspace(call.caller, call.model(OwnWorkspaceCreate))
    return Response(out, status=201 if out["created"] else 200)


@router.route("GET", "/api/team")
def team(call):
    return core.team(call.caller)


@router.route("POST", "/api/team/invitations")
def invite(call):
    return Response(core.invite(call.caller, call.model(InvitationCreate)), status=201)


@router.route("DELETE", "/api/team/invitations/{email*}")
def revoke_invitation(call):
    """Revoke a pending invitation (owners only)."""
    return core.revoke_invitation(call.caller, call.params["email"])


@router.route("PATCH", "/api/me/settings")
def update_settings(call):
    """Change the caller's own settings in the active workspace (email notifications about their runs)."""
    return core.update_settings(call.caller, call.model(MemberSettings))


@router.route("PATCH", "/api/team/members/{uid}")
def update_member(call):
    return core.update_member(call.caller, call.params["uid"], call.model(MemberUpdate))


@router.route("DELETE", "/api/team/members/{uid}")
def remove_member(call):
    # Deleting access: the caller's own token is checked for revocation.
    return core.remove_member(call.caller_checked_revoked(), call.params["uid"])


@functions_framework.http
def accounts(request):
    return router(request)
