"""The suite does not depend on the hour: the time-sensitive tests pass whatever the machine's clock says.

Each case runs those modules in a child pytest whose whole process sees a faked wall clock, set by
Debian's libfaketime (`faketime`, installed by scripts/setup.sh) with TZ=UTC, at the instants of
tests/clock_support.py: 23:30 UTC (China is already on tomorrow), 00:30 CST (16:30 UTC the day
before), and the first half hour of a month and of a year in China. Code or tests that take the
machine's date for China's would fail at one of them; before the app had one clock, the console's
anomaly filter test did, every evening UTC.

libfaketime is started with the instant and lets time run on from there (`faketime "<date>"`).
FAKETIME_DONT_FAKE_MONOTONIC is left unset: with it, libfaketime 0.9.10 makes Python's
time.sleep fail with EINVAL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .clock_support import AWKWARD_INSTANTS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

# The modules whose tests read or write dates: CST days in filters, exports and prices, suggested
# codes, the demo's "three days ago", token expiry and the rules' "not in the future".
TIME_SENSITIVE = [
    "tests/trace/test_clock.py",
    "tests/api/test_app_clock.py",
    "tests/web/test_console_pages.py",
    "tests/web/test_console_chart.py",
    "tests/web/test_console_exports.py",
    "tests/web/test_portal.py",
    "tests/api/test_console_api.py",
    "tests/api/test_auth.py",
    "tests/api/test_rules_http.py",
    "tests/api/test_stories.py",
]
# At a month's or a year's first hour, the modules whose dates are days, months and years in
# filters, charts, exports and suggested codes (the rules' "not in the future" and token expiry are
# relative times: the two hourly instants cover them, and they cost two thirds of a run).
RELATIVE_ONLY = {"tests/api/test_auth.py", "tests/api/test_rules_http.py", "tests/api/test_stories.py"}
CALENDAR_SENSITIVE = [m for m in TIME_SENSITIVE if m not in RELATIVE_ONLY]


def _faketime() -> str:
    path = shutil.which("faketime")
    if path is None:
        why = "Debian's faketime is not installed (scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKETIME", "PYTEST_"))}
    env["TZ"] = "UTC"
    env.pop("LD_PRELOAD", None)
    return env


def _faked(instant: datetime, *command: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run `command` with the wall clock starting at `instant` (libfaketime), in UTC."""
    return subprocess.run(
        [_faketime(), instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), *command],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Half the instants here, half in tests/test_any_hour_edges.py: each run takes the best part of a
# minute, and the test runner gives each module to one worker, so two modules keep both busy.
HERE = tuple(AWKWARD_INSTANTS)[: len(AWKWARD_INSTANTS) // 2]


@pytest.mark.parametrize("name", HERE)
@pytest.mark.timeout(1800)
def test_the_time_sensitive_tests_pass_at(name):
    run_at(name)


def run_at(name: str, modules: list[str] = TIME_SENSITIVE) -> None:
    """Run `modules` with the wall clock at AWKWARD_INSTANTS[name]; fail if any fails."""
    instant = AWKWARD_INSTANTS[name]
    # 1. libfaketime reaches this Python: the child's clock reads the instant (give or take a minute).
    seen = _faked(
        instant,
        sys.executable,
        "-c",
        "import time; from datetime import UTC, datetime; print(time.time(), datetime.now(UTC).isoformat())",
        cwd=Path("/"),  # not the repository root, where the folder trace/ shadows the standard library
        timeout=60,
    )
    assert seen.returncode == 0, seen.stderr
    stamp, wall = seen.stdout.split()
    assert abs(float(stamp) - instant.timestamp()) < 60, (name, seen.stdout)
    assert wall.startswith(instant.astimezone(UTC).strftime("%Y-%m-%dT%H:")), (name, seen.stdout)

    # 2. The time-sensitive modules pass there. Browser and PostgreSQL tests are left to their
    # own runs (the pages' dates are the same code; SQL compares stored text, not clocks).
    pytest_bin = str(Path(sys.executable).with_name("pytest"))
    done = _faked(
        instant,
        pytest_bin,
        "-p",
        "no:cacheprovider",
        "-q",
        "-m",
        "not browser and not postgres and not slow",
        *modules,
        cwd=REPO,
        timeout=1700,
    )
    tail = "\n".join(done.stdout.splitlines()[-40:])
    assert done.returncode == 0, f"at {name} ({instant.isoformat()}):\n{tail}\n{done.stderr[-2000:]}"
