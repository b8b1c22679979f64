"""Capability `reminders`: A rule on a date or number field (due in N days, overdue, below a threshold), or on a custody capability's open check-outs (sent to the holder); a due-work endpoint for Cloud Scheduler; delivery through an email/SMS adapter, locally an outbox."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "reminders"

#: How many reference hops a recipient path may take ("pet_id.pet_owner_id.phone" takes two).
MAX_HOPS = 2
#: A field name, or reference fields read in turn and the field holding the address ("translator_id.email");
#: `check` says which hop does not resolve (the pattern admits a few more hops so that it can).
RecipientPath = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39}){0,4}$")]


class Params(CapabilityBase):
    kind: Literal["reminders"] = "reminders"
    entity: Name
    field: Name = Field(description="date/datetime field (due rules) or number field (threshold rule)")
    rule: Literal["due_in_days", "overdue", "below_threshold"]
    days: int | None = Field(default=None, ge=0, le=365)
    threshold: float | None = None
    channel: Literal["email", "sms"] = "email"
    recipient_field: RecipientPath | None = Field(
        default=None, description="where the address is: an email (channel email) or phone (channel sms) field of "
                                  "`entity`, or a dotted path of up to two reference fields ending in one, read from "
                                  "the entity on (\"translator_id.email\", \"pet_id.pet_owner_id.phone\"); "
                                  "default: the user who created the record")
    custody: Name | None = Field(
        default=None, description="id of a custody capability: remind about its open check-outs instead of a "
                                  "field of `entity` (entity: its item_entity; field: 'due_at'; rule: overdue or "
                                  "due_in_days; to the holder: recipient_field is then a field of its holder_entity, "
                                  "default its first email field, or the holding user's email when holders are "
                                  "users)")


PACKAGES: list[str] = []  # smtplib and urllib (standard library) carry email and SMS in production

#: Read from the app's config, else the environment (the generated README lists them).
SETTINGS = [
    ("REMINDERS_TOKEN", "reminders: bearer token Cloud Scheduler sends to `POST /api/<capability>/run-due` "
                        "(`Authorization: Bearer …`, at least 16 characters; keep it in Secret Manager)"),
    ("REMINDERS_EMAIL_ADAPTER", "reminders: `outbox` (default: reminders stay on the app's outbox page) or `smtp`"),
    ("SMTP_HOST", "reminders (smtp): mail server host"),
    ("SMTP_PORT", "reminders (smtp): port, default 587"),
    ("SMTP_USERNAME", "reminders (smtp): login user, if the server needs one"),
    ("SMTP_PASSWORD", "reminders (smtp): login password"),
    ("SMTP_FROM", "reminders (smtp): sender address"),
    ("SMTP_STARTTLS", "reminders (smtp): `1` (default) to upgrade the connection with STARTTLS"),
    ("REMINDERS_SMS_ADAPTER", "reminders: `outbox` (default) or `twilio` for SMS"),
    ("TWILIO_ACCOUNT_SID", "reminders (twilio): account SID"),
    ("TWILIO_AUTH_TOKEN", "reminders (twilio): auth token"),
    ("TWILIO_FROM", "reminders (twilio): the sending phone number"),
    ("TWILIO_API_BASE", "reminders (twilio): API base URL, default https://api.twilio.com"),
]

_RULE_TYPES = {"due_in_days": ("date", "datetime"), "overdue": ("date", "datetime"),
               "below_threshold": ("integer", "decimal", "money")}


def custody_of(cap: Params, spec):
    """The custody capability whose check-outs the reminders watch, or None (none named, or not a custody one)."""
    other = spec.capability(cap.custody) if cap.custody else None
    return other if other is not None and other.kind == "custody" else None


def holder_entity(cap: Params, spec):
    """The entity of the holders a custody reminder goes to, or None (holders are the app's users, or no custody)."""
    c = custody_of(cap, spec)
    return spec.entity(c.holder_entity) if c is not None and c.holder_entity else None


def holder_address(cap: Params, spec) -> str | None:
    """The holder entity's field a custody reminder is sent to: `recipient_field`, else (email) the holder entity's
    first email field; None when holders are users (their login email) or nothing fits."""
    ent = holder_entity(cap, spec)
    if ent is None:
        return None
    if cap.recipient_field:
        return cap.recipient_field
    if cap.channel != "email":
        return None
    return next((f.name for f in ent.fields if f.type == "email"), None)


def _custody_problems(cap: Params, spec) -> list[str]:
    """A reminder about a custody capability's check-outs: its item entity, the check-out's due time, a due rule,
    and the holder's address."""
    other = spec.capability(cap.custody)
    ids = sorted(c.id for c in spec.capabilities if c.kind == "custody")
    known = f"custody capabilities of the spec: {ids}" if ids else "the spec has no custody capability"
    if other is None:
        return [f"custody {cap.custody!r} is not a capability of the spec; {known}"]
    if other.kind != "custody":
        return [f"custody {cap.custody!r} is a {other.kind} capability, not a custody one; {known}"]
    p: list[str] = []
    if cap.entity != other.item_entity:
        p.append(f"entity {cap.entity!r} is not what custody {other.id!r} lends: its check-outs are of "
                 f"{other.item_entity!r}; set entity to {other.item_entity!r}")
    if cap.field != "due_at":
        p.append(f"field {cap.field!r}: a reminder about custody {other.id!r}'s check-outs watches each check-out's "
                 f"due time, not a field of {other.item_entity}; set field to 'due_at'")
    if cap.rule == "below_threshold":
        p.append("rule below_threshold needs a number field, and a check-out has a due time: use overdue (N days "
                 "past it) or due_in_days (N days before it)")
    if cap.rule == "due_in_days" and cap.days is None:
        p.append("rule due_in_days needs 'days' (how many days before a check-out's due time to remind, e.g. 1)")
    if cap.rule == "due_in_days" and cap.days == 0:
        p.append("rule due_in_days with days 0 matches a check-out only at the very moment it falls due; use days 1 "
                 "or more, or rule overdue (days 0: as soon as it is past due)")
    if other.holder_entity is None:
        if cap.channel == "sms":
            p.append(f"channel sms needs a phone number, but custody {other.id!r} lends to the app's users, who have "
                     f"only a login email: use channel email, or give custody {other.id!r} a holder_entity with a "
                     f"phone field")
        elif cap.recipient_field:
            p.append(f"recipient_field {cap.recipient_field!r}: custody {other.id!r} lends to the app's users, so the "
                     f"reminder goes to the holding user's login email; drop recipient_field")
        return p
    holders = spec.entity(other.holder_entity)
    if holders is None:  # custody's own check names the missing holder entity
        return p
    want = "email" if cap.channel == "email" else "phone"
    fitting = sorted(f.name for f in holders.fields if f.type == want)
    hint = (f"; {want} fields of {holders.name}: {fitting}" if fitting
            else f"; add {'an' if want == 'email' else 'a'} {want} field to {holders.name}")
    who = f"the reminder goes to the {holders.label.lower()} holding the item, so name a field of {holders.name}"
    if cap.recipient_field is None:
        if not fitting:
            p.append(f"the reminder goes to the {holders.label.lower()} holding the item, but {holders.name} has no "
                     f"{want} field to send it to{hint}")
        elif cap.channel == "sms":
            p.append(f"channel sms needs recipient_field: the phone field of {holders.name} ({who}){hint}")
        return p
    f = holders.field(cap.recipient_field) if "." not in cap.recipient_field else None
    if f is None:
        p.append(f"recipient_field {cap.recipient_field!r} is not a field of {holders.name!r} ({who}, not of "
                 f"{cap.entity}){hint}")
    elif f.type != want:
        p.append(f"recipient_field {holders.name}.{f.name} is {'an' if f.type[0] in 'aeiou' else 'a'} {f.type} field, "
                 f"but channel {cap.channel} needs {'an email' if want == 'email' else 'a phone'} field{hint}")
    return p


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    if cap.custody:
        return [m for m in (b.entity_problem(spec, cap.entity, "entity"),) if m] + _custody_problems(cap, spec)
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "entity"),
        b.field_problem(spec, cap.entity, cap.field, f"field (rule {cap.rule})", _RULE_TYPES[cap.rule]),
    ) if m]
    p += recipient_problems(cap, spec)
    if cap.rule == "due_in_days" and cap.days is None:
        p.append("rule due_in_days needs 'days' (how many days ahead to remind, e.g. 3)")
    if cap.rule == "below_threshold":
        if cap.threshold is None:
            p.append("rule below_threshold needs 'threshold' (remind when the value is below it)")
        else:
            ent = spec.entity(cap.entity)
            f = ent.field(cap.field) if ent else None
            if f is not None and f.min is not None and cap.threshold <= f.min:
                p.append(f"threshold {cap.threshold} is not above {cap.entity}.{cap.field}'s minimum {f.min}, so "
                         f"no value can be below it; raise the threshold")
            if f is not None and f.max is not None and cap.threshold > f.max:
                p.append(f"threshold {cap.threshold} is above {cap.entity}.{cap.field}'s maximum {f.max}, so every "
                         f"value is below it; lower the threshold")
    if cap.channel == "sms" and cap.recipient_field is None:
        p.append("channel sms needs recipient_field: a phone field on the entity, or a path to one through its "
                 "references such as 'client_id.phone' (accounts have no phone numbers)")
    return p


