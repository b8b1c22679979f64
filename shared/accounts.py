"""Accounts and tenants: signup, the caller's view of itself, invitations and team management (typed core).

Signup rolls forward rather than undoing (docs/decisions/0004-signup-roll-forward.md): a
`signups/{email}` record claims the email and fixes the uid and tenant id before anything is
created, so a retry of the same signup finishes exactly the account the first attempt began.

Accounts heal (issue 23): the Auth record outlives a Firestore restored from an older export, and
its custom claims name the workspace it owns. An Auth user whose own workspace's tenant, membership
or billing documents are missing gets them back, created in one transaction with nothing existing
changed, when they sign in (`GET /api/me`) or sign up again; the Stripe reconciler then re-applies
their payments (shared/billing/reconcile.py).

Signup always makes the founder's own workspace. An invitation is never taken implicitly: the
invitee sees it in `GET /api/me` once their email address is verified, and accepts or declines it
explicitly; accepting checks, against the Auth record itself, that the address is verified and
is the one invited (docs/SECURITY.md).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from google.cloud import firestore as gfs
from pydantic import TypeAdapter, ValidationError

from shared import auth, errors, log
from shared.clients import firebase_app, firestore
from shared.models.accounts import (
    Email,
    InvitationCreate,
    MemberSettings,
    MemberUpdate,
    OwnWorkspaceCreate,
    SignupCreate,
    SignupPublic,
)
from shared.store import Tenant, invitation_index, new_id, now, signup_doc, user_doc

logger = log.get_logger("accounts")
LEASE = timedelta(seconds=30)


def _fb():
    from firebase_admin import auth as fb_auth

    return fb_auth


# ------------------------------------------------------------------------------------------ signup


def signup(req: SignupCreate) -> SignupPublic:
    """Create the Auth user, the founder's own workspace, the owner membership and the claims.
    Invitations to this email are left alone: they wait for an explicit, verified accept."""
    db = firestore()
    sref = signup_doc(req.email)

    @gfs.transactional
    def claim(tx) -> dict:
        snap = sref.get(transaction=tx)
        t = now()
        if snap.exists:
            rec = snap.to_dict()
            if rec["status"] == "complete":
                raise errors.Conflict("An account with this email already exists; sign in instead.",
                                      code="email_exists")
            if rec["lease_until"] > t:
                raise errors.Conflict("A signup for this email is in progress; retry in a few seconds.",
                                      code="signup_in_progress", headers={"Retry-After": "5"})
            fix = {"lease_until": t + LEASE, "attempts": gfs.Increment(1)}
            if rec.get("joined") or rec.get("role") != "owner":
                # A record begun by the old code that joined an inviting workspace: finish it as a
                # workspace of its own instead (joining is an explicit accept now).
                fix.update(tenant_id=new_id("t_"), role="owner", joined=False)
                rec.update(tenant_id=fix["tenant_id"], role="owner", joined=False)
            tx.update(sref, fix)
            return rec
        rec = {"status": "pending", "uid": new_id("u_"), "tenant_id": new_id("t_"), "role": "owner",
               "joined": False, "email": req.email, "lease_until": t + LEASE, "created_at": t, "attempts": 1}
        tx.create(sref, rec)
        return rec

    rec = claim(db.transaction())
    fb = _fb()
    uid = rec["uid"]
    try:
        fb.create_user(uid=uid, email=req.email, password=req.password, display_name=req.display_name,
                       app=firebase_app())
    except fb.UidAlreadyExistsError:
        # A retry of a signup that crashed after creating the user: finish that same account.
        fb.update_user(uid, password=req.password, display_name=req.display_name, app=firebase_app())
    except fb.EmailAlreadyExistsError:
        # Registered outside this signup (e.g. the client SDK), or an account whose documents a
        # Firestore restore lost (the signup record with them). Release the claim. The caller is not
        # signed in and no password was checked, so nothing is restored or revealed here: signing in
        # (GET /api/me) rolls a lost workspace forward for its owner.
        sref.delete()
        raise errors.Conflict("An account with this email already exists; sign in instead (if its workspace "
                              "was lost, signing in restores it).", code="email_exists") from None

    tenant = Tenant(rec["tenant_id"])

    @gfs.transactional
    def finish(tx) -> None:
        tsnap = tenant.ref.get(transaction=tx)
        t = now()
        if not tsnap.exists:
            tx.create(tenant.ref, {"tenant_id": tenant.tenant_id, "name": req.company_name, "owner_uid": uid,
                                   "created_at": t})
            tx.create(tenant.billing(), {"tenant_id": tenant.tenant_id, "plan": None, "status": "none",
                                         "credits": 0, "period_end": None, "updated_at": t})
        elif tsnap.get("owner_uid") != uid:
            raise errors.Conflict("This signup cannot be finished; contact support.", code="signup_conflict")
        tx.set(tenant.member(uid), {"uid": uid, "email": req.email, "display_name": req.display_name,
                                    "role": "owner", "joined_at": t})
        tx.set(user_doc(uid), {"uid": uid, "email": req.email, "tenant_id": tenant.tenant_id, "role": "owner",
                               "workspaces": gfs.ArrayUnion([tenant.tenant_id])}, merge=True)

    finish(db.transaction())
    auth.set_claims(uid, tenant.tenant_id, "owner")
    sref.update({"status": "complete", "completed_at": now()})
    log.event(logger, logging.INFO, "signup complete", uid=uid, tenant_id=tenant.tenant_id, role="owner")
    return SignupPublic(uid=uid, tenant_id=tenant.tenant_id, role="owner", email=req.email)


def create_own_workspace(caller: auth.Caller, req: OwnWorkspaceCreate) -> dict:
    """The caller's own workspace, for an Auth user that exists without one: a first sign-in with an
    identity provider (Google) creates the Auth user in the client, never through `signup`. Same
    documents and claims as `signup`. Idempotent: a caller who already owns a workspace gets that one
    back (`created: false`); the user document is read in the transaction, so two racing calls
    create one workspace."""
    uref = user_doc(caller.uid)
    display_name = caller.claims.get("name") or None
    name = req.company_name or (f"{display_name}'s workspace" if display_name else "Your workspace")

    @gfs.transactional
    def create(tx) -> tuple[str, bool]:
        usnap = uref.get(transaction=tx)
        user = usnap.to_dict() if usnap.exists else {}
        owned = [t for t in dict.fromkeys([user.get("own_tenant_id"),
                                           user.get("tenant_id") if user.get("role") == "owner" else None,
                                           caller.tenant_id if caller.role == "owner" else None]) if t]
        for tenant_id in owned:
            tenant = _tenant_or_none(tenant_id)
            tsnap = tenant.ref.get(transaction=tx) if tenant else None
            if tsnap is not None and tsnap.exists and tsnap.get("owner_uid") == caller.uid:
                return tenant_id, False
        if caller.tenant_id and caller.role == "owner":
            # The claims name a workspace this user owns whose documents are gone: GET /api/me restores it.
            raise errors.Conflict("Your workspace is being restored; reload the page.", code="workspace_exists")
        tenant, t = Tenant(new_id("t_")), now()
        tx.create(tenant.ref, {"tenant_id": tenant.tenant_id, "name": name, "owner_uid": caller.uid, "created_at": t})
        tx.create(tenant.billing(), {"tenant_id": tenant.tenant_id, "plan": None, "status": "none",
                                     "credits": 0, "period_end": None, "updated_at": t})
        tx.create(tenant.member(caller.uid), {"uid": caller.uid, "email": caller.email,
                                              "display_name": display_name, "role": "owner", "joined_at": t})
        tx.set(uref, {"uid": caller.uid, "email": caller.email, "tenant_id": tenant.tenant_id, "role": "owner",
                      "own_tenant_id": tenant.tenant_id, "workspaces": gfs.ArrayUnion([tenant.tenant_id])},
               merge=True)
        return tenant.tenant_id, True

    tenant_id, created = create(firestore().transaction())
    if created or caller.tenant_id != tenant_id:
        auth.set_claims(caller.uid, tenant_id, "owner")
    if created:
        log.event(logger, logging.INFO, "own workspace created", uid=caller.uid, tenant_id=tenant_id, role="owner")
    return {"tenant_id": tenant_id, "role": "owner", "created": created, "claims_updated": True}


# ------------------------------------------------------------------------------------------ healing


def restore_plan(uid: str, claims: dict, tenant: dict | None, member: dict | None, billing: dict | None,
                 user: dict | None) -> list[str] | None:
    """Which of the workspace's documents to roll forward (pure). None: not this user's own
    workspace to restore (the Auth claims do not name them its owner, another user owns it, or they
    were removed from it). [] : nothing is missing."""
    tenant_id = claims.get("tenant_id")
    if not tenant_id or claims.get("role") != "owner":
        return None
    if tenant is not None and tenant.get("owner_uid") != uid:
        return None
    if tenant_id in ((user or {}).get("removed_from") or []):
        return None
    return [name for name, doc in (("tenant", tenant), ("billing", billing), ("member", member)) if doc is None]


def restore_own_workspace(uid: str, email: str | None, display_name: str | None, claims: dict) -> dict | None:
    """Roll forward the missing documents of the workspace the Auth record says `uid` owns; None when
    there is nothing to restore. One transaction; existing documents are never overwritten, so a
    repeat (or a race with another sign-in) creates nothing twice. Billing comes back empty: credits
    return when the Stripe reconciler re-applies the payments."""
    tenant = _tenant_or_none(claims.get("tenant_id") or "")
    if tenant is None:
        return None
    uref = user_doc(uid)

    @gfs.transactional
    def write(tx) -> list[str] | None:
        refs = [tenant.ref, tenant.member(uid), tenant.billing(), uref]
        snaps = {sn.reference.path: sn for sn in tx.get_all(refs)}
        tsnap, msnap, bsnap, usnap = (snaps[r.path] for r in refs)
        missing = restore_plan(uid, claims, tsnap.to_dict() if tsnap.exists else None,
                               msnap.to_dict() if msnap.exists else None,
                               bsnap.to_dict() if bsnap.exists else None,
                               usnap.to_dict() if usnap.exists else None)
        if not missing:
            return None
        t = now()
        if "tenant" in missing:
            name = f"{display_name}'s workspace" if display_name else "Your workspace"
            tx.create(tenant.ref, {"tenant_id": tenant.tenant_id, "name": name, "owner_uid": uid, "created_at": t,
                                   "restored_at": t})
        if "billing" in missing:
            tx.create(tenant.billing(), {"tenant_id": tenant.tenant_id, "plan": None, "status": "none",
                                         "credits": 0, "period_end": None, "updated_at": t, "restored_at": t})
        if "member" in missing:
            tx.create(tenant.member(uid), {"uid": uid, "email": email, "display_name": display_name,
                                           "role": "owner", "joined_at": t, "restored_at": t})
        tx.set(uref, {"uid": uid, "email": email, "tenant_id": tenant.tenant_id, "role": "owner",
                      "workspaces": gfs.ArrayUnion([tenant.tenant_id])}, merge=True)
        if email:
            tx.set(signup_doc(email), {"status": "complete", "uid": uid, "tenant_id": tenant.tenant_id,
                                       "role": "owner", "joined": False, "email": email, "lease_until": t,
                                       "created_at": t, "completed_at": t, "attempts": 0, "restored_at": t})
        return missing

    missing = write(firestore().transaction())
    if not missing:
        return None
    log.event(logger, logging.WARNING, "workspace documents rolled forward from the Auth record", uid=uid,
              tenant_id=tenant.tenant_id, restored=missing)
    return {"tenant_id": tenant.tenant_id, "restored": missing}


# ------------------------------------------------------------------------------------------ me


def _tenant_or_none(tenant_id: str) -> Tenant | None:
    try:
        return Tenant(tenant_id)
    except ValueError:
        return None


def pending_invitations(caller: auth.Caller) -> list[dict]:
    """Invitations to the caller's email, shown only once that email is verified."""
    if not (caller.email and caller.email_verified):
        return []
    snap = invitation_index(caller.email).get()
    invites = (snap.to_dict() or {}).get("invites", {}) if snap.exists else {}
    out = []
    for tenant_id, inv in sorted(invites.items(), key=lambda kv: kv[1].get("created_at") or now()):
        tenant = _tenant_or_none(tenant_id)
        if tenant is None:
            continue
        tsnap = tenant.ref.get()
        if not tsnap.exists:
            continue
        out.append({"tenant_id": tenant_id, "tenant_name": tsnap.get("name"), "role": inv.get("role"),
                    "invited_at": inv.get("created_at"),
                    "accept": f"/api/me/invitations/{tenant_id}/accept",
                    "decline": f"/api/me/invitations/{tenant_id}/decline"})
    return out


