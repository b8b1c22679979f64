"""On Postgres the database holds booking's rule itself: with the app's lock switched off, 20 concurrent bookings
of one slot still store one, and every write the exclusion constraint refuses is a 409 with a sentence, never a
500 (errors.py translates a write that lost a race inside the database)."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.engine.capabilities import _ops_specs as S

WITHOUT_THE_LOCK = '''"""The booking races with the app's lock switched off: only the exclusion constraint stands between writers."""

from unittest import mock

from app.capabilities import {cap} as module
from tests.test_cap_{cap} import BookingTest


class WithoutTheLock(BookingTest):
    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(module, "_lock", lambda db, resource_id: None)
        patcher.start()
        self.addCleanup(patcher.stop)
'''


def test_the_exclusion_constraint_alone_stores_one_booking_and_refuses_the_rest_with_409(postgres, tmp_path):
    spec, files = S.compile_spec(S.kiln_studio())
    cap = spec.capabilities[0].id
    for path, data in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (tmp_path / "tests" / "test_without_the_lock.py").write_text(WITHOUT_THE_LOCK.format(cap=cap), encoding="utf-8")
    tests = [f"tests.test_without_the_lock.WithoutTheLock.{name}" for name in
             ("test_concurrent_bookings_of_one_slot_store_one", "test_concurrent_moves_into_one_slot_store_one")]
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", *tests], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0",
                                                       "TEST_DATABASE_URL": postgres.create_database("no_lock")})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Ran 2 tests" in proc.stderr and proc.stderr.rstrip().endswith("OK"), proc.stderr[-4000:]
    assert "ExclusionViolation" in proc.stderr  # the constraint, not the app's check, refused the losers
