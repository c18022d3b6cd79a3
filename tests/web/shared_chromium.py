"""Fast twin of browser_support.chromium(): one Playwright driver and Chromium per test process.

The plain model, browser_support.launched_chromium(), starts Playwright's driver (a Node process) and
a Chromium for each module that asks, and stops both after it: about 2.5 to 6 s a module on this
two-core machine under the suite's load (driver 0.9-3.5 s, launch 0.9-2.1 s, close 0.4-1.2 s,
measured with time.perf_counter at load 11-14). Here both are started once, when a test first asks,
and lent to each module in turn; a lease ends by closing every context opened during it, so that no
page, storage, route or init script outlives its module (Playwright's contexts share no storage or
cache with each other).

Why it needs care: Playwright's sync API marks its event loop as running in the thread between two
calls (playwright/_impl/_sync_base.py, wait_for_future). Kept open across the session, that marking
would make `asyncio.run` in every later test fail ("cannot be called from a running event loop").
So between leases the loop is parked: asyncio's running loop is set back to none, and set to
Playwright's loop again when the next lease begins (asyncio._set_running_loop, the function
asyncio's own runners use). While parked, no sync call is made, so the loop is never resumed in a
state it does not expect; another Playwright started meanwhile (sync_playwright() in a test) makes
its own loop, as it would anyway.

FARMTRACE_TEST_CHROMIUM=module selects the plain model (one launch per lease) instead.

Measured gain (ten browser modules, 167 tests, in one pytest process, the arms alternated, two
rounds, load 8-12 from other work on two cores): 106.6 and 97.4 s summed test time with the shared
Chromium against 180.7 and 120.3 s with one launch per module (wall 115 and 105 s against 195 and
134 s).
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["lease", "stop"]


class _Shared:
    """Playwright's driver and one Chromium, started on first use, stopped when the process exits."""

    def __init__(self) -> None:
        self.manager = None  # the sync_playwright() context manager, entered
        self.playwright = None
        self.browser = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.depth = 0  # leases open (a lease may be taken inside another)

    def start(self, path: Path, args: list[str]) -> None:
        from playwright.sync_api import sync_playwright

        if self.manager is None:
            self.manager = sync_playwright()
            self.playwright = self.manager.__enter__()
            self.loop = asyncio.get_running_loop()  # marked running by the call that just returned
            atexit.register(self.stop)
        if self.browser is None or not self.browser.is_connected():  # first use, or Chromium died
            self.browser = self.playwright.chromium.launch(executable_path=str(path), args=args)

    def park(self) -> None:
        asyncio._set_running_loop(None)

    def unpark(self) -> None:
        asyncio._set_running_loop(self.loop)

    def stop(self) -> None:
        if self.manager is None:
            return
        self.unpark()
        try:
            if self.browser is not None and self.browser.is_connected():
                self.browser.close()
        finally:
            self.manager.__exit__(None, None, None)
            self.manager = self.playwright = self.browser = self.loop = None


_SHARED = _Shared()


@contextmanager
def lease(path: Path, args: list[str]) -> Iterator:
    """The process's Chromium (started with `args` on first use), lent until the block ends; every
    browser context opened meanwhile is closed then."""
    shared = _SHARED
    if shared.depth == 0 and shared.loop is not None:
        shared.unpark()
    shared.depth += 1
    try:
        shared.start(path, args)
        browser = shared.browser
        before = set(browser.contexts)
        try:
            yield browser
        finally:
            if browser.is_connected():
                for ctx in browser.contexts:
                    if ctx not in before:
                        ctx.close()
    finally:
        shared.depth -= 1
        if shared.depth == 0 and shared.loop is not None:
            shared.park()


def stop() -> None:
    """Stop the process's Chromium and Playwright's driver, if started (tests/web/conftest.py calls
    it when the session ends; atexit too, as a fallback)."""
    if _SHARED.depth == 0:
        _SHARED.stop()
        _SHARED.park()