def workspaces(uid: str) -> list[dict]:
    """Every workspace the user is a member of (the membership documents decide, not the list)."""
    usnap = user_doc(uid).get()
    ids = list(dict.fromkeys((usnap.to_dict() or {}).get("workspaces") or [])) if usnap.exists else []
    if usnap.exists and usnap.get("tenant_id") and usnap.get("tenant_id") not in ids:
        ids.append(usnap.get("tenant_id"))
    out = []
    for tenant_id in ids:
        tenant = _tenant_or_none(tenant_id)
        if tenant is None:
            continue
        msnap = tenant.member(uid).get()
        if not msnap.exists:
            continue
        tsnap = tenant.ref.get()
        out.append({"tenant_id": tenant_id, "name": tsnap.get("name") if tsnap.exists else None,
                    "role": msnap.get("role")})
    return out


def me(caller: auth.Caller) -> dict:
    if caller.email and not caller.email_verified and auth.account(caller.uid, fresh=True).email_verified:
        # Verified since the cached look (a user who just clicked the link sees invitations at once).
        caller = replace(caller, email_verified=True)
    base = {"uid": caller.uid, "email": caller.email, "email_verified": caller.email_verified,
            "pending_invitations": pending_invitations(caller), "workspaces": workspaces(caller.uid)}
    if not caller.email_verified:
        base["hint"] = "Verify your email address to see and accept invitations to other workspaces."
    if not caller.tenant_id:
        return {**base, "display_name": caller.claims.get("name"), "tenant": None, "role": None,
                "token_role": None, "claims_updated": bool(base["workspaces"])}
    tenant = Tenant(caller.require_tenant())
    restored = None
    tsnap, msnap, bsnap = (tenant.ref.get(), tenant.member(caller.uid).get(), tenant.billing().get())
    if not (tsnap.exists and msnap.exists and bsnap.exists):
        # Documents lost by a restore: the Auth record's current claims (not the token's) decide.
        fb_user = _fb().get_user(caller.uid, app=firebase_app())
        restored = restore_own_workspace(caller.uid, caller.email, fb_user.display_name,
                                         fb_user.custom_claims or {})
        if restored and restored["tenant_id"] == tenant.tenant_id:
            tsnap, msnap = tenant.ref.get(), tenant.member(caller.uid).get()
    if not msnap.exists:
        raise errors.Forbidden("You are no longer a member of this workspace.", code="not_a_member")
    return {
        **base,
        **({"restored": restored["restored"]} if restored else {}),
        "display_name": msnap.get("display_name"),
        "tenant": {"id": tenant.tenant_id, "name": tsnap.get("name") if tsnap.exists else None},
        "role": msnap.get("role"),
        "settings": _settings(msnap.to_dict()),
        "token_role": caller.role,
        "claims_updated": msnap.get("role") != caller.role,
    }


