"""A logger's series of readings, attached to an event in the event model as it is (no new field,
no change to any event's bytes): a sample of it in `sensors` and a digest of all of it in `documents`.

    format_series(readings) -> bytes              the series' canonical text (below), one measure
    parse_series(text) -> [Sensor]                strict inverse: refuses what format_series would not write
    compact_series(readings, *, limit=) -> Compact   the sample and the documents to sign
    check_series(text, document) -> None          the series matches the document, or SeriesMismatch

An event carries at most 100 `sensors` (trace/model/reader.py MAX_LIST); a lorry's logger writes a
reading every few minutes, hundreds a day. So a series is summarised for signing:

1. the sample: for each measure, its lowest and highest readings, its first and last, and the rest
   evenly spaced in time, `limit` readings in all (100 by default) — real readings, signed as
   `sensors`, which the alert scan and the consumer page judge like any others. A spell out of range
   shorter than the sample's spacing may be seen as one reading: its length is then measured to the
   next sampled reading, no finer;
2. for each measure, a document {"type": "sensor_series", "id": "<measure> n=<count> mean=<mean>
   sha256:<64 hex>"}: the count and mean of the *whole* series and the SHA-256 of its canonical text,
   so whoever holds the full series (the carrier, a regulator who asks for it) can show it is the
   one the party signed, reading for reading (`check_series`).

The canonical text of one measure's series (UTF-8, "\n" after every line, no other whitespace):

    farmtrace/series/v1 <measure> <unit>
    <time>,<value>          one line a reading, by time (ties in the order given), as `Sensor`
                            writes them: RFC 3339 time as recorded, canonical decimal value

docs/alerts.md gives a test vector.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .errors import InvalidEvent, TraceError
from .model.reader import Obj
from .model.units import format_decimal
from .model.values import SENSOR_UNITS, Document, Sensor

__all__ = [
    "HEADER",
    "SERIES_DOCUMENT",
    "Compact",
    "SeriesMismatch",
    "check_series",
    "compact_series",
    "format_series",
    "parse_series",
]

HEADER = "farmtrace/series/v1"
SERIES_DOCUMENT = "sensor_series"
MAX_READINGS = 100_000
_ID = re.compile(
    r"(temperature|humidity) n=([1-9][0-9]{0,5}) mean=(-?[0-9]+(?:\.[0-9]+)?) sha256:([0-9a-f]{64})"
)


class SeriesMismatch(TraceError):
    """A series is not the one a `sensor_series` document describes; says what differs."""


@dataclass(frozen=True)
class Compact:
    """What to sign for a series: the sampled `sensors` and one `documents` entry per measure."""

    sensors: tuple[Sensor, ...]
    documents: tuple[Document, ...]


def _moment(r: Sensor) -> datetime:
    return datetime.fromisoformat(r.time.replace("Z", "+00:00"))


def _ordered(readings: Sequence[Sensor]) -> list[Sensor]:
    return sorted(readings, key=_moment)  # stable: ties keep the order given


def format_series(readings: Sequence[Sensor]) -> bytes:
    """The canonical text of a one-measure series (module docstring). Raises InvalidEvent if the
    series is empty, too long or mixes measures."""
    if not readings:
        raise InvalidEvent("series", "a series has at least one reading")
    if len(readings) > MAX_READINGS:
        raise InvalidEvent("series", f"at most {MAX_READINGS} readings, found {len(readings)}")
    measures = {r.type for r in readings}
    if len(measures) != 1:
        raise InvalidEvent("series", f"one measure a series, found {', '.join(sorted(measures))}")
    measure = measures.pop()
    lines = [f"{HEADER} {measure} {SENSOR_UNITS[measure]}"]
    lines += [f"{r.time},{format_decimal(r.value)}" for r in _ordered(readings)]
    return ("\n".join(lines) + "\n").encode()


def parse_series(text: bytes) -> list[Sensor]:
    """The readings of a series' canonical text. Raises InvalidEvent naming the line when the text
    is not exactly what `format_series` writes for them."""
    try:
        lines = text.decode().split("\n")
    except UnicodeDecodeError:
        raise InvalidEvent("series", "expected UTF-8 text") from None
    if len(lines) < 3 or lines[-1] != "":
        raise InvalidEvent(
            "series", "expected a header line and at least one reading, each ending in a newline"
        )
    head = lines[0].split(" ")
    if (
        len(head) != 3
        or head[0] != HEADER
        or head[1] not in SENSOR_UNITS
        or head[2] != SENSOR_UNITS.get(head[1])
    ):
        raise InvalidEvent("series.line[1]", f"expected '{HEADER} <measure> <unit>', found {lines[0][:60]!r}")
    readings = []
    for n, line in enumerate(lines[1:-1], 2):
        time, _, value = line.partition(",")
        wire = {"type": head[1], "value": value, "unit": head[2], "time": time}
        readings.append(Sensor._parse(Obj(wire, f"series.line[{n}]", Sensor.KEYS)))
    if format_series(readings) != text:
        raise InvalidEvent(
            "series", "not in canonical form (readings out of time order, or spelled otherwise)"
        )
    return readings


def _mean(values: Sequence[Decimal]) -> str:
    return format_decimal((sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01")))


def _sample(readings: list[Sensor], room: int) -> list[Sensor]:
    """`room` readings of one measure's ordered series: its lowest, highest, first and last, and
    the rest evenly spaced by position."""
    if len(readings) <= room:
        return readings
    keep = {0, len(readings) - 1}
    keep.add(min(range(len(readings)), key=lambda i: readings[i].value))
    keep.add(max(range(len(readings)), key=lambda i: readings[i].value))
    step = (len(readings) - 1) / max(room - 1, 1)
    for k in range(room):
        if len(keep) >= room:
            break
        keep.add(round(k * step))
    return [readings[i] for i in sorted(keep)]


def compact_series(readings: Sequence[Sensor], *, limit: int = 100) -> Compact:
    """The sample and documents to sign for `readings` (one or both measures); see the module
    docstring. Raises InvalidEvent for an empty series or a limit under 4 a measure."""
    by_measure: dict[str, list[Sensor]] = {}
    for r in _ordered(readings):
        by_measure.setdefault(r.type, []).append(r)
    if not by_measure:
        raise InvalidEvent("series", "a series has at least one reading")
    room = limit // len(by_measure)
    if room < 4:
        raise InvalidEvent("limit", f"at least 4 readings a measure, found {room}")
    sensors: list[Sensor] = []
    documents = []
    for measure, series in sorted(by_measure.items()):
        digest = hashlib.sha256(format_series(series)).hexdigest()
        mean = _mean([r.value for r in series])
        documents.append(
            Document(type=SERIES_DOCUMENT, id=f"{measure} n={len(series)} mean={mean} sha256:{digest}")
        )
        sensors += _sample(series, room)
    return Compact(sensors=tuple(_ordered(sensors)), documents=tuple(documents))


def check_series(text: bytes, document: Document) -> None:
    """None if `text` is the canonical series `document` (a sensor_series) describes: its measure,
    count, mean and SHA-256. Raises SeriesMismatch saying what differs, InvalidEvent if `text` or
    the document is malformed."""
    m = _ID.fullmatch(document.id) if document.type == SERIES_DOCUMENT else None
    if m is None:
        raise InvalidEvent("document.id", "expected '<measure> n=<count> mean=<mean> sha256:<64 hex>'")
    readings = parse_series(text)
    measure, count, mean, digest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    found = hashlib.sha256(text).hexdigest()
    if found != digest:
        raise SeriesMismatch(f"the series' SHA-256 is {found}, the signed document says {digest}")
    if readings[0].type != measure or len(readings) != count or _mean([r.value for r in readings]) != mean:
        raise SeriesMismatch(
            f"the document says {measure}, {count} readings, mean {mean}; the series has "
            f"{readings[0].type}, {len(readings)}, mean {_mean([r.value for r in readings])}"
        )
