"""Accounts and tenants: signup, the caller's view of itself, and team management (typed core).

Signup rolls forward rather than undoing (docs/decisions/0004-signup-roll-forward.md): a
`signups/{email}` record claims the email and fixes the uid and tenant id before anything is
created, so a retry of the same signup finishes exactly the account the first attempt began.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from google.cloud import firestore as gfs

from shared import auth, errors, log
from shared.clients import firebase_app, firestore
from shared.models.accounts import InvitationCreate, MemberUpdate, SignupCreate, SignupPublic
from shared.store import Tenant, invitation_index, new_id, now, signup_doc, user_doc

logger = log.get_logger("accounts")
LEASE = timedelta(seconds=30)


def _fb():
    from firebase_admin import auth as fb_auth

    return fb_auth


# ------------------------------------------------------------------------------------------ signup


def signup(req: SignupCreate) -> SignupPublic:
    db = firestore()
    sref = signup_doc(req.email)
    iref = invitation_index(req.email)

    @gfs.transactional
    def claim(tx) -> dict:
        snap = sref.get(transaction=tx)
        inv = iref.get(transaction=tx)
        t = now()
        if snap.exists:
            rec = snap.to_dict()
            if rec["status"] == "complete":
                raise errors.Conflict("An account with this email already exists; sign in instead.",
                                      code="email_exists")
            if rec["lease_until"] > t:
                raise errors.Conflict("A signup for this email is in progress; retry in a few seconds.",
                                      code="signup_in_progress", headers={"Retry-After": "5"})
            tx.update(sref, {"lease_until": t + LEASE, "attempts": gfs.Increment(1)})
            return rec
        invites = (inv.to_dict() or {}).get("invites", {}) if inv.exists else {}
        if invites:
            tenant_id, first = min(invites.items(), key=lambda kv: kv[1]["created_at"])
            role, joined = first["role"], True
        else:
            tenant_id, role, joined = new_id("t_"), "owner", False
        rec = {"status": "pending", "uid": new_id("u_"), "tenant_id": tenant_id, "role": role,
               "joined": joined, "email": req.email, "lease_until": t + LEASE, "created_at": t, "attempts": 1}
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
        # Registered outside this signup (e.g. the client SDK). Release the claim; nothing else was made.
        sref.delete()
        raise errors.Conflict("An account with this email already exists; sign in instead.",
                              code="email_exists") from None

    tenant = Tenant(rec["tenant_id"])

    @gfs.transactional
    def finish(tx) -> None:
        tsnap = tenant.ref.get(transaction=tx)
        inv = iref.get(transaction=tx)
        t = now()
        if not rec["joined"] and not tsnap.exists:
            tx.create(tenant.ref, {"tenant_id": tenant.tenant_id, "name": req.company_name, "owner_uid": uid,
                                   "created_at": t})
            tx.create(tenant.billing(), {"tenant_id": tenant.tenant_id, "plan": None, "status": "none",
                                         "credits": 0, "period_end": None, "updated_at": t})
        if rec["joined"]:
            if not tsnap.exists:
                raise errors.Conflict("The workspace that invited you no longer exists.", code="tenant_gone")
            invites = dict((inv.to_dict() or {}).get("invites", {})) if inv.exists else {}
            invites.pop(tenant.tenant_id, None)
            if invites:
                tx.update(iref, {"invites": invites})
            elif inv.exists:
                tx.delete(iref)
            tx.set(tenant.invitation(req.email), {"status": "accepted", "accepted_at": t, "uid": uid}, merge=True)
        tx.set(tenant.member(uid), {"uid": uid, "email": req.email, "display_name": req.display_name,
                                    "role": rec["role"], "joined_at": t})
        tx.set(user_doc(uid), {"uid": uid, "email": req.email, "tenant_id": tenant.tenant_id, "role": rec["role"]})

    finish(db.transaction())
    auth.set_claims(uid, tenant.tenant_id, rec["role"])
    sref.update({"status": "complete", "completed_at": now()})
    log.event(logger, logging.INFO, "signup complete", uid=uid, tenant_id=tenant.tenant_id, role=rec["role"])
    return SignupPublic(uid=uid, tenant_id=tenant.tenant_id, role=rec["role"], email=req.email,
                        joined_existing_tenant=rec["joined"])


# ------------------------------------------------------------------------------------------ me


def me(caller: auth.Caller) -> dict:
    if not caller.tenant_id and caller.email:
        joined = accept_pending_invitation(caller)
        if joined:
            return {**joined, "claims_updated": True,
                    "hint": "Your membership changed; refresh your ID token to use it."}
    tenant = Tenant(caller.require_tenant())
    tsnap, msnap = tenant.ref.get(), tenant.member(caller.uid).get()
    if not msnap.exists:
        raise errors.Forbidden("You are no longer a member of this workspace.", code="not_a_member")
    return {
        "uid": caller.uid,
        "email": caller.email,
        "display_name": msnap.get("display_name"),
        "tenant": {"id": tenant.tenant_id, "name": tsnap.get("name") if tsnap.exists else None},
        "role": msnap.get("role"),
        "token_role": caller.role,
        "claims_updated": msnap.get("role") != caller.role,
    }


def accept_pending_invitation(caller: auth.Caller) -> dict | None:
    """Sign-in path: a user with no workspace who has an invitation joins it."""
    db = firestore()
    iref = invitation_index(caller.email)
    uref = user_doc(caller.uid)

    @gfs.transactional
    def join(tx):
        inv, usnap = iref.get(transaction=tx), uref.get(transaction=tx)
        if usnap.exists and usnap.get("tenant_id"):
            return usnap.to_dict()
        invites = (inv.to_dict() or {}).get("invites", {}) if inv.exists else {}
        if not invites:
            return None
        tenant_id, first = min(invites.items(), key=lambda kv: kv[1]["created_at"])
        tenant = Tenant(tenant_id)
        rest = {k: v for k, v in invites.items() if k != tenant_id}
        tx.update(iref, {"invites": rest}) if rest else tx.delete(iref)
        t = now()
        tx.set(tenant.invitation(caller.email), {"status": "accepted", "accepted_at": t, "uid": caller.uid}, merge=True)
        tx.set(tenant.member(caller.uid), {"uid": caller.uid, "email": caller.email,
                                           "display_name": caller.claims.get("name"), "role": first["role"],
                                           "joined_at": t})
        rec = {"uid": caller.uid, "email": caller.email, "tenant_id": tenant_id, "role": first["role"]}
        tx.set(uref, rec)
        return rec

    rec = join(db.transaction())
    if not rec:
        return None
    auth.set_claims(caller.uid, rec["tenant_id"], rec["role"])
    tsnap = Tenant(rec["tenant_id"]).ref.get()
    return {"uid": caller.uid, "email": caller.email, "role": rec["role"],
            "tenant": {"id": rec["tenant_id"], "name": tsnap.get("name") if tsnap.exists else None}}


# ------------------------------------------------------------------------------------------ team


def team(caller: auth.Caller) -> dict:
    tenant = auth.authorize(caller, "read")
    members = [
        {k: d.get(k) for k in ("uid", "email", "display_name", "role", "joined_at")}
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


def _change_member(tenant: Tenant, uid: str, new_role: str | None) -> dict:
    """Change (new_role) or remove (None) a membership in one transaction; never the last owner."""
    mref = tenant.member(uid)

    @gfs.transactional
    def write(tx):
        snap = mref.get(transaction=tx)
        if not snap.exists:
            raise errors.NotFound("No such member in this workspace.", code="member_not_found")
        if snap.get("role") == "owner" and new_role != "owner" and _owner_count(tx, tenant) <= 1:
            raise errors.Conflict("A workspace needs at least one owner; make someone else owner first.",
                                  code="last_owner")
        if new_role is None:
            tx.delete(mref)
            tx.set(user_doc(uid), {"tenant_id": None, "role": None}, merge=True)
        else:
            tx.update(mref, {"role": new_role, "updated_at": now()})
            tx.set(user_doc(uid), {"role": new_role}, merge=True)
        return snap.to_dict()

    return write(firestore().transaction())


def update_member(caller: auth.Caller, uid: str, req: MemberUpdate) -> dict:
    tenant = auth.authorize(caller, "manage_team")
    before = _change_member(tenant, uid, req.role)
    auth.set_claims(uid, tenant.tenant_id, req.role)
    return {"uid": uid, "email": before.get("email"), "role": req.role, "previous_role": before.get("role"),
            "hint": "The new role applies to the member's next ID token."}


def remove_member(caller: auth.Caller, uid: str) -> dict:
    tenant = auth.authorize(caller, "manage_team")
    _change_member(tenant, uid, None)
    auth.set_claims(uid, None, None)
    _fb().revoke_refresh_tokens(uid, app=firebase_app())
    return {"uid": uid, "removed": True}
