"""The web floor's one message catalogue: Simplified Chinese by default, English on request.

Every string a person reads on a page — in templates (through `Translator`) and in the browser's
scripts (through `Translator.catalogue(prefix)`, embedded in the page as JSON) — comes from
`MESSAGES`, where each key has both languages side by side, so neither can fall behind.

`MESSAGES` is the union of the page families' catalogues, each a plain dict in its own module —
common.py (chrome, consumer page, home page, units, prices), console.py ("console.*"), portal.py
("portal.*"), offline.py (the offline portal's "portal.offline.*"), sheets.py ("sheet.*"), alerts.py
("alerts.*", "market.*", "coldchain.*"), labels.py, notices.py, livestock.py (the quarantine kind,
the veterinarian, the head unit, the slaughter), watch.py ("watch this product", "watch.*") — merged
once here: importing a module registers nothing, and a key defined twice, or a message missing a
language, fails at import.

Placeholders are `{name}`, the same in both languages (tests/web check this); a message is plain
text, never markup, because templates escape everything they insert.

    negotiate(query_lang, accept_language) -> "zh" | "en"
        ?lang=zh|en wins; else the highest-q language of Accept-Language (RFC 9110 §12.5.4) that we
        have, zh-* and en-* counting as zh and en; else "zh".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .alerts import ALERT_MESSAGES
from .common import COMMON_MESSAGES
from .console import CONSOLE_MESSAGES
from .labels import LABEL_MESSAGES
from .livestock import LIVESTOCK_MESSAGES
from .notices import NOTICE_MESSAGES
from .offline import OFFLINE_MESSAGES
from .portal import PORTAL_MESSAGES
from .sheets import SHEET_MESSAGES
from .watch import WATCH_MESSAGES

__all__ = ["DEFAULT_LANG", "HTML_LANG", "LANGS", "MESSAGES", "Translator", "merge_catalogues", "negotiate"]

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def merge_catalogues(*catalogues: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """One catalogue from several; a key may be defined once.

    Raises ValueError for a key defined twice or a message missing a language.
    """
    merged: dict[str, tuple[str, str]] = {}
    for catalogue in catalogues:
        for key, texts in catalogue.items():
            if key in merged:
                raise ValueError(f"message {key!r} is defined twice")
            if len(texts) != len(LANGS) or not all(texts):
                raise ValueError(f"message {key!r} needs a text in each of {LANGS}")
            merged[key] = texts
    return merged


# key: (Simplified Chinese, English)
MESSAGES: Mapping[str, tuple[str, str]] = merge_catalogues(
    COMMON_MESSAGES,
    CONSOLE_MESSAGES,
    PORTAL_MESSAGES,
    OFFLINE_MESSAGES,
    SHEET_MESSAGES,
    ALERT_MESSAGES,
    NOTICE_MESSAGES,
    LABEL_MESSAGES,
    LIVESTOCK_MESSAGES,
    WATCH_MESSAGES,
)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_LANG_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+)\s*)?$")


def negotiate(query_lang: str | None, accept_language: str | None) -> str:
    """The page language: `query_lang` if it is one of LANGS, else Accept-Language's best, else zh."""
    if query_lang in LANGS:
        return query_lang
    best, best_q = DEFAULT_LANG, 0.0
    for position, part in enumerate((accept_language or "")[:500].split(",")):
        m = _LANG_RANGE.match(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) is not None else 1.0
        except ValueError:
            continue
        primary = m.group(1).split("-")[0].lower()
        # Equal q: the earlier range wins (a tiny penalty per position keeps the order).
        score = q - position * 1e-6
        if primary in LANGS and q > 0 and score > best_q:
            best, best_q = primary, score
    return best


class Translator:
    """Messages in one language: `t(key, **params)`; unknown keys are a bug and raise KeyError."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
        self.lang = lang
        self.html_lang = HTML_LANG[lang]
        self._column = LANGS.index(lang)

    def __call__(self, key: str, /, **params: object) -> str:
        text = MESSAGES[key][self._column]
        return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), text) if params else text

    t = __call__

    def has(self, key: str) -> bool:
        return key in MESSAGES

    def catalogue(self, *prefixes: str) -> Mapping[str, str]:
        """The raw messages whose keys start with one of `prefixes`, for the browser (placeholders kept)."""
        return {k: v[self._column] for k, v in MESSAGES.items() if k.startswith(prefixes)}
