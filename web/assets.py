"""The web floor's static files and the Content-Security-Policy every page family sends.

Files in web/static/ are read once at import: served by `GET /static/{name}` (web/consumer.py) and
linked as `asset_url(name)`, whose `?v=` digest lets a browser cache them for a year. Third-party
code vendored in web/static/vendor/ (scripts/vendor_noble.py) is served under its bare file name
(`asset_url("noble.js")`), beside ours; a name in both folders is refused at import. Every page
inlines the shared `PAGE_CSS`, pinned in the CSP by its hash; the portal and console also link
stylesheets of their own (`linked_styles=True`).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ASSETS", "PAGE_CSS", "Asset", "asset_url", "content_security_policy"]

_STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    digest: str


def _load() -> dict[str, Asset]:
    out: dict[str, Asset] = {}
    for path in [*sorted(_STATIC.iterdir()), *sorted((_STATIC / "vendor").iterdir())]:
        if path.suffix in _TYPES and path.is_file():
            if path.name in out:
                raise RuntimeError(f"web/static has two files named {path.name}")
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:16]
            out[path.name] = Asset(body, gzip.compress(body, 9, mtime=0), _TYPES[path.suffix], digest)
    return out


# The words static/facts-view.js draws a lot's verified facts with (web/timeline.py's families), one
# script per language, `words-zh.js` and `words-en.js`: generated from web/i18n's catalogue so neither
# language falls behind, cached under its digest like the files, and kept out of the page itself.
FACT_WORDS = (
    "facts.",
    "recall.",
    "status.",
    "product.",
    "origin.",
    "prices.",
    "price.",
    "journey.",
    "kind.",
    "detail.",
    "stage.",
    "unit.",
    "commit.",
    "list.",
    "verify.step_",
)


def _fact_words() -> dict[str, Asset]:
    import json

    from farmtrace.trace.model.kinds import KIND_REGISTRY

    from .i18n import LANGS, MESSAGES
    from .i18n.livestock import LIVESTOCK_FACT_WORDS

    # A kind that names no lot as input or output (recall_ack, label_activate) is on no lot's page:
    # its name stays out of the consumer's words (facts-view.js says "kind.other" for a kind it lacks).
    unseen = {s.label_key for s in KIND_REGISTRY.values() if s.shape == (0, 0, 0, 0)}
    # Livestock's words come with facts-livestock.js, only to pages that need them (web/consumer.py).
    unseen |= set(LIVESTOCK_FACT_WORDS)
    out = {}
    for column, lang in enumerate(LANGS):
        words = {
            "messages": {
                k: v[column]
                for k, v in sorted(MESSAGES.items())
                if k.startswith(FACT_WORDS) and k not in unseen
            },
            # A recall's standard instructions, recorded in either language, are shown in the page's.
            "standard": list(MESSAGES["recall.standard_instructions"]),
        }
        body = f"globalThis.FarmtraceWords = {json.dumps(words, ensure_ascii=False)};\n".encode()
        digest = hashlib.sha256(body).hexdigest()[:16]
        out[f"words-{lang}.js"] = Asset(body, gzip.compress(body, 9, mtime=0), _TYPES[".js"], digest)
    return out


ASSETS = {**_load(), **_fact_words()}
PAGE_CSS = ASSETS["page.css"].body.decode()


def asset_url(name: str) -> str:
    """The cache-busting URL of a static file (KeyError for a file that does not exist)."""
    return f"/static/{name}?v={ASSETS[name].digest}"


def content_security_policy(*, linked_styles: bool, manifest: bool = False) -> str:
    """Scripts only from this origin; the inline PAGE_CSS by hash (and, if asked, our stylesheets).

    `manifest`: the page links a web app manifest from this origin (the portal, web/portal/offline.py);
    its service worker needs nothing more (worker-src falls back to script-src 'self').
    """
    css_hash = base64.b64encode(hashlib.sha256(PAGE_CSS.encode()).digest()).decode()
    styles = f"'self' 'sha256-{css_hash}'" if linked_styles else f"'sha256-{css_hash}'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src {styles}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            *(["manifest-src 'self'"] if manifest else []),
        ]
    )