# ------------------------------------------------------------------------------------------ invitations


def _verified_email(caller: auth.Caller) -> str:
    """The caller's email, if the Auth record itself (not a cached or edited token) says it is
    verified and it is the address the token names."""
    acc = auth.account(caller.uid, fresh=True)
    if not acc.exists:
        raise errors.Unauthenticated("This account no longer exists.", code="account_deleted")
    if not acc.email or not acc.email_verified:
        raise errors.Forbidden("Verify your email address first: open the link we sent you, then retry.",
                               code="email_not_verified")
    if caller.email != acc.email:
        raise errors.Forbidden("Your account's email changed; sign in again and retry.", code="email_mismatch")
    return acc.email


def _invitation_not_found() -> errors.NotFound:
    return errors.NotFound("There is no pending invitation from that workspace for your email address.",
                           code="invitation_not_found")


def accept_invitation(caller: auth.Caller, tenant_id: str) -> dict:
    """Join the inviting workspace with the invited role, and make it the active workspace."""
    email = _verified_email(caller)
    tenant = _tenant_or_none(tenant_id)
    if tenant is None:
        raise _invitation_not_found()
    iref, invref, uref = invitation_index(email), tenant.invitation(email), user_doc(caller.uid)

    @gfs.transactional
    def join(tx) -> dict:
        isnap, invsnap = iref.get(transaction=tx), invref.get(transaction=tx)
        tsnap, msnap = tenant.ref.get(transaction=tx), tenant.member(caller.uid).get(transaction=tx)
        invites = dict((isnap.to_dict() or {}).get("invites", {})) if isnap.exists else {}
        inv = invites.get(tenant.tenant_id)
        if inv is None or not invsnap.exists or invsnap.get("status") != "pending":
            raise _invitation_not_found()
        if not tsnap.exists:
            raise errors.NotFound("The workspace that invited you no longer exists.", code="tenant_gone")
        invites.pop(tenant.tenant_id)
        tx.update(iref, {"invites": invites}) if invites else tx.delete(iref)
        t = now()
        role = msnap.get("role") if msnap.exists else inv["role"]
        if not msnap.exists:
            tx.set(tenant.member(caller.uid), {"uid": caller.uid, "email": email,
                                               "display_name": caller.claims.get("name"), "role": role,
                                               "joined_at": t})
        tx.update(invref, {"status": "accepted", "accepted_at": t, "uid": caller.uid})
        tx.set(uref, {"uid": caller.uid, "email": email, "tenant_id": tenant.tenant_id, "role": role,
                      "workspaces": gfs.ArrayUnion([tenant.tenant_id]),
                      "removed_from": gfs.ArrayRemove([tenant.tenant_id])}, merge=True)
        return {"role": role, "name": tsnap.get("name")}

    got = join(firestore().transaction())
    auth.set_claims(caller.uid, tenant.tenant_id, got["role"])
    log.event(logger, logging.INFO, "invitation accepted", uid=caller.uid, tenant_id=tenant.tenant_id,
              role=got["role"])
    return {"uid": caller.uid, "email": email, "role": got["role"],
            "tenant": {"id": tenant.tenant_id, "name": got["name"]}, "claims_updated": True,
            "hint": "You joined the workspace; refresh your ID token to use it."}


