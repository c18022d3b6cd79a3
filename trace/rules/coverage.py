"""Whether a lot is covered by a livestock certificate: the lineage walk of trace/rules/livestock.py.

A lot is covered by a form of certificate at a time if a certificate of that form on the lot itself
was issued by then (and, where validity counts, is still valid); or if the lot was made from other
lots and each of them was covered by a certificate issued strictly before the lot was made. A
certificate dated the same second as a split cannot say whether the split's animals were in the lot
it names, so it does not reach them; a merge with uncertified animals is not covered.

The walk judges each (lot, cutoff) once and keeps its own stack: splitting and merging the same
animals over and over multiplies the paths up the lineage, not its cost, and a lineage thousands of
lots deep needs no recursion (docs/livestock.md: an attacker review froze the ledger's writes with a
walk that did neither).
"""

from __future__ import annotations

from datetime import datetime

from .view import LotState, StateReader

__all__ = ["covered"]


def covered(
    lot: LotState, forms: frozenset[str], view: StateReader, *, issued_by: datetime, valid_at: datetime | None
) -> bool:
    """True if `lot` is covered by a certificate of one of `forms` (module docstring): on the lot, issued
    at or before `issued_by` and, if `valid_at` is given, valid then; or, for a lot made from others,
    on each of them, issued strictly before the lot was made (a certificate dated the same second as a
    split does not say whether the split's animals were in the lot it names).

    One walk up the lineage, each (lot, cutoff) judged once: a lot reached by many paths (splits and
    merges of the same animals, over and over) costs no more than its ancestors and their distinct
    cutoffs, and no recursion, however deep the lineage."""

    def certified(code: str, cutoff: datetime, strict: bool) -> bool:
        for c in view.livestock_certificates(code):
            in_time = valid_at is None or c.valid_until is None or valid_at <= c.valid_until
            issued = c.issued_at < cutoff if strict else c.issued_at <= cutoff
            if c.form in forms and issued and in_time:
                return True
        return False

    lots: dict[str, LotState | None] = {lot.code: lot}
    judged: dict[tuple[str, datetime, bool], bool] = {}
    todo: list[tuple[str, datetime, bool]] = [(lot.code, issued_by, False)]
    while todo:
        key = todo[-1]
        if key in judged:
            todo.pop()
            continue
        code, cutoff, strict = key
        here = lots[code] if code in lots else lots.setdefault(code, view.lot(code))
        if here is None:
            judged[key] = False
            todo.pop()
            continue
        if certified(code, cutoff, strict):
            judged[key] = True
            todo.pop()
            continue
        if not here.parents:
            judged[key] = False
            todo.pop()
            continue
        # Its parents, by certificates issued before it was made (the cutoff only ever falls: a
        # lot is made no earlier than its parents, and checked no earlier than it was made).
        asks = [(p, min(cutoff, here.created_at), True) for p in here.parents]
        waiting = [a for a in asks if a not in judged]
        if waiting:
            todo.extend(waiting)
            continue
        judged[key] = all(judged[a] for a in asks)
        todo.pop()
    return judged[(lot.code, issued_by, False)]