def _link_label(label: str) -> str:
    """A reference field's label as a noun: "Translator id" -> "translator"."""
    text = label.lower().strip()
    return re.sub(r"\s+id$", "", text) or text


def hops(cap: Params, spec) -> list[tuple[str, str]] | None:
    """The recipient path's reference hops as (field, the entity it reaches), or None when a hop does not resolve."""
    parts = (cap.recipient_field or "").split(".")[:-1]
    out, at = [], cap.entity
    for name in parts:
        ent = spec.entity(at)
        f = ent.field(name) if ent is not None else None
        if f is None or f.type != "reference" or spec.entity(f.ref) is None:
            return None
        out.append((name, f.ref))
        at = f.ref
    return out


def recipient_problems(cap: Params, spec) -> list[str]:
    """Each hop of `recipient_field` must be a reference field of the entity it is read on, and the last name an
    email (channel email) or phone (channel sms) field of the entity the hops reach."""
    from . import _bind as b
    if cap.recipient_field is None or spec.entity(cap.entity) is None:
        return []
    want = ("email",) if cap.channel == "email" else ("phone",)
    *links, last = cap.recipient_field.split(".")
    if not links:
        m = b.field_problem(spec, cap.entity, last, f"recipient_field ({cap.channel})", want)
        return [m] if m else []
    path = cap.recipient_field
    if len(links) > MAX_HOPS:
        return [f"recipient_field {path!r} takes {len(links)} reference hops; at most {MAX_HOPS} are read (e.g. "
                f"'pet_id.pet_owner_id.phone'): store the address nearer to {cap.entity}"]
    at = cap.entity
    for n, name in enumerate(links, 1):
        ent = spec.entity(at)
        f = ent.field(name)
        refs = sorted(x.name for x in ent.fields if x.type == "reference")
        hint = (f"; reference fields of {at}: {refs}" if refs
                else f"; {at} has no reference field: add one to the record that holds the {want[0]}")
        if f is None:
            return [f"recipient_field {path!r}: hop {n} {name!r} is not a field of {at!r}{hint}"]
        if f.type != "reference":
            return [f"recipient_field {path!r}: hop {n} {at}.{name} is a {f.type} field, but every name before the "
                    f"last must be a reference field read on the record it reaches{hint}"]
        if spec.entity(f.ref) is None:
            return [f"recipient_field {path!r}: hop {n} {at}.{name} references {f.ref!r}, which is not an entity of "
                    f"the spec"]
        at = f.ref
    target = spec.entity(at)
    f = target.field(last)
    fitting = sorted(x.name for x in target.fields if x.type in want)
    hint = (f"; {want[0]} fields of {at}: {fitting}" if fitting else f"; add a {want[0]} field to {at}")
    if f is None:
        return [f"recipient_field {path!r} ends in {last!r}, which is not a field of {at!r} (the entity the path "
                f"reaches){hint}"]
    if f.type not in want:
        return [f"recipient_field {path!r} ends in {at}.{last}, a {f.type} field, but channel {cap.channel} needs "
                f"{'an email' if cap.channel == 'email' else 'a phone'} field{hint}"]
    return []