def decline_invitation(caller: auth.Caller, tenant_id: str) -> dict:
    email = _verified_email(caller)
    tenant = _tenant_or_none(tenant_id)
    if tenant is None:
        raise _invitation_not_found()
    iref, invref = invitation_index(email), tenant.invitation(email)

    @gfs.transactional
    def write(tx) -> None:
        isnap, invsnap = iref.get(transaction=tx), invref.get(transaction=tx)
        invites = dict((isnap.to_dict() or {}).get("invites", {})) if isnap.exists else {}
        if tenant.tenant_id not in invites or not invsnap.exists or invsnap.get("status") != "pending":
            raise _invitation_not_found()
        invites.pop(tenant.tenant_id)
        tx.update(iref, {"invites": invites}) if invites else tx.delete(iref)
        tx.update(invref, {"status": "declined", "declined_at": now(), "uid": caller.uid})

    write(firestore().transaction())
    return {"tenant_id": tenant.tenant_id, "status": "declined"}


def switch_workspace(caller: auth.Caller, tenant_id: str) -> dict:
    """Make another workspace the caller is a member of the active one (the token's claims)."""
    tenant = _tenant_or_none(tenant_id)
    msnap = tenant.member(caller.uid).get() if tenant else None
    if msnap is None or not msnap.exists:
        raise errors.NotFound("You are not a member of that workspace.", code="workspace_not_found")
    role = msnap.get("role")
    user_doc(caller.uid).set({"tenant_id": tenant.tenant_id, "role": role,
                              "workspaces": gfs.ArrayUnion([tenant.tenant_id])}, merge=True)
    auth.set_claims(caller.uid, tenant.tenant_id, role)
    tsnap = tenant.ref.get()
    return {"tenant": {"id": tenant.tenant_id, "name": tsnap.get("name") if tsnap.exists else None}, "role": role,
            "claims_updated": True, "hint": "Refresh your ID token to use this workspace."}


