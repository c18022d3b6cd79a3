"""Live animals and livestock certificates over SQL: the `trace_animal` and
`trace_livestock_certificate` projection tables' reads and writes.

`record_livestock` is step 8 of `Repository.apply` for an event's `Effects.animals` and
`Effects.livestock_certificates`, and the only writer of both tables; `animal_lot`, `lot_animals`,
`livestock_certificates` and `livestock_certificate` are the `StateReader` reads the rules use
(rules/livestock.py), which pages read too. Like every projection, the tables are rebuilt by the
replay audit from the signed events and compared row by row (trace/store/compare.py).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from ..clock import parse_utc, to_utc_text
from ..model.units import format_decimal
from ..rules.effects import Effects
from ..rules.view import LivestockCertificate, reckon_live_weight
from .tables import TraceAnimal, TraceLivestockCertificate

__all__ = [
    "animal_lot",
    "livestock_certificate",
    "livestock_certificates",
    "lot_animals",
    "lot_live_weight",
    "record_livestock",
]

_animal = TraceAnimal.__table__  # type: ignore[attr-defined]
_certificate = TraceLivestockCertificate.__table__  # type: ignore[attr-defined]


def record_livestock(conn: Connection, fx: Effects) -> None:
    """Move the effects' animals to their lots and record their livestock certificates."""
    tags = [tag for a in fx.animals for tag in a.ear_tags]
    if tags:
        known = {
            r.ear_tag: (r.weighed_kg, r.weighed_heads)
            for r in conn.execute(select(_animal).where(_animal.c.ear_tag.in_(tags)))
        }
        conn.execute(delete(_animal).where(_animal.c.ear_tag.in_(tags)))
        rows = []
        for a in fx.animals:
            weighed = (format_decimal(a.live_weight), len(a.ear_tags)) if a.live_weight is not None else None
            for tag in a.ear_tags:
                kg, heads = weighed or known.get(tag, (None, None))
                rows.append(
                    {
                        "ear_tag": tag,
                        "lot": a.lot,
                        "event_id": fx.event_id,
                        "weighed_kg": kg,
                        "weighed_heads": heads,
                    }
                )
        conn.execute(insert(_animal), rows)
    if fx.livestock_certificates:
        conn.execute(
            insert(_certificate),
            [
                {
                    "certificate_no": c.certificate_no,
                    "lot": c.lot,
                    "form": c.form,
                    "issued_at": to_utc_text(c.issued_at),
                    "valid_until": None if c.valid_until is None else to_utc_text(c.valid_until),
                    "event_id": c.event_id,
                }
                for c in fx.livestock_certificates
            ],
        )


def animal_lot(conn: Connection, ear_tag: str) -> str | None:
    """The lot the animal with `ear_tag` is in now, or None if no event tagged it."""
    return conn.execute(select(_animal.c.lot).where(_animal.c.ear_tag == ear_tag)).scalar()


def lot_animals(conn: Connection, code: str) -> frozenset[str]:
    """The ear tags of the animals in lot `code` now."""
    return frozenset(conn.execute(select(_animal.c.ear_tag).where(_animal.c.lot == code)).scalars())


def lot_live_weight(conn: Connection, code: str) -> Decimal | None:
    """The recorded live weight of the animals in lot `code` now (`rules.view.reckon_live_weight`)."""
    rows = conn.execute(select(_animal.c.weighed_kg, _animal.c.weighed_heads).where(_animal.c.lot == code))
    return reckon_live_weight([None if kg is None else (Decimal(kg), heads) for kg, heads in rows])


def _state(row) -> LivestockCertificate:
    return LivestockCertificate(
        certificate_no=row.certificate_no,
        lot=row.lot,
        form=row.form,
        issued_at=parse_utc(row.issued_at),
        valid_until=None if row.valid_until is None else parse_utc(row.valid_until),
        event_id=row.event_id,
    )


def livestock_certificates(conn: Connection, code: str) -> tuple[LivestockCertificate, ...]:
    """The livestock certificates recorded on lot `code` itself, oldest first."""
    rows = conn.execute(
        select(_certificate).where(_certificate.c.lot == code).order_by(_certificate.c.issued_at)
    )
    return tuple(_state(r) for r in rows)


def livestock_certificate(conn: Connection, certificate_no: str) -> tuple[LivestockCertificate, ...]:
    """The livestock certificates numbered `certificate_no` (one per lot it is on)."""
    rows = conn.execute(
        select(_certificate)
        .where(_certificate.c.certificate_no == certificate_no)
        .order_by(_certificate.c.lot)
    )
    return tuple(_state(r) for r in rows)