def recipient_words(cap: Params, spec) -> str | None:
    """Who the reminder goes to, in the spec's nouns ("carer email", "translator's email", "pet owner's phone"; for
    check-outs "member's email", or "holder's email" when holders are users), or None for the record's creator."""
    if cap.custody:
        ent, name = holder_entity(cap, spec), holder_address(cap, spec)
        f = ent.field(name) if ent is not None and name else None
        if ent is None or f is None:
            return "holder's email" if ent is None else f"{ent.label.lower()}'s {cap.channel}"
        return f"{ent.label.lower()}'s {f.label.lower()}"
    if not cap.recipient_field:
        return None

    def label(entity: str, name: str) -> str:
        ent = spec.entity(entity)
        f = ent.field(name) if ent is not None else None
        return _link_label(f.label if f is not None else name.replace("_", " "))

    *links, last = cap.recipient_field.split(".")
    path = hops(cap, spec)
    if not links or path is None:
        return label(cap.entity, last)
    owner_entity = cap.entity if len(path) == 1 else path[-2][1]
    return f"{label(owner_entity, links[-1])}'s {label(path[-1][1], last)}"


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    managers = [r.name for r in spec.roles if r.manage_users]
    a = f"/api/{cap.id}"
    return [
        Route(method="POST", path=f"{a}/run-due", roles=managers,
              summary="deliver every due reminder once (Cloud Scheduler: Authorization: Bearer REMINDERS_TOKEN)"),
        Route(method="GET", path=f"{a}/due", summary="records the rule matches now", roles=b.readers(spec, cap.entity)),
        Route(method="GET", path=f"{a}/outbox", summary="reminders delivered (the local outbox)", roles=managers),
        Route(method="GET", path=f"/{cap.id}/outbox", summary="outbox page", roles=managers),
        Route(method="GET", path=f"/{cap.id}/", summary="the outbox page", roles=managers),
    ]


