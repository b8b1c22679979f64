"""Runs acceptance scenarios against a generated app (QA copies this file into its sandbox and runs it there).

    python runner.py PROJECT_DIR SCENARIOS_JSON RESULTS_JSONL

Standard library plus the generated app only. Every scenario gets a fresh app on its own SQLite file, so no
scenario sees another's rows; or, when the environment's CRITERIA_DATABASE_URL names a Postgres database (the
Postgres tier), on its own Postgres database: `<database>_criteria` is migrated once and every scenario runs on a
copy of it (`CREATE DATABASE <database>_s<n> TEMPLATE ...`, dropped afterwards; the template is kept). Actors are users by role: the first is the owner (claims the app with the one-time
claim token the scenario's app is configured with, `POST /api/auth/claim`), the others are added by the owner with
their role (`POST /api/users`) and sign in. Steps call the app's routes (the ones `/api/schema`
lists) through Flask's test client with the actor's session and CSRF token, and check the status and values.

A scenario is {"id", "feature", "text", "now"?, "stripe"? (payments go to a loopback Stripe stand-in),
"unclaimed"? (true: nobody claims the app; only guests act), "config"? (settings for the app, a null value
removes the runner's own, e.g. {"SECRET_KEY": null}), "refuses_to_start"? (true: the scenario passes only when the
app refuses to start with that config), "actors": {name: role}, "steps": [step]}; an actor whose role is null is
a guest: a client that keeps its cookies but is not signed in (it may sign up or sign in in a step). A step is
{"as": actor|null, "method", "path", "json"?, "form"? (a form post; with "files" a multipart one), "files"?
 ({field: {"name", "content", "type", "pad_to"?}}), "csrf"? (false: send no CSRF token), "expect": status or
 [statuses], "save"?: var, "headers"?: {name: value} (sent as they are, e.g. a forged Host),
 "raw_json"?: text (a JSON body sent as it is), "stripe_signed"?: true (the "json" body goes as Stripe sends a
 webhook: its text signed with the scenario's STRIPE_WEBHOOK_SECRET in a `Stripe-Signature` header), "hold_open"?: true (the response's body is not read: a
 stream stays open until the scenario ends), "sql"?: [statements] (instead of a request: run on the
 app's database directly, as someone who can write it but holds none of the app's keys), "copy_session_to"?: guest (before the request, the guest gets the actor's session cookie and CSRF token: a
 stolen copy of the cookie),
 "checks"?: [{"path": "a.b.0", "op": "eq|ne|in|contains|not_contains|len|len_ge|true|false|ge|le|
 text_contains|text_not_contains|any|none|count", "value"?, "key"? (any/none/count: items whose key equals value),
 "n"? (count), "header"? (check this response header's text instead of the body), "if_status"? ([statuses]: check
 only when the response had one of them)}], "note"?}. Strings "${var.path}" in paths and bodies are replaced by
saved values. A response carrying a top-level "csrf_token" (sign-in, /api/auth/me) renews the actor's token.
One JSON line per scenario goes to RESULTS_JSONL: {id, passed, steps_run, failed_step?, detail?}.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import tempfile
import traceback

PASSWORD = "criteria-pass-phrase-1"
_STRIPE: dict = {}


def stripe_stand_in() -> str:
    """A loopback stand-in for Stripe's Checkout Sessions API (QA has no network): it answers
    `POST /v1/checkout/sessions` like Stripe test mode and remembers what it was asked. Returns its base URL."""
    if "url" in _STRIPE:
        return _STRIPE["url"]
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qsl

    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server interface
            form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()))
            seen.append(form)
            n = len(seen)
            body = json.dumps({"id": f"cs_test_criteria_{n}", "object": "checkout.session",
                               "url": f"https://checkout.stripe.test/c/{n}", "status": "open",
                               "amount_total": int(form.get("line_items[0][price_data][unit_amount]", 0) or 0),
                               "currency": form.get("line_items[0][price_data][currency]")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _STRIPE.update(url=f"http://127.0.0.1:{server.server_port}", seen=seen)
    return _STRIPE["url"]
_VAR = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


def _dig(value, path: str):
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(path)
    return value


def stripe_signature(payload: str, secret: str, at: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends with a webhook: `t=<unix time>,v1=<HMAC-SHA256 of "t.payload">`
    keyed with the endpoint's signing secret (the app's STRIPE_WEBHOOK_SECRET)."""
    import hashlib
    import hmac
    import time

    t = int(time.time()) if at is None else at
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.{payload}'.encode(), hashlib.sha256).hexdigest()}"


