import pytest

from shared.settings import ConfigError, Settings

LOCAL = {"FACTORY_ENV": "local", "GOOGLE_CLOUD_PROJECT": "demo-factory"}
PROD = {"FACTORY_ENV": "production", "GOOGLE_CLOUD_PROJECT": "saas-factory-prod"}


@pytest.fixture
def env(monkeypatch):
    for var in ("FACTORY_ENV", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "FIRESTORE_EMULATOR_HOST",
                "PUBSUB_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "CLOUD_TASKS_EMULATOR_HOST",
                "STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "FACTORY_FAULTS"):
        monkeypatch.delenv(var, raising=False)

    def apply(values):
        for k, v in values.items():
            monkeypatch.setenv(k, v)
    return apply


def test_mode_must_be_explicit(env):
    env({"GOOGLE_CLOUD_PROJECT": "demo-factory"})
    with pytest.raises(ValueError, match="FACTORY_ENV"):
        Settings()


def test_local_mode_accepts_emulators(env):
    env({**LOCAL, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})
    s = Settings()
    assert s.local and s.auth_emulator_host == "127.0.0.1:9099"


@pytest.mark.parametrize("var", ["FIREBASE_AUTH_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST",
                                 "PUBSUB_EMULATOR_HOST", "CLOUD_TASKS_EMULATOR_HOST", "STRIPE_API_BASE"])
def test_production_refuses_emulator_hosts(env, var):
    env({**PROD, var: "127.0.0.1:1234"})
    with pytest.raises(ValueError, match=var):
        Settings()


def test_production_refuses_demo_project(env):
    env({**PROD, "GOOGLE_CLOUD_PROJECT": "demo-factory"})
    with pytest.raises(ValueError, match="demo-"):
        Settings()


def test_required_secrets(env):
    env({**PROD})
    s = Settings()
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET is not set"):
        s.require("stripe_webhook_secret")
    env({"STRIPE_WEBHOOK_SECRET": "whsec_changeme"})
    with pytest.raises(ConfigError, match="placeholder"):
        Settings().require("stripe_webhook_secret")
    env({"STRIPE_WEBHOOK_SECRET": "whsec_" + "a" * 32, "STRIPE_SECRET_KEY": "pk_live_notsecret"})
    Settings().require("stripe_webhook_secret")
    with pytest.raises(ConfigError, match="secret or restricted key"):
        Settings().require("stripe_secret_key")


def test_secrets_do_not_leak_in_repr(env):
    env({**LOCAL, "STRIPE_SECRET_KEY": "sk_test_supersecretvalue"})
    assert "supersecret" not in repr(Settings())


@pytest.mark.parametrize("value", ['{"qa": "llm", "development": "passthrough"}', "qa=llm,development=passthrough"])
def test_engine_by_stage_accepts_json_or_pairs(env, value):
    env({**LOCAL, "ENGINE_BY_STAGE": value})
    assert Settings().engine_by_stage == {"qa": "llm", "development": "passthrough"}


def test_service_accounts_comma_separated(env):
    env({**PROD, "SERVICE_ACCOUNTS": "fn-watchdog@p.iam.gserviceaccount.com, fn-x@p.iam.gserviceaccount.com"})
    assert Settings().service_accounts == ("fn-watchdog@p.iam.gserviceaccount.com", "fn-x@p.iam.gserviceaccount.com")


def test_llm_response_format_defaults_to_json_object_and_refuses_unknown_values(env, monkeypatch):
    monkeypatch.delenv("LLM_RESPONSE_FORMAT", raising=False)
    env(LOCAL)
    assert Settings().llm_response_format == "json_object"
    env({"LLM_RESPONSE_FORMAT": "json_object_schema"})
    assert Settings().llm_response_format == "json_object_schema"
    env({"LLM_RESPONSE_FORMAT": "xml"})
    with pytest.raises(ValueError, match="LLM_RESPONSE_FORMAT"):
        Settings()