def scheduled_jobs(cap: Params, spec) -> list[dict]:
    """What the deployment should schedule (Cloud Scheduler): the due-work call, authorised by REMINDERS_TOKEN."""
    return [{"name": f"{spec.slug}-{cap.id}-run-due".replace("_", "-")[:60], "schedule": "*/15 * * * *",
             "method": "POST", "path": f"/api/{cap.id}/run-due", "auth_header": "Authorization: Bearer",
             "token_setting": "REMINDERS_TOKEN"}]


def _values(cap: Params, field) -> dict:
    """Values the generated tests put in the rule's field: one that triggers the rule, one that does not."""
    if cap.rule != "below_threshold":
        return {}
    t = cap.threshold
    step = 1 if field.type == "integer" else 0.5
    below, above = t - step, t + step
    if field.type == "integer":
        import math
        below, above = math.ceil(t) - 1, math.ceil(t) + (0 if math.ceil(t) > t else 1)
    lo = field.min if field.min is not None else float("-inf")
    hi = field.max if field.max is not None else float("inf")
    below, above = max(below, lo), min(above, hi)

    def lit(v):
        if field.type == "money":
            return f"{v:.2f}"
        return int(v) if field.type == "integer" else float(v)
    return {"below": lit(below), "above": lit(above)}


def _companions(cap: Params, ent, sample) -> list[list]:
    """Other fields of the rule field's type, with their distance from it in a sample row (seconds or days), so
    tests that move the rule field keep them in the same order (a booking's end stays after its start)."""
    from datetime import date, datetime
    field = ent.field(cap.field)
    if field.type not in ("date", "datetime"):
        return []
    row = sample(ent.name, 0)

    def parse(v):
        return date.fromisoformat(v) if field.type == "date" else datetime.fromisoformat(v.replace("Z", "+00:00"))
    base = parse(row[cap.field])
    out = []
    for f in ent.fields:
        if f.name != cap.field and f.type == field.type and f.name in row:
            delta = parse(row[f.name]) - base
            out.append([f.name, delta.days if field.type == "date" else int(delta.total_seconds())])
    return out


