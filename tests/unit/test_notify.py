"""The notification adapter (shared/notify.py): what a mail says, SendGrid's request, SMTP to a real aiosmtpd
server, and which adapter each environment gets. SendGrid itself is never called: its URL points at a local server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from emulator import mailsink
from shared import notify
from shared.settings import Settings
from tests.conftest import free_port

RUN = {"pipeline_id": "p_abc"}


@pytest.mark.parametrize("etype,subject", [
    ("factory_completed", "Your app is ready: Tip jar"),
    ("factory_failed", "Your run stopped: Tip jar"),
    ("factory_needs_input", "Your idea needs your input: Tip jar"),
    ("awaiting_approval", "Approval needed: Tip jar"),
    ("plan_review", "Plan review needed: Tip jar"),
])
def test_each_event_has_its_subject_a_link_and_how_to_stop(etype, subject):
    mail = notify.compose({"type": etype, "message": "QA failed twice"}, RUN, "Tip jar", "a@x.io", "https://f.app/")
    assert mail.subject == subject and mail.to == "a@x.io"
    assert "QA failed twice" in mail.text and "https://f.app/#/pipelines/p_abc" in mail.text
    assert "Turn them off" in mail.text
    assert notify.compose({"type": etype}, RUN, None, "a@x.io", "h").subject.endswith("your idea")


def test_an_event_message_that_repeats_the_lead_is_not_repeated():
    text = notify.compose({"type": "factory_completed", "message": "The app is built, tested and deployed"}, RUN,
                          "T", "a@x.io", "h").text
    assert text.lower().count("built, tested and deployed") == 1


def test_sendgrid_request_carries_the_key_and_the_v3_body():
    seen = {}

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen["auth"] = self.headers["Authorization"]
            seen["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(seen.get("status", 202))
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/v3/mail/send"
        m = notify.SendGridMailer("SG.key", "Factory <n@f.app>", 5, url=url)
        m.send(notify.Mail("a@x.io", "Hi", "Body"))
        assert seen["auth"] == "Bearer SG.key"
        assert seen["body"] == {"personalizations": [{"to": [{"email": "a@x.io"}]}],
                                "from": {"email": "n@f.app", "name": "Factory"}, "subject": "Hi",
                                "content": [{"type": "text/plain", "value": "Body"}]}
        seen["status"] = 401
        with pytest.raises(RuntimeError, match="SendGrid answered 401"):
            m.send(notify.Mail("a@x.io", "Hi", "Body"))
    finally:
        srv.shutdown()


def test_smtp_mailer_delivers_to_the_sink(tmp_path):
    from aiosmtpd.controller import Controller

    store = mailsink.Store(tmp_path / "mail.jsonl")
    ctl = Controller(mailsink.Handler(store), hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        notify.SmtpMailer("127.0.0.1", ctl.port, "Factory <n@f.app>", 5).send(
            notify.Mail("Founder@X.io", "Your app is ready", "Open it"))
    finally:
        ctl.stop()
    [m] = store.list("founder@x.io")
    assert m["subject"] == "Your app is ready" and m["text"].strip() == "Open it" and m["from"] == "n@f.app"
    assert mailsink.Store(tmp_path / "mail.jsonl").list() == [m]  # kept across a restart
    assert "Your app is ready" in mailsink.page([m])


def _settings(**env) -> Settings:
    return Settings(FACTORY_ENV=env.pop("env", "local"), GOOGLE_CLOUD_PROJECT=env.pop("project", "demo-x"), **env)


def test_each_environment_gets_its_adapter(monkeypatch):
    cases = [
        (_settings(SMTP_EMULATOR_HOST="127.0.0.1:2525"), notify.SmtpMailer),
        (_settings(), type(None)),
        (_settings(env="production", project="real-proj", SENDGRID_API_KEY="SG.k"), notify.SendGridMailer),
        (_settings(env="production", project="real-proj"), type(None)),
        (_settings(env="production", project="real-proj", SENDGRID_API_KEY="none"), type(None)),
    ]
    for settings, kind in cases:
        notify.mailer.cache_clear()
        monkeypatch.setattr(notify, "get_settings", lambda s=settings: s)
        assert isinstance(notify.mailer(), kind), settings
    notify.mailer.cache_clear()


def test_production_refuses_the_smtp_sink():
    with pytest.raises(ValueError, match="SMTP_EMULATOR_HOST"):
        _settings(env="production", project="real-proj", SMTP_EMULATOR_HOST="127.0.0.1:2525")
