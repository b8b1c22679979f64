"""Capability `reminders`: A rule on a date or number field (due in N days, overdue, below a threshold); a due-work endpoint for Cloud Scheduler; delivery through an email/SMS adapter, locally an outbox."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "reminders"


class Params(CapabilityBase):
    kind: Literal["reminders"] = "reminders"
    entity: Name
    field: Name = Field(description="date/datetime field (due rules) or number field (threshold rule)")
    rule: Literal["due_in_days", "overdue", "below_threshold"]
    days: int | None = Field(default=None, ge=0, le=365)
    threshold: float | None = None
    channel: Literal["email", "sms"] = "email"
    recipient_field: Name | None = Field(default=None, description="email/phone field on `entity`; default: the record's owner")


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


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (
        b.entity_problem(spec, cap.entity, "entity"),
        b.field_problem(spec, cap.entity, cap.field, f"field (rule {cap.rule})", _RULE_TYPES[cap.rule]),
        b.field_problem(spec, cap.entity, cap.recipient_field, f"recipient_field ({cap.channel})",
                        ("email",) if cap.channel == "email" else ("phone",)),
    ) if m]
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
        p.append("channel sms needs recipient_field: a phone field on the entity (accounts have no phone numbers)")
    return p


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


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from ..compiler import entities_meta  # the sample rows the generated tests start from
    from ..compiler.samples import sample_payload
    from . import _bind as b
    ent = spec.entity(cap.entity)
    field = ent.field(cap.field)
    rf = ent.field(cap.recipient_field) if cap.recipient_field else None
    ctx = {
        "ent": ent, "field": field, "values": _values(cap, field), "recipient": rf,
        "companions": _companions(cap, ent, lambda name, v: sample_payload(entities_meta(spec)[name], v)),
        "writer": b.writer_role(spec, cap.entity) or "owner", "display": b.free_text_display(ent),
        "other_role": next((r.name for r in spec.roles if not r.manage_users), None),
        "reader": next((r for r in b.readers(spec, cap.entity) if spec.role(r) and not spec.role(r).manage_users),
                       None),
    }
    d = "capabilities/reminders/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/outbox.html": tpl.render(d + "outbox.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
