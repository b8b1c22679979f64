"""Emulator discovery order: env override, then the gcloud install, then the Firebase CLI cache."""

import os
import socket
import stat
from pathlib import Path

import pytest

from emulator import localcloud


@pytest.fixture
def no_gcloud(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for v in ("FIRESTORE_EMULATOR_JAR", "PUBSUB_EMULATOR_JAR"):
        monkeypatch.delenv(v, raising=False)
    return tmp_path


def make_sdk(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    gcloud = root / "bin" / "gcloud"
    gcloud.write_text("#!/bin/sh\nexit 1\n")
    gcloud.chmod(gcloud.stat().st_mode | stat.S_IEXEC)
    fs = root / "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
    ps = root / "platform/pubsub-emulator/lib/cloud-pubsub-emulator-0.8.20-all.jar"
    for p in (fs, ps):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"jar")
    return root


def test_missing_everywhere_says_how_to_install(no_gcloud):
    with pytest.raises(localcloud.LocalCloudError, match="gcloud components install cloud-firestore-emulator"):
        localcloud.find_jar("firestore")
    with pytest.raises(localcloud.LocalCloudError, match="PUBSUB_EMULATOR_JAR"):
        localcloud.find_jar("pubsub")


def test_firebase_cache_is_the_last_resort(no_gcloud):
    cache = no_gcloud / "home/.cache/firebase/emulators"
    cache.mkdir(parents=True)
    (cache / "cloud-firestore-emulator-v1.19.9.jar").write_bytes(b"jar")
    assert localcloud.find_jar("firestore").name == "cloud-firestore-emulator-v1.19.9.jar"


def test_gcloud_install_beats_the_cache(no_gcloud, monkeypatch):
    sdk = make_sdk(no_gcloud / "sdk")
    monkeypatch.setenv("PATH", str(sdk / "bin"))
    cache = no_gcloud / "home/.cache/firebase/emulators"
    cache.mkdir(parents=True)
    (cache / "cloud-firestore-emulator-v1.19.9.jar").write_bytes(b"jar")
    assert localcloud.find_jar("firestore") == sdk / "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
    assert localcloud.find_jar("pubsub").name == "cloud-pubsub-emulator-0.8.20-all.jar"


def test_env_override_beats_everything(no_gcloud, monkeypatch):
    sdk = make_sdk(no_gcloud / "sdk")
    monkeypatch.setenv("PATH", str(sdk / "bin"))
    jar = no_gcloud / "mine.jar"
    jar.write_bytes(b"jar")
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", str(jar))
    assert localcloud.find_jar("firestore") == jar
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", str(no_gcloud / "nope.jar"))
    with pytest.raises(localcloud.LocalCloudError, match="does not exist"):
        localcloud.find_jar("firestore")


def test_port_owner_names_the_process():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not localcloud.port_free(port)
        owner = localcloud.port_owner(port)
        assert f"pid {os.getpid()}" in owner