def _subst(obj, saved: dict):
    if isinstance(obj, str):
        whole = _VAR.fullmatch(obj)
        if whole:
            return _dig(saved, whole.group(1))
        return _VAR.sub(lambda m: str(_dig(saved, m.group(1))), obj)
    if isinstance(obj, list):
        return [_subst(v, saved) for v in obj]
    if isinstance(obj, dict):
        return {k: _subst(v, saved) for k, v in obj.items()}
    return obj


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, str) or isinstance(b, (int, float)) and isinstance(a, str):
        try:
            return float(a) == float(b)
        except ValueError:
            return False
    if isinstance(a, str) and isinstance(b, str) and a.endswith("Z") != b.endswith("Z"):
        return a.removesuffix("Z").removesuffix("+00:00") == b.removesuffix("Z").removesuffix("+00:00")
    return a == b


def _check(body, text: str, check: dict, headers=None) -> str | None:
    op, want = check["op"], check.get("value")
    if check.get("header"):
        body = text = (headers or {}).get(check["header"], "")
        check = {**check, "path": ""}
    if op == "text_contains":
        return None if str(want) in text else f"the response does not contain {want!r}"
    if op == "text_not_contains":
        return None if str(want) not in text else f"the response contains {want!r}"
    try:
        got = _dig(body, check.get("path", ""))
    except (KeyError, IndexError, ValueError, TypeError):
        return f"the response has no {check.get('path')!r}"
    ok = {
        "eq": lambda: _same(got, want),
        "ne": lambda: not _same(got, want),
        "in": lambda: any(_same(got, w) for w in want),
        "contains": lambda: any(_same(x, want) for x in got) if isinstance(got, list) else str(want) in str(got),
        "not_contains": lambda: not any(_same(x, want) for x in got) if isinstance(got, list)
        else str(want) not in str(got),
        "len": lambda: len(got) == want,
        "len_ge": lambda: len(got) >= want,
        "true": lambda: bool(got),
        "false": lambda: not got,
        "any": lambda: any(isinstance(x, dict) and _same(x.get(check["key"]), want) for x in got),
        "none": lambda: not any(isinstance(x, dict) and _same(x.get(check["key"]), want) for x in got),
        "count": lambda: sum(1 for x in got if isinstance(x, dict) and _same(x.get(check["key"]), want))
        == check["n"],
        "ge": lambda: float(got) >= float(want),
        "le": lambda: float(got) <= float(want),
    }.get(op)
    if ok is None:
        return f"unknown check {op!r}"
    return None if ok() else f"{check.get('path') or 'the response'} is {json.dumps(got)[:160]}, expected {op} " \
                             f"{json.dumps(want)[:160]}"


class Actors:
    def __init__(self, app, roles: dict[str, str], claimed: bool = True):
        self.app = app
        self.clients: dict[str, object] = {}
        if not claimed:  # an app nobody has claimed yet: guests only
            for name, role in roles.items():
                if role is not None:
                    raise RuntimeError(f"an unclaimed app has no {role}: only guests act in it")
                c = self.app.test_client()
                c.csrf, c.role, c.email = None, None, ""
                self.clients[name] = c
            return
        owner = self.app.test_client()
        r = owner.post("/api/auth/claim", json={"token": app.config["OWNER_CLAIM_TOKEN"],
                                                "email": "owner@criteria.example", "password": PASSWORD})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"the owner could not claim the app: {r.status_code} "
                               f"{r.get_data(as_text=True)[:200]}")
        owner.csrf = r.get_json()["csrf_token"]
        self.owner = owner
        owner.role = "owner"
        owner.email = "owner@criteria.example"
        self.clients["owner"] = owner
        for name, role in roles.items():
            if name == "owner":
                continue
            if role is None:  # a guest: keeps its cookies, never added by the owner
                c = self.app.test_client()
                c.csrf, c.role, c.email = None, None, ""
                self.clients[name] = c
                continue
            email = f"{name}@criteria.example"
            r = owner.post("/api/users", json={"email": email, "password": PASSWORD, "role": role},
                           headers={"X-CSRF-Token": owner.csrf})
            if r.status_code != 201:
                raise RuntimeError(f"the owner could not add a {role}: {r.status_code} "
                                   f"{r.get_data(as_text=True)[:200]}")
            c = self.app.test_client()
            r = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            if r.status_code != 200:
                raise RuntimeError(f"the {role} could not sign in: {r.status_code}")
            c.csrf = r.get_json()["csrf_token"]
            c.role = role
            c.email = email
            self.clients[name] = c

    def client(self, name):
        if name in (None, "anon"):
            return self.app.test_client(), None
        c = self.clients[name]
        return c, c.csrf


