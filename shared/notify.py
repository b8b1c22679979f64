"""Email notifications about runs: one adapter, sent once per event (docs/decisions/0031-email-notifications.md).

When a run completes, fails, needs the founder's input or waits for an approval (or a plan review), the member
who started it gets an email, unless they turned notifications off (`notify_email: false` on their membership,
set through `PATCH /api/me/settings`).

- **Once per event.** The run's event document is the fact; before sending, a marker
  `tenants/{t}/pipelines/{p}/notifications/{event_id}` is *created* (create-if-absent). Whoever creates it sends;
  a redelivered message, a second processor or a retry finds it and sends nothing. The marker records the outcome
  (sent, opted out, failed), so a failed send is logged and not repeated: at most once, never twice.
- **Off the stage path.** `after_run_changed` runs after the stage's commit and publish, only for runs that
  stopped (completed, failed, paused), so no later stage waits on it; it never raises, and a failure is logged.
- **One adapter.** `Mailer.send(Mail)`: SendGrid's v3 HTTP API with an API key in production; locally, SMTP to the
  sink the local cloud runs (emulator/mailsink.py). Tests never reach SendGrid.
"""

from __future__ import annotations

import functools
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol

from google.api_core import exceptions as gexc
from google.cloud import firestore as gfs

from shared import log
from shared.settings import get_settings
from shared.store import Tenant, now

logger = log.get_logger("notify")
SENDGRID_URL = "https://api.sendgrid.com/v3/mail/send"
# Event type -> (subject, first sentence). Statuses the dashboard shows as stopped and waiting on a person.
EVENTS: dict[str, tuple[str, str]] = {
    "factory_completed": ("Your app is ready: {title}", "Your run finished: the app is built, tested and deployed."),
    "factory_failed": ("Your run stopped: {title}", "Your run stopped before finishing."),
    "factory_needs_input": ("Your idea needs your input: {title}",
                            "Building waits for you: edit the idea and resume, continue anyway, or cancel."),
    "awaiting_approval": ("Approval needed: {title}", "A stage is done and waits for your approval."),
    "awaiting_plan_review": ("Plan review needed: {title}", "The app's plan is ready and waits for your review."),
    "plan_review": ("Plan review needed: {title}", "The app's plan is ready and waits for your review."),
}
# Only recent events are mailed: a run retried days later does not mail about its old failure.
MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class SendGridMailer:
    """SendGrid's v3 Mail Send API (https://www.twilio.com/docs/sendgrid/api-reference/mail-send). 202 = accepted."""

    def __init__(self, api_key: str, sender: str, timeout_s: float, url: str = SENDGRID_URL):
        self.api_key, self.sender, self.timeout_s, self.url = api_key, sender, timeout_s, url

    def payload(self, mail: Mail) -> dict:
        name, addr = parseaddr(self.sender)
        sender = {"email": addr, **({"name": name} if name else {})}
        return {"personalizations": [{"to": [{"email": mail.to}]}], "from": sender, "subject": mail.subject,
                "content": [{"type": "text/plain", "value": mail.text}]}

    def send(self, mail: Mail) -> None:
        import requests

        r = requests.post(self.url, json=self.payload(mail), timeout=self.timeout_s,
                          headers={"Authorization": f"Bearer {self.api_key}"})
        if r.status_code not in (200, 202):
            raise RuntimeError(f"SendGrid answered {r.status_code}: {r.text[:200]}")


