"""Parties' compliance records (公共征信) over HTTP (docs/compliance-record.md).

GET /parties/{party_id}/compliance       the party's record as the reader is shown it: in full for a
                                         regulator and for the party itself, else the public summary
                                         (trace/compliance.py `visible_record`); 404 unknown party
GET /compliance/refusals/{anomaly_id}    a refused attempt as stored (the evidence of a "refused"
                                         item): its sender and regulators; anyone else 403
GET /exports/compliance.{csv,xlsx,json}?lang=zh|en&party=
                                         (regulator) every party's record, or one party's, for the
                                         city's credit platform: one row per item citing its evidence
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from farmtrace.trace.compliance_sheet import COMPLIANCE_COLUMNS, compliance_rows
from farmtrace.trace.errors import Forbidden
from farmtrace.trace.exports import write_csv, write_xlsx
from farmtrace.trace.model.ids import check_party_id
from farmtrace.trace.reads import compliance
from farmtrace.trace.reads.parties import party_names

from ..deps import AudienceDep, RegulatorDep, ServiceDep
from ..schemas import problems
from ..schemas.compliance import ComplianceRecordPublic, compliance_record_public
from ..schemas.parties import AnomalyPublic, anomaly_public

__all__ = ["router"]

router = APIRouter(tags=["compliance"])

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_NUMBERS = ("ledger_index", "anomaly_id")  # absent in JSON as null, not ""
REFUSALS_HIDDEN = (
    "a refused attempt is shown to the party that sent it and to regulators: sign in as one of them "
    "(Authorization: FarmTrace <token>)"
)


@router.get(
    "/parties/{party_id}/compliance",
    response_model=ComplianceRecordPublic,
    responses=problems(400, 403, 404, 409),
)
def get_compliance(
    party_id: Annotated[str, Path(max_length=32)], service: ServiceDep, audience: AudienceDep
) -> ComplianceRecordPublic:
    """The party's failed tests, recalls, rejections at market entry, suspensions and (for itself and
    regulators) refused attempts, each citing its evidence."""
    check_party_id(party_id, field="party_id")
    record = compliance.party_record(service.engine, service.log, party_id, audience)
    return compliance_record_public(record)


@router.get("/compliance/refusals/{anomaly_id}", response_model=AnomalyPublic, responses=problems(403, 404))
def get_refusal(
    anomaly_id: Annotated[int, Path(ge=1, le=2**31 - 1)],  # trace_anomaly.id is a 32-bit INTEGER
    service: ServiceDep,
    audience: AudienceDep,
) -> AnomalyPublic:
    """A refused attempt as the platform stored it: who sent it, the rule and field that refused it,
    and the event as sent (it is not in the log)."""
    if audience.party is None:
        raise Forbidden(REFUSALS_HIDDEN)
    found = compliance.refusal(service.engine, anomaly_id)
    if not audience.regulator and found.party != audience.party:
        raise Forbidden(REFUSALS_HIDDEN)
    return anomaly_public(found)


@router.get(
    "/exports/compliance.{fmt}",
    responses={
        200: {"content": {m: {} for m in _MEDIA.values()}, "description": "the compliance records"},
        **problems(400, 403, 404, 409),
    },
)
def export_compliance(
    fmt: Literal["csv", "xlsx", "json"],
    request: Request,
    service: ServiceDep,
    _: RegulatorDep,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
    party: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Every party's compliance record (or `party`'s), one row per item, headers in `lang`."""
    if party is not None:
        check_party_id(party, field="party")
    records = compliance.compliance_book(service.engine, service.log, party=party)
    base = request.app.state.settings.public_url
    data = compliance_rows(records, party_names(service.engine), lang=lang, base=base)
    size = records[0].log_size if records else service.log.size
    name = f"farmtrace-compliance-{party or 'all'}-{size}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "json":
        body: dict[str, Any] = {
            "log_size": size,
            "lang": lang,
            "columns": [{"key": k, "header": zh if lang == "zh" else en} for k, en, zh in COMPLIANCE_COLUMNS],
            "rows": [{k: None if v == "" and k in _NUMBERS else v for k, v in row.items()} for row in data],
        }
        return JSONResponse(body, headers=headers)
    buf = io.BytesIO()
    if fmt == "csv":
        write_csv(data, buf, lang=lang, columns=COMPLIANCE_COLUMNS)
    else:
        write_xlsx(
            data,
            buf,
            lang=lang,
            columns=COMPLIANCE_COLUMNS,
            sheet="征信记录 Compliance",
            table_name="Compliance",
        )
    return Response(buf.getvalue(), media_type=_MEDIA[fmt], headers=headers)
