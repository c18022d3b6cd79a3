"""The national platform's codes over HTTP (docs/national-platform.md).

GET /national-codes/{code}                                  public: the parties (主体码) and lots (追溯码)
                                                            carrying the code; 404 if none, 400 for a
                                                            code of the wrong shape
GET /exports/parties/{party_id}/flows.{csv,xlsx}?since=&until=&lang=
                                                            (regulator) the party's 来源/去向 record in
                                                            the NY/T 4712 shape (trace/stock_flows.py)
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from farmtrace.trace.clock import bounded_time
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.exports import write_csv, write_xlsx
from farmtrace.trace.model.ids import check_party_id
from farmtrace.trace.reads import national
from farmtrace.trace.stock_flows import FLOW_COLUMNS, flow_rows

from ..deps import RegulatorDep, ServiceDep
from ..schemas import problems
from ..schemas.national import CodeMatchPublic, code_match_public

__all__ = ["router"]

router = APIRouter(tags=["national"])

MAX_RANGE = timedelta(days=366)
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/national-codes/{code}",
    response_model=CodeMatchPublic,
    response_model_exclude_unset=True,
    responses=problems(400, 404),
)
def get_national_code(code: Annotated[str, Path(max_length=64)], service: ServiceDep) -> CodeMatchPublic:
    """Who carries a national platform code: parties by their 主体码, lots by their 追溯码."""
    return code_match_public(national.find_code(service.engine, code))


@router.get(
    "/exports/parties/{party_id}/flows.{fmt}",
    responses={
        200: {"content": {_MEDIA["csv"]: {}, _MEDIA["xlsx"]: {}}, "description": "the 来源/去向 record"},
        **problems(400, 403, 404),
    },
)
def export_flows(
    party_id: Annotated[str, Path(max_length=32)],
    fmt: Literal["csv", "xlsx"],
    service: ServiceDep,
    _: RegulatorDep,
    since: datetime,
    until: datetime,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    """One party's 入库/出库 lots with their 来源/去向, event times in [since, until), at most 366 days."""
    check_party_id(party_id, field="party_id")
    bounded_time("since", since)
    bounded_time("until", until)
    if until <= since:
        raise InvalidEvent("until", "must be later than since")
    if until - since > MAX_RANGE:
        raise InvalidEvent("until", "a range spans at most 366 days; export in parts")
    report = national.party_flows(service.engine, service.log, party_id, since=since, until=until)
    data = flow_rows(report.flows, lang=lang)
    buf = io.BytesIO()
    if fmt == "csv":
        write_csv(data, buf, lang=lang, columns=FLOW_COLUMNS)
    else:
        write_xlsx(data, buf, lang=lang, columns=FLOW_COLUMNS, sheet="来源去向 Flows", table_name="Flows")
    name = f"farmtrace-flows-{party_id}-{since.date().isoformat()}-{until.date().isoformat()}.{fmt}"
    return Response(
        buf.getvalue(),
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
