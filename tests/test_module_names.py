"""Comments, docstrings and docs name modules that exist (modules moved: the prose must follow).

A path such as `trace/model/ids.py` must be a file of the repository, a dotted name such as
`farmtrace.trace.model.ids.check_lot_code` must import, and a short dotted name of a module that
no longer exists (`trace.events`) must not appear. A history may keep an old path when it says so:
"(then `trace/frozen.py`)", "(then part of `trace/ingest.py`)".
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_SELF = Path(__file__).resolve()

_ROOTS = ("README.md", "docs", "bench", "scripts", "ledger", "trace", "web", "api", "client", "tests")
_SUFFIXES = {".py", ".md", ".js", ".html", ".css", ".toml"}
_SKIP = {"__pycache__", "vectors", "results", "node_modules"}

_PATH = re.compile(
    r"(?<![\w./-])((?:ledger|trace|web|api|client|bench|scripts|tests)/[\w/.-]*?\.(?:py|js|css|html|md))\b"
)
_THEN = re.compile(r"\bthen(?: \w+){0,2}\W{0,3}$")
_DOTTED = re.compile(r"(?<![\w.])farmtrace\.((?:ledger|trace|web|api|client)(?:\.[A-Za-z_]\w*)*)")
_GONE = re.compile(
    r"(?<![\w.])(?:trace\.(?:events|state|encoding|ids|units|canonical|models|verifying|frozen|gcpause|journey)"
    r"|web\.(?:i18n_console|i18n_portal|pages|session|qr|portal_records)|api\.audit_job)\b"
)


def _files():
    for root in _ROOTS:
        top = REPO / root
        if top.is_file():
            yield top
            continue
        for path in sorted(top.rglob("*")):
            rel = path.relative_to(REPO)
            # this file names the old modules on purpose
            if path.is_file() and path.suffix in _SUFFIXES and not _SKIP & set(rel.parts) and path != _SELF:
                yield path


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        name = "farmtrace." + ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            obj = importlib.import_module(name)
            for attr in parts[cut:]:
                if not hasattr(obj, attr):
                    return False
                obj = getattr(obj, attr)
            return True
    return False


def _stale() -> list[str]:
    stale = []
    for path in _files():
        rel = path.relative_to(REPO)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _PATH.finditer(line):
                if not (REPO / m.group(1)).exists() and not _THEN.search(line[: m.start()]):
                    stale.append(f"{rel}:{n}: {m.group(1)} does not exist")
            for m in _DOTTED.finditer(line):
                if not _resolves(m.group(1)):
                    stale.append(f"{rel}:{n}: farmtrace.{m.group(1)} does not import")
            for m in _GONE.finditer(line):
                stale.append(f"{rel}:{n}: {m.group(0)} is a module that moved")
    return stale


def test_prose_names_modules_that_exist():
    assert _stale() == []
