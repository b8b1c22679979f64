"""Issue 9 at the unit tier: account state checks, service-caller verification (OIDC audience and
email, the local push secret), claim sanitising, id validation and JSON depth before parsing."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from shared import auth, errors, http, store


@pytest.fixture
def local_settings(monkeypatch):
    from shared import settings

    monkeypatch.setenv("FACTORY_ENV", "local")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-unit")
    monkeypatch.setenv("SERVICE_TOKEN", "local-service-token-for-unit-tests")
    settings.get_settings.cache_clear()
    yield settings.get_settings()
    settings.get_settings.cache_clear()


@pytest.fixture
def prod_settings(monkeypatch):
    from shared import settings

    for var in ("FIREBASE_AUTH_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST",
                "CLOUD_TASKS_EMULATOR_HOST", "STRIPE_API_BASE", "FACTORY_FAULTS", "SERVICE_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FACTORY_ENV", "production")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "saas-factory-prod")
    monkeypatch.setenv("SERVICE_ACCOUNTS", "fn-watchdog@p.iam.gserviceaccount.com,fn-pubsub-push@p.iam.gserviceaccount.com")
    monkeypatch.setenv("FUNCTION_URL_TEMPLATE", "https://{service}-123.us-central1.run.app")
    settings.get_settings.cache_clear()
    yield settings.get_settings()
    settings.get_settings.cache_clear()


# ------------------------------------------------------------------ deleted / disabled / revoked


@pytest.fixture
def accounts(monkeypatch):
    """A fake Auth record store behind auth._lookup_account, counting lookups."""
    records: dict[str, auth.Account] = {}
    lookups: list[str] = []

    def lookup(uid):
        lookups.append(uid)
        return records.get(uid, auth.Account(exists=False))

    monkeypatch.setattr(auth, "_lookup_account", lookup)
    auth._accounts.clear()
    yield records, lookups
    auth._accounts.clear()


def claims(**over) -> dict:
    now = int(time.time())
    return {"uid": "u1", "iat": now, "auth_time": now, **over}


def test_deleted_account_is_401_not_500(accounts):
    with pytest.raises(errors.Unauthenticated) as exc:
        auth.check_account(claims())
    assert exc.value.code == "account_deleted"


def test_disabled_account_is_401(accounts):
    records, _ = accounts
    records["u1"] = auth.Account(exists=True, disabled=True)
    with pytest.raises(errors.Unauthenticated) as exc:
        auth.check_account(claims())
    assert exc.value.code == "user_disabled"


def test_token_issued_before_revocation_is_401(accounts):
    records, _ = accounts
    now = int(time.time())
    records["u1"] = auth.Account(exists=True, valid_after_ms=now * 1000)
    with pytest.raises(errors.Unauthenticated) as exc:
        auth.check_account(claims(iat=now - 5))
    assert exc.value.code == "token_revoked"
    assert auth.check_account(claims(iat=now)).exists  # issued in or after the revocation second


def test_account_state_is_cached_for_the_ttl_then_looked_up_again(accounts, monkeypatch):
    records, lookups = accounts
    records["u1"] = auth.Account(exists=True)
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    auth.check_account(claims())
    auth.check_account(claims())
    assert lookups == ["u1"], "one lookup per TTL"
    del records["u1"]  # the account is deleted
    clock[0] += auth.ACCOUNT_CHECK_TTL_S - 0.1
    auth.check_account(claims())  # still inside the bound
    clock[0] += 0.2
    with pytest.raises(errors.Unauthenticated):
        auth.check_account(claims())
    assert lookups == ["u1", "u1"]
    # Where money or deletion is involved, the record is read fresh.
    records["u1"] = auth.Account(exists=True)
    auth.check_account(claims(), fresh=True)
    assert lookups == ["u1", "u1", "u1"]


# ------------------------------------------------------------------ claims that this service never sets


@pytest.mark.parametrize("tenant_claim", [["t_abcdef123"], "../x", "__t_abc__", "t/abcdefg", {"a": 1}, 12345678])
def test_malformed_tenant_claim_is_401_not_500(accounts, monkeypatch, tenant_claim):
    records, _ = accounts
    records["u1"] = auth.Account(exists=True)
    monkeypatch.setattr(auth, "verify_id_token", lambda token, check_revoked: claims(tenant_id=tenant_claim,
                                                                                        role="owner"))
    req = SimpleNamespace(headers={"Authorization": "Bearer x.y.z"})
    with pytest.raises(errors.Unauthenticated) as exc:
        auth.caller_from_request(req, check_revoked=False)
    assert exc.value.code == "invalid_token"


def test_malformed_role_claim_is_401(accounts, monkeypatch):
    records, _ = accounts
    records["u1"] = auth.Account(exists=True)
    monkeypatch.setattr(auth, "verify_id_token", lambda token, check_revoked: claims(tenant_id="t_abcdef123",
                                                                                        role=["owner"]))
    with pytest.raises(errors.Unauthenticated):
        auth.caller_from_request(SimpleNamespace(headers={"Authorization": "Bearer x"}), check_revoked=False)


# ------------------------------------------------------------------ service callers (Broken 5)


def test_service_oidc_token_is_verified_with_this_functions_audience(prod_settings, monkeypatch):
    from google.oauth2 import id_token

    seen = {}

    def verify(token, request, audience=None, **kw):
        seen["audience"] = audience
        if audience is None:
            raise AssertionError("audience=None accepts a token minted for any service")
        if token != "minted-for-watchdog":
            raise ValueError("Token has wrong audience")
        return {"email": "fn-watchdog@p.iam.gserviceaccount.com", "email_verified": True,
                "aud": "https://watchdog-123.us-central1.run.app/deadline"}

    monkeypatch.setattr(id_token, "verify_oauth2_token", verify)
    req = SimpleNamespace(headers={"Authorization": "Bearer minted-for-watchdog"}, path="/deadline")
    assert auth.require_service(req, "watchdog") == "fn-watchdog@p.iam.gserviceaccount.com"
    assert "https://watchdog-123.us-central1.run.app" in seen["audience"]
    assert "https://watchdog-123.us-central1.run.app/deadline" in seen["audience"]
    assert not any("factory" in a for a in seen["audience"])
    with pytest.raises(errors.Forbidden):
        auth.require_service(SimpleNamespace(headers={"Authorization": "Bearer minted-for-another"}, path="/"),
                             "watchdog")


def test_service_token_of_an_unlisted_account_is_403(prod_settings, monkeypatch):
    from google.oauth2 import id_token

    monkeypatch.setattr(id_token, "verify_oauth2_token",
                        lambda *a, **k: {"email": "someone@else.iam.gserviceaccount.com", "email_verified": True})
    with pytest.raises(errors.Forbidden):
        auth.require_service(SimpleNamespace(headers={"Authorization": "Bearer t"}, path="/"), "watchdog")


def test_push_needs_the_local_secret(local_settings):
    secret = auth.push_secret("local-service-token-for-unit-tests")
    ok = SimpleNamespace(args={auth.PUSH_PARAM: secret}, headers={})
    assert auth.require_push(ok, "dead_letter") == "local-pubsub"
    for args in ({}, {auth.PUSH_PARAM: "guess"}, {auth.PUSH_PARAM: "local-service-token-for-unit-tests"}):
        with pytest.raises(PermissionError):
            auth.require_push(SimpleNamespace(args=args, headers={}), "dead_letter")
    with pytest.raises(PermissionError):
        auth.require_push(None, "dead_letter")


def test_push_in_production_needs_an_oidc_token_for_this_function(prod_settings, monkeypatch):
    from google.oauth2 import id_token

    def verify(token, request, audience=None, **kw):
        if "https://dead-letter-123.us-central1.run.app" not in audience:
            raise ValueError("wrong audience")
        return {"email": "fn-pubsub-push@p.iam.gserviceaccount.com", "email_verified": True}

    monkeypatch.setattr(id_token, "verify_oauth2_token", verify)
    good = SimpleNamespace(args={}, headers={"Authorization": "Bearer t"})
    assert auth.require_push(good, "dead_letter") == "fn-pubsub-push@p.iam.gserviceaccount.com"
    with pytest.raises(PermissionError):
        auth.require_push(SimpleNamespace(args={}, headers={}), "dead_letter")


def test_dead_letter_function_refuses_an_unverified_caller(local_settings, monkeypatch):
    """A hand-made CloudEvent straight to the dead-letter function is a 403, and touches nothing."""
    import functions_framework

    from shared.runs import claims

    touched = []
    monkeypatch.setattr(claims, "fail_pipeline", lambda *a, **k: touched.append(a) or True)
    client = functions_framework.create_app("handle", "functions/dead_letter/main.py", "cloudevent").test_client()
    import base64

    envelope = {"message": {"data": base64.b64encode(b"{}").decode(), "messageId": "1",
                            "attributes": {"tenant_id": "t_victim1234", "pipeline_id": "p_victim1234",
                                           "stage": "development", "attempt": "1", "dispatch_id": "d_abcdef"}},
                "subscription": "projects/x/subscriptions/y"}
    r = client.post("/", json=envelope)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "push_only"
    assert touched == []
    secret = auth.push_secret("local-service-token-for-unit-tests")
    r = client.post(f"/?{auth.PUSH_PARAM}={secret}", json=envelope)
    assert r.status_code == 200 and len(touched) == 1


def test_dead_letter_without_attempt_or_dispatch_touches_no_run(local_settings, monkeypatch):
    from shared import dead_letter
    from shared.runs import claims

    touched = []
    monkeypatch.setattr(claims, "fail_pipeline", lambda *a, **k: touched.append(k) or True)
    monkeypatch.setattr(dead_letter, "verify_caller", lambda fn: None)
    for attrs in ({"tenant_id": "t_victim1234", "pipeline_id": "p_victim1234", "stage": "qa"},
                  {"tenant_id": "t_victim1234", "pipeline_id": "p_victim1234", "stage": "qa", "attempt": "2"},
                  {"tenant_id": "t_victim1234", "pipeline_id": "p_victim1234", "stage": "qa", "dispatch_id": "d_x"}):
        dead_letter.handle_dead_letter(SimpleNamespace(data={"message": {"attributes": attrs}}))
    assert touched == []
    dead_letter.handle_dead_letter(SimpleNamespace(data={"message": {"attributes": {
        "tenant_id": "t_victim1234", "pipeline_id": "p_victim1234", "stage": "qa", "attempt": "2",
        "dispatch_id": "d_current"}}}))
    assert touched and touched[0]["attempt"] == 2 and touched[0]["dispatch_id"] == "d_current"


# ------------------------------------------------------------------ ids and JSON depth (Broken 7)


@pytest.mark.parametrize("value", ["__x__", "__abcdef__", ".", "..", "a/b", "", "x" * 129, "a b", "%2e%2e", "é"])
def test_invalid_ids(value):
    assert not store.valid_id(value)


@pytest.mark.parametrize("value", ["p_0123456789", "u_abc", "AbC-09_x", "x" * 128])
def test_valid_ids(value):
    assert store.valid_id(value)


def test_tenant_refuses_reserved_ids():
    with pytest.raises(ValueError):
        store.Tenant("__abcdef__")


def test_json_depth_counts_brackets_outside_strings():
    assert http.json_depth(b'{"a": [1, {"b": 2}]}') == 3
    assert http.json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert http.json_depth(b'{"a": "\\"[[[[[["}') == 1
    assert http.json_depth(b"[" * 5000, limit=32) == 33  # stops early


def test_deep_body_is_400_before_parsing(monkeypatch):
    import flask

    app = flask.Flask("t")
    called = []
    monkeypatch.setattr(json, "loads", lambda *a, **k: called.append(1))
    with app.test_request_context("/", method="POST", data=b"[" * 2000 + b"]" * 2000,
                                  content_type="application/json"):
        call = http.Call(flask.request, {})
        with pytest.raises(errors.BadRequest) as exc:
            call.json()
    assert exc.value.code == "json_too_deep" and called == []


def test_router_validates_path_ids_before_the_handler():
    import flask

    router = http.Router("t")
    seen = []

    @router.route("GET", "/api/things/{thing_id}")
    def get(call):
        seen.append(call.params["thing_id"])
        return {"ok": True}

    app = flask.Flask("t")
    for bad in ("__x__", "..", "%2e%2e", "a.b"):
        with app.test_request_context(f"/api/things/{bad}"):
            r = router.dispatch(flask.request)
        assert r.status_code == 400, bad
        assert json.loads(r.data)["error"]["code"] == "invalid_id"
    with app.test_request_context("/api/things/p_abc123"):
        assert router.dispatch(flask.request).status_code == 200
    assert seen == ["p_abc123"]


def test_reserved_ids_in_models_are_400():
    from pydantic import ValidationError

    from shared.models.pipeline import StageMessage, TriggerCreate

    with pytest.raises(ValidationError):
        TriggerCreate.model_validate({"idea_id": "__abcdef__"})
    with pytest.raises(ValidationError):
        StageMessage.model_validate({"tenant_id": "__abcdef__", "pipeline_id": "p_abcdef", "stage": "qa",
                                     "attempt": 1, "dispatch_id": "d_abcdef"})
