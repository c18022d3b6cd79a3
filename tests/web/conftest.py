"""The browser fixtures of tests/web: `browser` (Chromium for the module) and `phone` (phone-sized
pages), defined in browser_support.py, so that a module asks for them by name without importing them;
and the end of the test process's shared Chromium (shared_chromium.py) when the session ends."""

import pytest

from . import shared_chromium
from .browser_support import browser, phone

__all__ = ["browser", "phone"]


@pytest.fixture(scope="session", autouse=True)
def _stop_shared_chromium():
    yield
    shared_chromium.stop()
