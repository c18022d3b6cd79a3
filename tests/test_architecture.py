"""The floors (api -> web -> trace -> ledger) and lint, checked in the test run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).with_name(name))
    assert Path(path).exists(), f"{name} is not installed"
    return path


def _lint_imports(tmp_path: Path, *, inject: str | None = None) -> subprocess.CompletedProcess:
    # import-linter reads source files from disk, and the editable install maps the floors into the
    # `farmtrace` namespace through an import hook it cannot follow: lay them out plainly for it.
    for floor in ("ledger", "trace", "web", "api", "client"):
        shutil.copytree(
            REPO / floor, tmp_path / "farmtrace" / floor, ignore=shutil.ignore_patterns("__pycache__")
        )
    if inject:
        target = tmp_path / "farmtrace" / "ledger" / "hashing.py"
        target.write_text(target.read_text() + f"\nimport {inject}  # noqa\n")
    return subprocess.run(
        [_tool("lint-imports"), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_hold(tmp_path):
    done = _lint_imports(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_import_contracts_catch_an_upward_import(tmp_path):
    done = _lint_imports(tmp_path, inject="farmtrace.api.app")
    assert done.returncode == 1
    assert "broken" in done.stdout


def test_ruff_is_clean():
    done = subprocess.run(
        [_tool("ruff"), "check", "."], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_trace_is_not_shadowing_the_standard_library():
    # STYLE.md: the folder trace/ installs as farmtrace.trace; `import trace` stays Python's own.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import trace, farmtrace.trace; print(trace.__file__, farmtrace.trace.__name__)",
        ],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "site-packages" in done.stdout or "lib/python" in done.stdout
    assert "farmtrace.trace" in done.stdout


def test_the_repository_is_self_contained():
    # A user clones the repository and has nothing else: no tracked file may reach outside it for
    # standards' data, documents or scripts (the tests' vectors live in tests/vectors with their licences).
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split("\0")
    outside = []
    for name in filter(None, tracked):
        path = REPO / name
        if name.startswith("tests/vectors/") or name == "tests/test_architecture.py" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if "../shared" in text or "FARMTRACE_SHARED" in text:
            outside.append(name)
    assert outside == [], f"these files refer to ../shared, outside the repository: {outside}"


def test_every_package_is_in_the_wheel():
    """pyproject.toml lists the packages by hand (the floors install under one name): a new
    subpackage missing from the list works in the editable install and is absent from `pip install .`."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    floors = {folder: name for name, folder in config["package-dir"].items()}
    found = set()
    for folder, name in floors.items():
        for init in (REPO / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / folder).parts
            found.add(".".join([name, *parts]))
    assert found == listed, f"missing from pyproject: {sorted(found - listed)}; listed but absent: {sorted(listed - found)}"