# ------------------------------------------------------------------------------------------ team


def team(caller: auth.Caller) -> dict:
    tenant = auth.authorize(caller, "read")
    members = [
        {**{k: d.to_dict().get(k) for k in ("uid", "email", "display_name", "role", "joined_at")},
         "you": d.id == caller.uid}
        for d in tenant.collection("members").order_by("joined_at").stream()
    ]
    invitations = [
        {k: d.get(k) for k in ("email", "role", "invited_by", "created_at", "status")}
        for d in tenant.collection("invitations").where(filter=gfs.FieldFilter("status", "==", "pending")).stream()
    ]
    return {"tenant_id": tenant.tenant_id, "members": members, "invitations": invitations}


def invite(caller: auth.Caller, req: InvitationCreate) -> dict:
    tenant = auth.authorize(caller, "manage_team")
    db = firestore()
    iref = invitation_index(req.email)
    members = tenant.collection("members").where(filter=gfs.FieldFilter("email", "==", req.email)).limit(1)

    @gfs.transactional
    def write(tx):
        if list(members.stream(transaction=tx)):
            raise errors.Conflict(f"{req.email} is already a member of this workspace.", code="already_member")
        t = now()
        tx.set(iref, {"invites": {tenant.tenant_id: {"role": req.role, "created_at": t}}}, merge=True)
        tx.set(tenant.invitation(req.email), {"email": req.email, "role": req.role, "invited_by": caller.uid,
                                              "created_at": t, "status": "pending"})

    write(db.transaction())
    return {"email": req.email, "role": req.role, "status": "pending"}


