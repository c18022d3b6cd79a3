"""The one Jinja environment every server-rendered page (pages, portal, console) renders with.

Autoescaped HTML; a name missing from the context is an error rather than an empty string.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .portal_records import badges

__all__ = ["TEMPLATES"]

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.globals["badges"] = badges  # used by the portal's macros, which see no render context