class SmtpMailer:
    """Plain SMTP (the local sink)."""

    def __init__(self, host: str, port: int, sender: str, timeout_s: float):
        self.host, self.port, self.sender, self.timeout_s = host, port, sender, timeout_s

    def send(self, mail: Mail) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, mail.to, mail.subject
        msg.set_content(mail.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(msg)


@functools.lru_cache(maxsize=1)
def mailer() -> Mailer | None:
    """The configured adapter, created once: the SMTP sink locally, SendGrid in production; None (logged)
    when neither is configured, and then nothing is sent."""
    s = get_settings()
    if s.local:
        if not s.smtp_emulator_host:
            return None
        host, _, port = s.smtp_emulator_host.rpartition(":")
        return SmtpMailer(host or "127.0.0.1", int(port), s.mail_from, s.mail_timeout_s)
    key = s.sendgrid_api_key.get_secret_value().strip() if s.sendgrid_api_key else ""
    if key.lower() in ("", "none"):  # docs/DEPLOY.md: `none` turns notifications off
        return None
    return SendGridMailer(key, s.mail_from, s.mail_timeout_s)


def compose(event: dict, run: dict, title: str, to: str, base_url: str) -> Mail:
    subject, lead = EVENTS[event["type"]]
    link = f"{base_url.rstrip('/')}/#/pipelines/{run['pipeline_id']}"  # the dashboard's route to the run
    lines = [lead]
    message = str(event.get("message") or "").strip()
    if message and message.lower().rstrip(".") not in lead.lower():
        lines.append(message)
    lines += ["", f"Open the run: {link}", "",
              "You get these emails because you started this run. Turn them off in the dashboard (Team, "
              "Email me about my runs)."]
    return Mail(to=to, subject=subject.format(title=title or "your idea")[:200], text="\n".join(lines))


def _recipient(tenant: Tenant, pref) -> tuple[str | None, str]:
    """The run's owner (the member who started it) and their email, or None with the reason."""
    fsnap = pref.collection("private").document("fence").get()
    uid = fsnap.get("created_by") if fsnap.exists else None
    if not uid:
        return None, "the run names no owner"
    msnap = tenant.member(uid).get()
    if not msnap.exists:
        return None, "the run's owner is no longer a member"
    if msnap.to_dict().get("notify_email") is False:
        return None, "opted_out"
    email = msnap.get("email")
    return (email, "ok") if email else (None, "the owner has no email address")


def notify_run(tenant_id: str, pipeline_id: str, *, sender: Mailer | None = None) -> int:
    """Mail the run's owner about each notifiable event not yet handled; returns how many mails were sent.
    Safe to call any number of times, concurrently too: the marker's create decides who sends."""
    tenant = Tenant(tenant_id)
    pref = tenant.pipeline(pipeline_id)
    q = pref.collection("events").where(filter=gfs.FieldFilter("type", "in", sorted(EVENTS)))
    cutoff = now() - MAX_AGE
    todo = [d for d in q.stream() if (d.get("at") or cutoff) > cutoff]
    if not todo:
        return 0
    sender = sender or mailer()
    rsnap = pref.get()
    if not rsnap.exists:
        return 0
    run = rsnap.to_dict()
    to, why = _recipient(tenant, pref)
    title = None
    if to and run.get("idea_id"):
        isnap = tenant.collection("ideas").document(run["idea_id"]).get()
        title = isnap.get("title") if isnap.exists else None
    sent = 0
    for ev in sorted(todo, key=lambda d: d.id):
        marker = pref.collection("notifications").document(ev.id)
        if marker.get().exists:
            continue
        status = "sending" if to and sender else ("opted_out" if why == "opted_out" else "skipped")
        try:
            marker.create({"event": ev.id, "type": ev.get("type"), "to": to, "status": status, "created_at": now(),
                           **({"reason": why if why != "ok" else "no mailer is configured"}
                              if status != "sending" else {})})
        except gexc.AlreadyExists:
            continue  # another delivery of the same event got here first
        if status != "sending":
            log.event(logger, logging.INFO, f"notification not sent: {why if why != 'ok' else 'no mailer'}",
                      tenant_id=tenant_id, pipeline_id=pipeline_id, event=ev.id)
            continue
        try:
            sender.send(compose(ev.to_dict(), run, title, to, get_settings().public_base_url))
        except Exception as exc:  # noqa: BLE001 - a mail failure is logged and never fails a run
            marker.update({"status": "failed", "error": str(exc)[:300], "finished_at": now()})
            log.event(logger, logging.WARNING, "notification failed", tenant_id=tenant_id, pipeline_id=pipeline_id,
                      event=ev.id, error=str(exc)[:300])
            continue
        marker.update({"status": "sent", "finished_at": now()})
        sent += 1
        log.event(logger, logging.INFO, "notification sent", tenant_id=tenant_id, pipeline_id=pipeline_id,
                  event=ev.id, type=ev.get("type"))
    return sent


def after_run_changed(tenant_id: str, pipeline_id: str) -> None:
    """Called once a run stopped or paused (after its commit and publish). Never raises."""
    try:
        notify_run(tenant_id, pipeline_id)
    except Exception as exc:  # noqa: BLE001 - notifications never fail a run
        log.event(logger, logging.WARNING, "notifications could not be processed", tenant_id=tenant_id,
                  pipeline_id=pipeline_id, error=str(exc)[:300])
