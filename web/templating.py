"""The one Jinja environment every server-rendered page (consumer, home, portal, console) renders with.

Autoescaped HTML; a name missing from the context is an error rather than an empty string. Its
globals are what macros use, which see no render context: `badges(status)`.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from farmtrace.trace.reads.lots import LotStatus

from .assets import asset_url

__all__ = ["TEMPLATES", "badges"]

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def badges(status: LotStatus) -> list[str]:
    """The status badges of a lot, most serious first: recalled, failed, rejected, passed, unchecked."""
    out = [flag for flag in ("recalled", "failed", "rejected") if getattr(status, flag)]
    if not out:
        out.append("passed" if status.cleared else "unchecked")
    return out


TEMPLATES.globals["badges"] = badges  # used by the portal's macros, which see no render context
# Pages link static files by name, each under its content hash (web/assets.py): a script tag needs no route code.
TEMPLATES.globals["asset_url"] = asset_url