class Databases:
    """A fresh database per scenario: a SQLite file in `workdir`, or a copy of a migrated Postgres template."""

    def __init__(self, create_app, workdir: str, url: str | None):
        self.workdir, self.url, self.admin, self.made = workdir, None, None, 0
        if not url:
            return
        from sqlalchemy import create_engine, make_url

        self.url = make_url(url)
        self.template = f"{self.url.database}_criteria"
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
        self._sql(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)', f'CREATE DATABASE "{self.template}"')
        app = create_app({"TESTING": True, "SECRET_KEY": os.urandom(16).hex(), "DATABASE_URL": self._url(
            self.template), "UPLOAD_DIR": os.path.join(workdir, "template-uploads")})
        app.extensions["db_engine"].dispose()  # a template must have no connections when it is copied

    def _sql(self, *statements: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))

    def _url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def fresh(self, key: str) -> str:
        """The URL of a new, migrated, empty database for the scenario `key`."""
        if self.url is None:
            return f"sqlite:///{os.path.join(self.workdir, key + '.db')}"
        self.made += 1
        name = f"{self.url.database}_s{self.made}"
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE '
                                                                     f'"{self.template}"')
        return self._url(name)

    def done(self, url: str) -> None:
        if self.url is not None:
            from sqlalchemy import make_url

            self._sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        """Every scenario's database is gone; the migrated template stays (its owner drops the server)."""
        if self.admin is not None:
            self.admin.dispose()


def run_scenario(create_app, scenario: dict, workdir: str, databases: Databases | None = None) -> dict:
    databases = databases or Databases(create_app, workdir, None)
    url = databases.fresh(scenario["id"])
    try:
        return _run_scenario(create_app, scenario, workdir, url)
    finally:
        databases.done(url)


