"""Fault drills against a private local cloud (its own ports and state, `make drill`): services
are killed, frozen and restarted underneath runs in flight, and each drill checks that every run
is completed or failed with a reason, that no stage committed twice or went missing, and how long
recovery took. The report is printed at the end (`lost_or_duplicated_stages` included)."""

from __future__ import annotations

import pytest

from tests.faults.drill import REPORT


@pytest.fixture
def report():
    def add(line: str) -> None:
        REPORT.append(line)
        print(line)

    return add


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("fault drill report")
        for line in REPORT:
            terminalreporter.write_line(line)

