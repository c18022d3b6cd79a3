"""The label scans' SQL: `label_scan` (one row per scanned label) and `label_scan_area` (its areas).

Off the ledger, like the alert tables: a signal, not proof (trace/label_scans.py). This module is the
only writer of both tables, which `create_scan_tables` creates (they are not in `tables.TABLES`,
and the replay audit does not compare them: no signed event gives them). No column holds anything
about the person who scanned: not an address, a cookie or a time beyond the first scan's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from ..clock import parse_utc, to_utc_text
from ..label_scans import MAX_AREAS, Area, LabelScanRecord, parse_area

__all__ = ["LabelScan", "LabelScanArea", "add_scan", "create_scan_tables", "scan_record", "scanned_labels"]


class LabelScan(SQLModel, table=True):
    """Label `serial` under `gtin`, bound to `lot`: `count` counted scans since `first_at`, the first
    area a scanner shared (`first_area`, "28.2,112.6", or NULL)."""

    __tablename__ = "label_scan"
    gtin: str = Field(primary_key=True)
    serial: str = Field(primary_key=True)
    lot: str = Field(index=True)
    count: int
    first_at: str
    first_area: str | None = None


class LabelScanArea(SQLModel, table=True):
    """How many scans of a label shared area `area` (a 0.1° cell); at most MAX_AREAS per label."""

    __tablename__ = "label_scan_area"
    gtin: str = Field(primary_key=True)
    serial: str = Field(primary_key=True)
    area: str = Field(primary_key=True)
    scans: int


_scan = LabelScan.__table__  # type: ignore[attr-defined]
_area = LabelScanArea.__table__  # type: ignore[attr-defined]


def create_scan_tables(engine: Engine) -> None:
    """Create the two tables if they are missing."""
    SQLModel.metadata.create_all(engine, tables=[_scan, _area])


def add_scan(engine: Engine, *, gtin: str, serial: str, lot: str, at: datetime, counted: bool, area: Area | None) -> None:
    """Record one scan of a label: +1 if `counted`, and its `area` if the person shared one.

    One transaction; a first scan racing another is retried once as an update.
    """
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                _add(conn, gtin, serial, lot, at, counted, area)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _add(conn: Connection, gtin: str, serial: str, lot: str, at: datetime, counted: bool, area: Area | None) -> None:
    key = (_scan.c.gtin == gtin, _scan.c.serial == serial)
    row = conn.execute(select(_scan.c.count, _scan.c.first_area).where(*key)).first()
    if row is None:
        conn.execute(
            insert(_scan).values(
                gtin=gtin, serial=serial, lot=lot, count=int(counted), first_at=to_utc_text(at),
                first_area=None if area is None else str(area),
            )
        )  # fmt: skip
    else:
        changes: dict[str, object] = {}
        if counted:
            changes["count"] = _scan.c.count + 1
        if area is not None and row.first_area is None:
            changes["first_area"] = str(area)
        if changes:
            conn.execute(update(_scan).where(*key).values(changes))
    if area is None:
        return
    akey = (_area.c.gtin == gtin, _area.c.serial == serial, _area.c.area == str(area))
    if conn.execute(update(_area).where(*akey).values(scans=_area.c.scans + 1)).rowcount:
        return
    held = conn.execute(
        select(func.count()).select_from(_area).where(_area.c.gtin == gtin, _area.c.serial == serial)
    ).scalar()
    if held < MAX_AREAS:
        conn.execute(insert(_area).values(gtin=gtin, serial=serial, area=str(area), scans=1))


def scan_record(engine: Engine, gtin: str, serial: str) -> LabelScanRecord | None:
    """The label's record, or None if it was never scanned."""
    with engine.connect() as conn:
        row = conn.execute(select(_scan).where(_scan.c.gtin == gtin, _scan.c.serial == serial)).first()
        if row is None:
            return None
        areas = conn.execute(
            select(_area.c.area, _area.c.scans)
            .where(_area.c.gtin == gtin, _area.c.serial == serial)
            .order_by(_area.c.scans.desc(), _area.c.area)
        ).all()
    return _record(row, areas)


def scanned_labels(engine: Engine, *, min_count: int, limit: int) -> list[LabelScanRecord]:
    """Labels scanned more than `min_count` times or in any shared area, most scanned first."""
    with engine.connect() as conn:
        with_area = select(_area.c.gtin, _area.c.serial).distinct().subquery()
        rows = conn.execute(
            select(_scan)
            .outerjoin(with_area, (with_area.c.gtin == _scan.c.gtin) & (with_area.c.serial == _scan.c.serial))
            .where((_scan.c.count > min_count) | with_area.c.gtin.is_not(None))
            .order_by(_scan.c.count.desc(), _scan.c.gtin, _scan.c.serial)
            .limit(limit)
        ).all()
        out = []
        for row in rows:
            areas = conn.execute(
                select(_area.c.area, _area.c.scans)
                .where(_area.c.gtin == row.gtin, _area.c.serial == row.serial)
                .order_by(_area.c.scans.desc(), _area.c.area)
            ).all()
            out.append(_record(row, areas))
    return out


def _record(row, areas) -> LabelScanRecord:
    return LabelScanRecord(
        gtin=row.gtin,
        serial=row.serial,
        lot=row.lot,
        count=row.count,
        first_at=parse_utc(row.first_at),
        first_area=None if row.first_area is None else parse_area(row.first_area),
        areas=tuple((parse_area(a.area), a.scans) for a in areas),
    )
