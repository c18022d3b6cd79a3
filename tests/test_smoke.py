"""The install smoke test (scripts/smoke.py, run by .ci/run in a venv made with `pip install .`) works,
and the wheel carries every file the pages need."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a demo ledger and ~40 requests: ~5 s
def test_the_smoke_script_passes_on_this_install(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "smoke.py")],
        cwd=tmp_path,  # not the repository's root, where trace/ shadows the standard library
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith("smoke: ") and "FAILED" not in done.stdout
    answered, _, total = summary.removeprefix("smoke: ").split()[:3]
    assert answered == total and int(total) >= 40


def test_the_wheel_carries_every_template_and_static_file() -> None:
    """`pip install .` (not editable) installs only what package-data names: a template in a folder the
    globs miss is a 500 on an installed server and nowhere in a development checkout."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["farmtrace.web"]
    web = REPO / "web"
    carried = {path for pattern in globs for path in web.glob(pattern) if path.is_file()}
    needed = {
        path
        for folder in ("templates", "static")
        for path in (web / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert sorted(p.relative_to(web) for p in needed - carried) == []
