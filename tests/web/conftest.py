"""The browser fixtures of tests/web: `browser` (one Chromium per module) and `phone` (phone-sized
pages), defined in browser_support.py, so that a module asks for them by name without importing them."""

from .browser_support import browser, phone

__all__ = ["browser", "phone"]