def _owner_count(tx, tenant: Tenant) -> int:
    q = tenant.collection("members").where(filter=gfs.FieldFilter("role", "==", "owner"))
    return len(list(q.stream(transaction=tx)))


def _change_member(tenant: Tenant, uid: str, new_role: str | None) -> tuple[dict, bool]:
    """Change (new_role) or remove (None) a membership in one transaction; never the last owner.
    Returns the membership before, and whether this workspace is the member's active one."""
    mref, uref = tenant.member(uid), user_doc(uid)

    @gfs.transactional
    def write(tx):
        snap = mref.get(transaction=tx)
        if not snap.exists:
            raise errors.NotFound("No such member in this workspace.", code="member_not_found")
        if snap.get("role") == "owner" and new_role != "owner" and _owner_count(tx, tenant) <= 1:
            raise errors.Conflict("A workspace needs at least one owner; make someone else owner first.",
                                  code="last_owner")
        usnap = uref.get(transaction=tx)
        active = (usnap.get("tenant_id") if usnap.exists else None) in (tenant.tenant_id, None)
        if new_role is None:
            tx.delete(mref)
            fields = {"workspaces": gfs.ArrayRemove([tenant.tenant_id]),
                      "removed_from": gfs.ArrayUnion([tenant.tenant_id])}
            if active:
                fields.update(tenant_id=None, role=None)
            tx.set(uref, fields, merge=True)
        else:
            tx.update(mref, {"role": new_role, "updated_at": now()})
            if active:
                tx.set(uref, {"role": new_role}, merge=True)
        return snap.to_dict(), active

    return write(firestore().transaction())


