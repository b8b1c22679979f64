"""QA's sandbox keeps loopback usable (generated ai_summary/payments tests run fake servers on 127.0.0.1)
while every other address stays unreachable."""

from __future__ import annotations

import sys

from shared.engine import sandbox

CHILD = r"""
import socket, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
port = srv.getsockname()[1]
threading.Thread(target=lambda: srv.accept()[0].sendall(b"hi"), daemon=True).start()
c = socket.create_connection(("127.0.0.1", port), timeout=2)
print("loopback", c.recv(2).decode())
try:
    socket.create_connection(("192.0.2.1", 9), timeout=1)
    print("outside reachable")
except OSError:
    print("outside refused")
"""


def test_loopback_works_and_nothing_else_does_in_the_qa_sandbox(tmp_path):
    prefix, isolation = sandbox.network_prefix(sys.executable, "auto")
    guard = sandbox.write_guard(tmp_path / "guard")
    env = sandbox.isolated_env(tmp_path / "home", guard)
    res = sandbox.run_isolated([sys.executable, "-c", CHILD], cwd=tmp_path, env=env, timeout_s=30, cpu_s=20,
                               memory_mb=1024, net_prefix=prefix, isolation=isolation)
    assert res.returncode == 0, (res.stdout, res.stderr, isolation)
    assert res.stdout.split() == ["loopback", "hi", "outside", "refused"], (res.stdout, isolation)
