"""From a record book's rows to unsigned events: one draft per row, or the row's problems.

    draft_sheet(sheet, *, party, key_id, location, history) -> Drafts

Each row becomes one event of its party, ready to sign (`Draft.wire`, with `party` and `key_id`;
`Draft.event_id` is the id it will have, the SHA-256 of its canonical bytes, which no signature
changes). The CLI (`farmtrace import`) drafts on the party's machine and signs with its key file;
the portal asks the server for drafts (POST /sheets/drafts) and signs them in the browser. Both run
this one function.

**Everything in an event comes from its row, the ledger and the party, never from the moment of the
import**, so importing the same file again yields byte-identical events, which the ledger answers as
duplicates (their ids are known): nothing is recorded twice. Concretely:

- the event time is the row's date and time (China Standard Time; no time: 00:00);
- an input's `follows` is the event of an earlier row of the file that named the lot, if any; else,
  if the ledger already holds this very row's event (same kind, party, time and content: its id is
  recomputed with that event's `follows`), that event's `follows`; else the lot's head on the ledger;
- a receipt's shipment is the `ship_event` cell, else the latest shipment of the lot from the
  counterparty to this party dated no later than the row;
- the place is the row's, else the party's registered name and address (`location`).

A row that cannot be drafted is refused with its problems (`RowProblem`, trace/sheet_files.py),
naming the column; a later row acting on a lot a refused row named is refused too (its chain would
break). A problem's `rule` is "sheet.<what>" for the sheet's own checks, "invalid" when the event
model refuses the value (its `field` kept), or a rules code ("lot_unknown").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from .errors import InvalidEvent
from .model.details import COMMITMENTS, ShipDetail
from .model.encoding import encode_event, event_id
from .model.event import Event
from .model.ids import check_lot_code
from .model.units import format_decimal
from .sheet_columns import COLUMN_BY_KEY, COLUMNS, word, words_of
from .sheet_files import RowProblem, Sheet, SheetRow

__all__ = ["FIELD_COLUMNS", "Draft", "Drafts", "LotHistory", "column_for_field", "draft_sheet"]

_DEFAULT_STAGE = {"harvest": "production", "ship": "wholesale", "receive": "wholesale", "sell": "retail"}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+(.+))?")
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?")
# Digits, with commas only as thousands separators ("1,200.5"; never a decimal comma: "1,5" is refused).
_NUMBER = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_LIST = re.compile(r"\s*[、,，;；]\s*")


class LotHistory(Protocol):
    """What drafting asks of the ledger (the server's service, or the CLI's HTTP client)."""

    def head(self, lot: str) -> str | None:
        """The lot's head event id, or None if the ledger has no such lot."""

    def events(self, lot: str) -> Sequence[tuple[str, Event]]:
        """The events naming the lot (as an input or an output), in ledger order, with their ids."""


@dataclass(frozen=True)
class Draft:
    """A row's event, unsigned: `wire` (Event.to_wire(), with party and key_id), its id, and its
    canonical bytes (`encode_event`'s: what the party signs; the id is their SHA-256)."""

    row: int
    event_id: str
    wire: dict[str, Any]
    canonical: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class Drafts:
    """The drafts of the rows that passed, in row order, and the problems of those that did not."""

    drafts: tuple[Draft, ...]
    problems: tuple[RowProblem, ...]


