"""The production ID-token path (signature checked), with a key pair and certificate this test makes.

Emulator tokens are unsigned, so the emulator tier cannot prove that tampering is caught; here
firebase-admin verifies RS256 tokens against a certificate served from a local HTTP server."""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared import errors

PROJECT = "saas-factory-prod-test"


@pytest.fixture(scope="module")
def keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return key, {"kid-1": pem}


@pytest.fixture(scope="module")
def cert_server(keypair):
    certs = json.dumps(keypair[1]).encode()

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.end_headers()
            self.wfile.write(certs)

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/certs"
    srv.shutdown()


@pytest.fixture
def production(monkeypatch, cert_server):
    import firebase_admin
    from firebase_admin import _token_gen

    for var in ("FIREBASE_AUTH_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST",
                "CLOUD_TASKS_EMULATOR_HOST", "STRIPE_API_BASE", "FACTORY_FAULTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FACTORY_ENV", "production")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", cert_server)
    from shared import clients, settings

    settings.get_settings.cache_clear()
    clients.firebase_app.cache_clear()
    for app in list(firebase_admin._apps.values()):
        firebase_admin.delete_app(app)
    from firebase_admin import credentials
    from google.auth.credentials import AnonymousCredentials

    class Anon(credentials.Base):
        def get_credential(self):
            return AnonymousCredentials()

    app = firebase_admin.initialize_app(Anon(), {"projectId": PROJECT})
    monkeypatch.setattr(clients, "firebase_app", lambda: app)
    # The Auth record lookup (deleted/disabled/revoked) has no Google here; tests/unit/test_security_unit.py
    # covers it. Here the account exists.
    from shared import auth

    monkeypatch.setattr(auth, "_lookup_account", lambda uid: auth.Account(exists=True))
    auth._accounts.clear()
    yield
    firebase_admin.delete_app(app)
    settings.get_settings.cache_clear()


def token(key, **over) -> str:
    now = int(time.time())
    claims = {"iss": f"https://securetoken.google.com/{PROJECT}", "aud": PROJECT, "sub": "user-1",
              "iat": now - 5, "exp": now + 3600, "auth_time": now - 5, "tenant_id": "t_abcdef123456",
              "role": "member", "email": "a@example.com"}
    claims.update(over)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "kid-1"})


class Req:
    def __init__(self, tok):
        self.headers = {"Authorization": f"Bearer {tok}"}


def test_valid_signed_token_is_accepted(production, keypair):
    from shared.auth import caller_from_request

    caller = caller_from_request(Req(token(keypair[0])), check_revoked=False)
    assert (caller.uid, caller.tenant_id, caller.role) == ("user-1", "t_abcdef123456", "member")


def test_tampered_token_is_401(production, keypair):
    from shared.auth import caller_from_request

    head, payload, sig = token(keypair[0]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant_id"] = "t_someoneelse1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(errors.Unauthenticated) as exc:
        caller_from_request(Req(f"{head}.{forged}.{sig}"), check_revoked=False)
    assert exc.value.code == "invalid_token"


def test_token_signed_by_another_key_is_401(production):
    from shared.auth import caller_from_request

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(errors.Unauthenticated):
        caller_from_request(Req(token(other)), check_revoked=False)


def test_unsigned_emulator_style_token_is_401_in_production(production):
    from shared.auth import caller_from_request

    unsigned = jwt.encode({"sub": "x", "aud": PROJECT, "iss": f"https://securetoken.google.com/{PROJECT}",
                           "iat": int(time.time()), "exp": int(time.time()) + 60}, key=None, algorithm="none")
    with pytest.raises(errors.Unauthenticated):
        caller_from_request(Req(unsigned), check_revoked=False)


def test_expired_and_wrong_audience_are_401(production, keypair):
    from shared.auth import caller_from_request

    with pytest.raises(errors.Unauthenticated) as exc:
        caller_from_request(Req(token(keypair[0], exp=int(time.time()) - 60, iat=int(time.time()) - 4000,
                                      auth_time=int(time.time()) - 4000)), check_revoked=False)
    assert exc.value.code == "token_expired"
    with pytest.raises(errors.Unauthenticated):
        caller_from_request(Req(token(keypair[0], aud="another-project")), check_revoked=False)
