"""The other half of tests/test_any_hour.py's awkward instants, a month's and a year's first hour, with
the modules whose dates are calendar days (a module of its own, so that the test runner can run the
two halves on two workers)."""

from __future__ import annotations

import pytest

from .clock_support import AWKWARD_INSTANTS
from .test_any_hour import CALENDAR_SENSITIVE, HERE, run_at

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", [n for n in AWKWARD_INSTANTS if n not in HERE])
@pytest.mark.timeout(1800)
def test_the_calendar_sensitive_tests_pass_at(name):
    run_at(name, CALENDAR_SENSITIVE)