class _Refused(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems


def draft_sheet(
    sheet: Sheet,
    *,
    party: str,
    key_id: str,
    location: dict[str, str],
    history: LotHistory,
    on_row: Callable[[int], None] | None = None,
) -> Drafts:
    """Draft every row of `sheet` as `party` signing with `key_id` (see the module docstring); call
    `on_row(rows done)` after each row (a progress bar). Returns the drafts and problems; raises
    nothing for a row's content (a failing `history` raises its own errors)."""
    if sheet.problems:  # the header is wrong: no row can be read right
        return Drafts((), sheet.problems)
    heads: dict[str, str] = {}  # lot -> the event id of the last row that named it
    refused: dict[str, int] = {}  # lot -> the row that named it and was refused
    drafts: list[Draft] = []
    problems: list[RowProblem] = []
    for done, row in enumerate(sheet.rows, start=1):
        if on_row is not None and done > 1:
            on_row(done - 1)
        try:
            wire = _wire(row, party=party, key_id=key_id, location=location)
            lots = [r["lot"] for r in wire["inputs"]] + [o["lot"] for o in wire["outputs"]]
            for lot in lots:
                if lot in refused:
                    raise _Refused([_problem(row, "lot", "sheet.chain", "after_refused",
                                             f"lot {lot} was named by row {refused[lot]}, which is refused",
                                             lot=lot, other=str(refused[lot]))])  # fmt: skip
            event = _resolve(row, wire, party=party, heads=heads, history=history)
        except _Refused as exc:
            problems += exc.problems
            for lot in _lots_named(row):
                refused.setdefault(lot, row.number)
            continue
        canonical = encode_event(event)
        eid = event_id(canonical)
        for lot in lots:
            heads[lot] = eid
        drafts.append(Draft(row.number, eid, event.to_wire(), canonical))
    if on_row is not None and sheet.rows:
        on_row(len(sheet.rows))
    return Drafts(tuple(drafts), tuple(problems))


def _lots_named(row: SheetRow) -> list[str]:
    lot = row.cells.get("lot")
    return [lot] if lot else []


def _problem(row: SheetRow, column: str, rule: str, code: str, detail: str, **params: str) -> RowProblem:
    return RowProblem(row.number, column, rule, code, detail, params)


# --- 1. the row's cells, checked and turned into a wire form (no follows yet) -----------------------


def _wire(row: SheetRow, *, party: str, key_id: str, location: dict[str, str]) -> dict[str, Any]:
    cells = row.cells
    text = cells.get("kind")
    if text is None:
        raise _Refused([_problem(row, "kind", "sheet.required", "required", "the record type is empty")])
    kind = word("kind", text)
    if kind is None:
        raise _Refused([_problem(row, "kind", "sheet.word", "word", f"{text!r} is not a record type",
                                 value=text, words_zh="、".join(words_of("kind", "zh")),
                                 words_en=", ".join(words_of("kind", "en")))])  # fmt: skip
    problems = []
    for col in COLUMNS:
        if col.key in cells and kind not in col.kinds:
            problems.append(
                _problem(row, col.key, "sheet.unused", "unused", f"a {kind} record has no {col.en}")
            )
        elif kind in col.required and col.key not in cells:
            problems.append(
                _problem(row, col.key, "sheet.required", "required", f"a {kind} record needs {col.en}")
            )
    if problems:
        raise _Refused(problems)
    get = cells.get
    try:
        check_lot_code(cells["lot"])  # before the ledger is asked about it
    except InvalidEvent as exc:
        raise _Refused([RowProblem(row.number, "lot", "invalid", "invalid", exc.message, {"detail": exc.message},
                                   "inputs[0].lot")]) from None  # fmt: skip
    unit = _word(row, "unit")
    lot = {"lot": cells["lot"], "quantity": _number(row, "quantity"), "unit": unit}
    place = {"name": cells["place"]} if "place" in cells else dict(location)
    wire: dict[str, Any] = {
        "kind": kind, "event_time": _time(row), "party": party, "key_id": key_id, "location": place,
        "inputs": [] if kind == "harvest" else [lot], "outputs": [],
    }  # fmt: skip
    origin = get("origin") or place["name"]
    if kind == "harvest":
        wire["outputs"] = [{**lot, "product": {"name_zh": cells["product"]}}]
        wire["detail"] = {"origin": {"name": origin}}
    elif kind == "inspect":
        wire["detail"] = {
            "analyte": cells["analyte"], "method": cells["method"], "value": _number(row, "value"),
            "limit": _number(row, "limit"), "unit": cells["test_unit"], "result": _word(row, "result"),
            "report_no": cells["report_no"],
        }  # fmt: skip
    elif kind == "certify":
        wire["detail"] = {
            "certificate_no": cells["certificate_no"], "product_name": cells["product"], "origin": origin,
            "commitments": _commitments(row), "contact": cells["contact"],
        }  # fmt: skip
    elif kind == "ship":
        wire["detail"] = {"destination": cells["counterparty"]}
    elif kind == "receive":
        check = {"result": _word(row, "entry_check") if "entry_check" in cells else "accepted"}
        check |= {
            k: cells[c] for k, c in (("certificate_no", "certificate_no"), ("note", "note")) if c in cells
        }
        wire["detail"] = {
            "source": cells["counterparty"],
            "ship_event": get("ship_event", ""),
            "entry_check": check,
        }
    else:
        wire["detail"] = {}
    if "price" in cells:
        wire["price"] = {
            "amount": _number(row, "price"), "currency": "CNY",
            "unit": _word(row, "price_unit") if "price_unit" in cells else unit,
            "stage": _word(row, "stage") if "stage" in cells else _DEFAULT_STAGE[kind],
        }  # fmt: skip
    elif "price_unit" in cells or "stage" in cells:
        column = "price_unit" if "price_unit" in cells else "stage"
        raise _Refused([_problem(row, "price", "sheet.required", "required", f"{column} needs a price")])
    return wire


def _time(row: SheetRow) -> str:
    m = _DATE.fullmatch(row.cells["date"])
    clock = row.cells.get("time") or (m.group(4) if m and m.group(4) else "0:00")
    t = _TIME.fullmatch(clock)
    try:
        if m is None:
            raise ValueError
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise _Refused([_problem(row, "date", "sheet.date", "date", f"{row.cells['date']!r} is not a date",
                                 value=row.cells["date"])]) from None  # fmt: skip
    try:
        if t is None:
            raise ValueError
        moment = datetime(
            day.year, day.month, day.day, int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
        )
    except ValueError:
        raise _Refused([_problem(row, "time", "sheet.time", "time", f"{clock!r} is not a time of day",
                                 value=clock)]) from None  # fmt: skip
    return moment.isoformat() + "+08:00"


def _number(row: SheetRow, column: str) -> str:
    text = unicodedata.normalize("NFKC", row.cells[column])  # full-width digits (a Chinese IME's) as ASCII
    try:
        if not _NUMBER.fullmatch(text):
            raise InvalidOperation
        return format_decimal(Decimal(text.replace(",", "")))
    except InvalidOperation:
        raise _Refused([_problem(row, column, "sheet.number", "number", f"{row.cells[column]!r} is not a number",
                                 value=row.cells[column])]) from None  # fmt: skip


def _word(row: SheetRow, column: str) -> str:
    text = row.cells[column]
    value = word(column, text)
    if value is None:
        raise _Refused([_problem(row, column, "sheet.word", "word", f"{text!r} is not one of the words allowed",
                                 value=text, words_zh="、".join(words_of(column, "zh")),
                                 words_en=", ".join(words_of(column, "en")))])  # fmt: skip
    return value


def _commitments(row: SheetRow) -> list[str]:
    if "commitments" not in row.cells:
        return list(COMMITMENTS[:4])
    said = []
    for text in _LIST.split(row.cells["commitments"].strip()):
        value = word("commitments", text)
        if value is None:
            raise _Refused([_problem(row, "commitments", "sheet.word", "word", f"{text!r} is not a commitment",
                                     value=text, words_zh="、".join(words_of("commitments", "zh")),
                                     words_en=", ".join(words_of("commitments", "en")))])  # fmt: skip
        said.append(value)
    return said


# --- 2. the ledger's part: follows, the shipment received -------------------------------------------


def _resolve(
    row: SheetRow, wire: dict[str, Any], *, party: str, heads: dict[str, str], history: LotHistory
) -> Event:
    """Fill `follows` (and a receipt's ship_event) and parse the event. Raises _Refused."""
    outside = [r["lot"] for r in wire["inputs"] if r["lot"] not in heads]
    ledger_heads: dict[str, str] = {}
    known: dict[str, list[tuple[str, Event]]] = {}
    for lot in outside:
        head = history.head(lot)
        if head is None:
            raise _Refused(
                [
                    _problem(
                        row,
                        "lot",
                        "lot_unknown",
                        "lot_unknown",
                        f"lot {lot} is neither on the ledger nor named by an earlier row",
                        lot=lot,
                    )
                ]
            )
        ledger_heads[lot] = head
        known[lot] = list(history.events(lot))
    wire["inputs"] = [
        {**r, "follows": [heads.get(r["lot"]) or ledger_heads[r["lot"]]]} for r in wire["inputs"]
    ]
    if wire["kind"] == "receive" and not wire["detail"]["ship_event"]:
        wire["detail"]["ship_event"] = _shipment(row, wire, party=party, history=history, known=known)
    event = _parse(row, wire)
    # The ledger may hold this row's event already (an earlier import): the same event on other heads.
    for lot in outside:
        for eid, logged in reversed(known[lot]):
            if logged.kind == event.kind and logged.event_time == event.event_time and logged.party == party:
                follows = {r.lot: list(r.follows) for r in logged.inputs}
                if set(follows) != {r["lot"] for r in wire["inputs"]}:
                    continue
                again = {**wire, "inputs": [{**r, "follows": follows[r["lot"]]} for r in wire["inputs"]]}
                try:
                    same = Event.from_wire(again)
                except InvalidEvent:
                    continue
                if event_id(encode_event(same)) == eid:
                    return same
    return event


def _shipment(
    row: SheetRow, wire: dict[str, Any], *, party: str, history: LotHistory, known: dict[str, list]
) -> str:
    lot, source = wire["inputs"][0]["lot"], wire["detail"]["source"]
    time = datetime.fromisoformat(wire["event_time"])
    events = known[lot] if lot in known else list(history.events(lot))
    for eid, e in reversed(events):
        if (isinstance(e.detail, ShipDetail) and e.party == source and e.detail.destination == party
                and e.time <= time):  # fmt: skip
            return eid
    raise _Refused([_problem(row, "ship_event", "sheet.shipment", "no_shipment",
                             f"no shipment of lot {lot} from {source} to {party} dated by then is on the ledger",
                             lot=lot, source=source)])  # fmt: skip


def _parse(row: SheetRow, wire: dict[str, Any]) -> Event:
    try:
        return Event.from_wire(wire)
    except InvalidEvent as exc:
        column = column_for_field(wire["kind"], exc.field)
        raise _Refused([RowProblem(row.number, column, "invalid", "invalid", exc.message,
                                   {"detail": exc.message}, exc.field)]) from None  # fmt: skip


# --- the column an event's field came from ---------------------------------------------------------

FIELD_COLUMNS = (
    ("event_time", "date"), ("location", "place"), ("outputs[0].product", "product"),
    ("detail.origin", "origin"), ("detail.product_name", "product"), ("detail.destination", "counterparty"),
    ("detail.source", "counterparty"), ("detail.ship_event", "ship_event"), ("detail.entry_check.result", "entry_check"),
    ("detail.entry_check.certificate_no", "certificate_no"), ("detail.entry_check.note", "note"),
    ("detail.entry_check.inspection_event", "note"), ("detail.unit", "test_unit"), ("price.amount", "price"),
    ("price.unit", "price_unit"), ("price.stage", "stage"), ("price", "price"), ("sensors", ""), ("documents", ""),
)  # fmt: skip
_LOT_FIELD = re.compile(r"(?:inputs|outputs)(?:\[\d+\])?(?:\.(\w+))?")


def column_for_field(kind: str, field: str | None) -> str:
    """The column of a record book that fills an event's `field` ("inputs[0].quantity" -> "quantity"),
    or "" for the row as a whole (party, key, a field no column fills)."""
    if not field:
        return ""
    for prefix, column in FIELD_COLUMNS:
        if field == prefix or field.startswith(prefix + ".") or field.startswith(prefix + "["):
            return column
    m = _LOT_FIELD.fullmatch(field)
    if m:
        return m.group(1) if m.group(1) in ("quantity", "unit") else "lot"
    if field.startswith("detail."):
        name = field.split(".")[1].split("[")[0]
        if name in COLUMN_BY_KEY and kind in COLUMN_BY_KEY[name].kinds:
            return name
    return ""