def _run_scenario(create_app, scenario: dict, workdir: str, url: str) -> dict:
    config = {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": os.urandom(16).hex(),
              "OWNER_CLAIM_TOKEN": os.urandom(16).hex(),
              "UPLOAD_DIR": os.path.join(workdir, f"{scenario['id']}-uploads"),
              "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "NOW": scenario.get("now")}
    if scenario.get("stripe"):  # payments talk to the loopback stand-in, as they would to Stripe test mode
        config.update(STRIPE_API_KEY="sk_test_criteria", STRIPE_API_BASE=stripe_stand_in(),
                      STRIPE_NETWORK_RETRIES="0", STRIPE_WEBHOOK_SECRET="whsec_criteria")
    for key, value in (scenario.get("config") or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    out = {"id": scenario["id"], "passed": False, "steps_run": 0}
    if scenario.get("refuses_to_start"):
        try:
            app = create_app(config)
        except Exception as exc:  # noqa: BLE001 - a refusal is the app's SettingsError; anything else is reported
            if exc.__class__.__name__ == "SettingsError":
                out["passed"] = True
            else:
                out.update(failed_step=1, detail=f"the app crashed instead of refusing to start: "
                                                 f"{exc.__class__.__name__}: {str(exc)[:200]}")
            return out
        engine = app.extensions.get("db_engine")
        if engine is not None:
            engine.dispose()
        out.update(failed_step=1, detail=f"the app started with {json.dumps(scenario.get('config') or {})}; it "
                                         f"must refuse to start")
        return out
    app = create_app(config)
    held: list = []
    try:
        actors = Actors(app, scenario.get("actors") or {}, claimed=not scenario.get("unclaimed"))
        saved: dict = {"actor": {n: {"email": getattr(c, "email", ""), "name": getattr(c, "email", "").split("@")[0]}
                                 for n, c in actors.clients.items()}}  # name: what other members are shown
        for i, step in enumerate(scenario["steps"], 1):
            if step.get("sql"):  # someone who can write the database but holds no key of the app's
                with app.extensions["db_engine"].begin() as conn:
                    for statement in step["sql"]:
                        conn.exec_driver_sql(statement)
                out["steps_run"] = i
                continue
            client, csrf = actors.client(step.get("as"))
            path = _subst(step["path"], saved)
            headers = {"X-CSRF-Token": csrf} if csrf and step.get("csrf", True) else {}
            headers.update(step.get("headers") or {})
            if step.get("copy_session_to"):  # a stolen copy of the actor's cookie, in another client
                thief = actors.clients[step["copy_session_to"]]
                cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME") or "session")
                if cookie is None:
                    raise RuntimeError(f"{step.get('as')} has no session cookie to copy")
                thief.set_cookie(cookie.key, cookie.value)
                thief.csrf = csrf
            kw: dict = {}
            if step.get("files"):
                data = dict(_subst(step.get("form") or {}, saved))
                for field, f in step["files"].items():
                    content = f["content"].encode("latin-1")
                    if f.get("pad_to"):
                        content = (content + b"a" * f["pad_to"])[:f["pad_to"]]
                    data[field] = (io.BytesIO(content), f["name"], f.get("type"))
                kw.update(data=data, content_type="multipart/form-data")
            elif "json" in step and step.get("stripe_signed"):  # Stripe's own call, signed as Stripe signs it
                body = json.dumps(_subst(step["json"], saved))
                headers["Stripe-Signature"] = stripe_signature(body, app.config.get("STRIPE_WEBHOOK_SECRET") or "")
                kw.update(data=body, content_type="application/json")
            elif "json" in step:
                kw["json"] = _subst(step["json"], saved)
            elif "raw_json" in step:  # JSON text sent as it is (a body too deep for json.dumps to write)
                kw.update(data=step["raw_json"], content_type="application/json")
            elif "form" in step:
                kw["data"] = _subst(step["form"], saved)
            if step.get("now"):
                app.config["NOW"] = step["now"]
            r = client.open(path, method=step["method"], headers=headers, **kw)
            out["steps_run"] = i
            if step.get("hold_open"):  # a stream left open (its body never read) until the scenario ends
                held.append(r)
                text = ""
            else:
                text = r.get_data().decode("utf-8", "replace")
            expect = step.get("expect", 200)
            expect = expect if isinstance(expect, list) else [expect]
            where = f"step {i} ({step.get('note') or step['method'] + ' ' + path})"
            if r.status_code not in expect:
                out.update(failed_step=i, detail=f"{where}: expected {'/'.join(map(str, expect))}, got "
                                                   f"{r.status_code}: {text[:240]}")
                return out
            body = None if step.get("hold_open") else r.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("csrf_token"), str) and hasattr(client, "csrf"):
                client.csrf = body["csrf_token"]  # signing in (again) renews the session's token
            for check in step.get("checks") or []:
                if check.get("if_status") and r.status_code not in check["if_status"]:
                    continue
                problem = _check(body, text, _subst(check, saved), r.headers)
                if problem:
                    out.update(failed_step=i, detail=f"{where}: {problem}")
                    return out
            if step.get("save"):
                saved[step["save"]] = body if body is not None else {"text": text}
        out["passed"] = True
        return out
    except Exception as exc:  # noqa: BLE001 - a scenario that cannot run is a failed criterion, with the reason
        out.update(failed_step=out["steps_run"] + 1, detail=f"the scenario could not run: {exc.__class__.__name__}: "
                                                              f"{str(exc)[:200]}",
                   trace=traceback.format_exc()[-800:])
        return out
    finally:
        for r in held:
            r.close()
        engine = app.extensions.get("db_engine")
        if engine is not None:
            engine.dispose()


def main(argv: list[str]) -> int:
    project, scenarios_path, results_path = argv[1:4]
    sys.path.insert(0, project)
    os.chdir(project)
    import logging

    logging.disable(logging.CRITICAL)
    from app import create_app

    scenarios = json.loads(open(scenarios_path, encoding="utf-8").read())
    workdir = tempfile.mkdtemp(prefix="criteria-")
    databases = None
    try:
        databases = Databases(create_app, workdir, os.environ.get("CRITERIA_DATABASE_URL"))
        with open(results_path, "a", encoding="utf-8") as out:
            for scenario in scenarios:
                result = run_scenario(create_app, scenario, workdir, databases)
                out.write(json.dumps(result) + "\n")
                out.flush()
            out.write(json.dumps({"summary": True, "scenarios": len(scenarios)}) + "\n")
    finally:
        if databases is not None:
            databases.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