def update_member(caller: auth.Caller, uid: str, req: MemberUpdate) -> dict:
    tenant = auth.authorize(caller, "manage_team")
    before, active = _change_member(tenant, uid, req.role)
    if active:
        auth.set_claims(uid, tenant.tenant_id, req.role)
    return {"uid": uid, "email": before.get("email"), "role": req.role, "previous_role": before.get("role"),
            "hint": "The new role applies at once; the member's next ID token carries it too."}


def remove_member(caller: auth.Caller, uid: str) -> dict:
    """Remove a member. Their access ends at once at both doors: the API and firestore.rules read
    the membership document. Their sessions are revoked too (a deleted account needs neither)."""
    tenant = auth.authorize(caller, "manage_team")
    _before, active = _change_member(tenant, uid, None)
    if active:
        auth.set_claims(uid, None, None)
    auth.revoke_sessions(uid)
    return {"uid": uid, "removed": True}


def revoke_invitation(caller: auth.Caller, email: str) -> dict:
    """Withdraw a pending invitation: it disappears from the invitee's list and can no longer be accepted."""
    tenant = auth.authorize(caller, "manage_team")
    try:
        email = TypeAdapter(Email).validate_python(email)
    except ValidationError:
        raise errors.BadRequest("That is not an email address; revoke an invitation by the address it was sent to.",
                                code="invalid_email") from None
    iref, invref = invitation_index(email), tenant.invitation(email)

    @gfs.transactional
    def write(tx) -> None:
        isnap, invsnap = iref.get(transaction=tx), invref.get(transaction=tx)
        if not invsnap.exists or invsnap.get("status") != "pending":
            raise errors.NotFound(f"There is no pending invitation for {email} in this workspace.",
                                  code="invitation_not_found")
        invites = dict((isnap.to_dict() or {}).get("invites", {})) if isnap.exists else {}
        if invites.pop(tenant.tenant_id, None) is not None:
            tx.update(iref, {"invites": invites}) if invites else tx.delete(iref)
        tx.update(invref, {"status": "revoked", "revoked_at": now(), "revoked_by": caller.uid})

    write(firestore().transaction())
    log.event(logger, logging.INFO, "invitation revoked", tenant_id=tenant.tenant_id, by=caller.uid)
    return {"email": email, "status": "revoked"}


# ------------------------------------------------------------------------------------------ settings


def _settings(member: dict) -> dict:
    return {"notify_email": member.get("notify_email") is not False}  # on unless turned off


def update_settings(caller: auth.Caller, req: MemberSettings) -> dict:
    """The caller's own settings in the active workspace (any role: they concern only the caller)."""
    tenant = auth.authorize(caller, "read")
    mref = tenant.member(caller.uid)

    @gfs.transactional
    def write(tx) -> dict:
        snap = mref.get(transaction=tx)
        if not snap.exists:
            raise errors.Forbidden("You are no longer a member of this workspace.", code="not_a_member")
        tx.update(mref, {"notify_email": req.notify_email, "updated_at": now()})
        return {**snap.to_dict(), "notify_email": req.notify_email}

    return {"tenant_id": tenant.tenant_id, "settings": _settings(write(firestore().transaction()))}
