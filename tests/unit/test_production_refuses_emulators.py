"""A function started with production settings and an emulator host refuses to start."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_signup(extra_env: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env.update({"PYTHONPATH": str(ROOT), "GOOGLE_CLOUD_PROJECT": "saas-factory-prod", **extra_env})
    code = ("import functions_framework; functions_framework.create_app("
            f"'signup', {str(ROOT / 'functions/signup/main.py')!r}, 'http')")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_production_with_auth_emulator_host_does_not_start():
    p = start_signup({"FACTORY_ENV": "production", "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})
    assert p.returncode != 0
    assert "FIREBASE_AUTH_EMULATOR_HOST" in p.stderr and "refuse" in p.stderr


def test_production_without_emulators_starts():
    p = start_signup({"FACTORY_ENV": "production"})
    assert p.returncode == 0, p.stderr


def test_production_with_storage_emulator_host_does_not_start():
    """Artifacts: an emulator bucket in production would take anyone's writes and serve unchecked bytes."""
    p = start_signup({"FACTORY_ENV": "production", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9199"})
    assert p.returncode != 0
    assert "STORAGE_EMULATOR_HOST" in p.stderr and "refuse" in p.stderr
