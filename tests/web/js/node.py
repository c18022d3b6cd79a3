"""One Node.js process with some of web/static's scripts loaded, driven like Playwright's page.evaluate.

The pages' scripts that do no DOM work when they load (codec.js, signing.js, verify.js,
portal-checks.js) run unchanged in Node 18+, which has WebCrypto with Ed25519, atob/btoa and
TextEncoder as globals. One process serves a whole test module: every request is one line of JSON
each way (tests/web/js/evaluate.mjs), so a Hypothesis test can send thousands of cases in a second.
Without Node the tests skip saying why, and fail under CI, as the browser tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[3] / "web" / "static"
RUNNER = Path(__file__).resolve().parent / "evaluate.mjs"

__all__ = ["STATIC", "JsError", "Node", "node"]


class JsError(Exception):
    """The function threw (or its promise rejected): the message and stack Node reported."""


class Node:
    """A Node process with `scripts` (names in web/static) loaded in order, as a page's tags load them."""

    def __init__(self, *scripts: str) -> None:
        executable = shutil.which("node")
        if executable is None:
            why = "Node.js is not installed (apt-get install nodejs; see scripts/setup.sh)"
            if os.environ.get("CI"):
                pytest.fail(why)
            pytest.skip(why)
        self._process = subprocess.Popen(
            [executable, str(RUNNER), *(str(STATIC / name) for name in scripts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def evaluate(self, function: str, arg: Any = None) -> Any:
        """What `function` (a JS function expression) returns for `arg` (sent as JSON); JsError if it throws."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"fn": function, "arg": arg}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"node exited with status {self._process.wait()} (a script failed to load?)")
        answer = json.loads(line)
        if "error" in answer:
            raise JsError(answer["error"])
        return answer["value"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=10)


@contextmanager
def node(*scripts: str) -> Iterator[Node]:
    """A Node process for the block, closed after it."""
    process = Node(*scripts)
    try:
        yield process
    finally:
        process.close()
