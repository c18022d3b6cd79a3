"""A refused row of a record book, worded for a person: the import page's and `farmtrace import`'s words.

    problem_view(t, problem, headers)               a RowProblem (trace/sheet_files.py) in t's language
    refusal_view(t, row, kind, problem, headers)    the ledger's refusal of a row's event, the same way
    field_columns(wires)                            per kind, every field path of its events -> its column

Each view is {row, column (a column key, "" for the whole row), header (as the sheet names the
column, else the column's header in t's language), rule, message (t's language), detail (the
English sentence), field (the event's field, if any)}. The ledger's refusals carry a rule of
trace/rules (worded by "portal.rule.<rule>", the portal forms' own messages) and an event field,
turned into the column that filled it by trace/sheet_drafts.py's `column_for_field`; the import
page gets `field_columns` instead of a copy of that function. Kept apart from the page's routes so
that the CLI loads no web framework to word its refusals.
"""

from __future__ import annotations

from typing import Any

from farmtrace.trace.rules import RULES
from farmtrace.trace.sheet_columns import COLUMN_BY_KEY
from farmtrace.trace.sheet_drafts import column_for_field
from farmtrace.trace.sheet_files import RowProblem

from .i18n import Translator

__all__ = ["field_columns", "problem_view", "refusal_view"]


def _header(t: Translator, column: str, headers: dict[str, str]) -> str:
    if not column:
        return t("sheet.row_whole")
    return headers.get(column) or COLUMN_BY_KEY[column].header(t.lang)


def problem_view(t: Translator, p: RowProblem, headers: dict[str, str]) -> dict[str, Any]:
    """A refused row in `t`'s language: row, column (key and the header as the sheet names it), rule,
    message; the English `detail` and the event `field`, if any, under it."""
    key = f"sheet.problem.{p.code}"
    params = dict(p.params)
    if f"words_{t.lang}" in params:  # the words a column allows, in the reader's language
        params["words"] = params[f"words_{t.lang}"]
    message = t(key, **params) if p.code != "rule" else t(f"portal.rule.{p.rule}")
    return {
        "row": p.row,
        "column": p.column,
        "header": _header(t, p.column, headers),
        "rule": p.rule,
        "message": message,
        "detail": p.detail,
        "field": p.field,
    }


def refusal_view(
    t: Translator, row: int, kind: str, problem: dict[str, Any], headers: dict[str, str]
) -> dict:
    """The ledger's refusal of a row's event (a problem+json of POST /events/batch), as `problem_view`."""
    rule = problem.get("rule") or "invalid"
    field = problem.get("field")
    detail = str(problem.get("detail") or problem.get("title") or "")
    p = RowProblem(row, column_for_field(kind, field), rule, "rule" if rule in RULES else "invalid", detail,
                   {"detail": detail}, field)  # fmt: skip
    return problem_view(t, p, headers)


def field_columns(wires: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """For each kind among `wires`: every field path of its events ("inputs[0].quantity",
    "inputs[0]", "inputs", ...) -> the column that fills it (`column_for_field`), so the page names
    the column of a refusal's field without a copy of that function."""
    out: dict[str, dict[str, str]] = {}
    for wire in wires:
        seen = out.setdefault(wire["kind"], {})
        for path in _paths(wire, ""):
            if path not in seen:
                seen[path] = column_for_field(wire["kind"], path)
    return out


def _paths(value: Any, prefix: str) -> list[str]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths += _paths(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            paths += _paths(inner, f"{prefix}[{i}]")
    return paths