def _recipient_ctx(cap: Params, spec) -> dict:
    """The recipient path for the templates: `hops` (field, the entity it reaches, what it is in words, may it be
    empty), the `target` field holding the address, what it is in words, and whether it may be empty."""
    from .agreement import agreed_only

    out: list[tuple[str, str, str, bool]] = []
    fixed: list[str] = []  # hop fields the owner may not set directly (they change only by agreement)
    target = target_what = None
    target_optional = False
    if cap.recipient_field:
        at = spec.entity(cap.entity)
        for name, ref in hops(cap, spec) or []:
            f = at.field(name)
            out.append((name, ref, f"{at.label.lower()}'s {_link_label(f.label)}", not f.required))
            if agreed_only(spec, at.name, name):
                fixed.append(name)
            at = spec.entity(ref)
        last = at.field(cap.recipient_field.split(".")[-1])
        target, target_what, target_optional = last.name, f"{at.label.lower()}'s {last.label.lower()}", not last.required
    return {"hops": out, "hop_triples": [h[:3] for h in out], "hop_tests": [(h[0], h[1], h[3]) for h in out],
            "link_may_be_empty": any(h[3] for h in out), "fixed_links": fixed, "target": target,
            "target_what": target_what or "",
            "target_optional": target_optional}


def _custody_ctx(cap: Params, spec) -> dict:
    """What the custody variant of the templates needs: the custody capability, the holders (an entity, or None for
    the app's users) and the field holding their address, and the roles its tests act as."""
    from types import SimpleNamespace

    from . import _bind as b
    from .custody import checkout_roles
    c = custody_of(cap, spec)
    holder = holder_entity(cap, spec)
    name = holder_address(cap, spec)
    target = holder.field(name) if holder is not None and name else None
    movers = checkout_roles(c, spec)
    people = [r for r in movers if r != "owner"]
    return {
        "custody": c, "holder": holder, "target": name,
        "target_what": f"{holder.label.lower()}'s {target.label.lower()}" if target is not None else "",
        "target_optional": target is not None and not target.required,
        "holder_writer": b.writer_role(spec, holder.name) if holder is not None else None,
        # who checks items out (to a holder record), or, with users as holders, the role of the users who hold them
        "mover": (people or movers)[0], "item_writer": b.writer_role(spec, cap.entity) or "owner",
        "non_reader": b.non_reader_role(spec, cap.entity),
        # the check-out's due time, as the module names and shows it
        "field": SimpleNamespace(name="due_at", label="Due back", type="datetime"),
        "values": {}, "companions": [], "hops": [], "hop_triples": [], "hop_tests": [], "link_may_be_empty": False,
        "fixed_links": [],
    }


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from ..compiler import entities_meta  # the sample rows the generated tests start from
    from ..compiler.samples import sample_payload
    from . import _bind as b
    ent = spec.entity(cap.entity)
    ctx = {
        "ent": ent, "custody": None, "writer": b.writer_role(spec, cap.entity) or "owner",
        "display": b.free_text_display(ent), "other_role": next((r.name for r in spec.roles if not r.manage_users), None),
        "reader": next((r for r in b.readers(spec, cap.entity) if spec.role(r) and not spec.role(r).manage_users),
                       None),
    }
    if cap.custody:
        ctx.update(_custody_ctx(cap, spec))
    else:
        field = ent.field(cap.field)
        ctx.update(field=field, values=_values(cap, field), **_recipient_ctx(cap, spec),
                   companions=_companions(cap, ent, lambda name, v: sample_payload(entities_meta(spec)[name], v)))
    d = "capabilities/reminders/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/outbox.html": tpl.render(d + "outbox.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + ("test_custody.py.j2" if cap.custody else "test.py.j2"), **ctx),
    }
