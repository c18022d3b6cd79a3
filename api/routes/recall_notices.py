"""The recalls that reach a party's goods, for its own systems (docs/recall-notices.md).

GET /recall-notices    (a party's credentials) the recalls reaching what the caller holds now or has
                       on its way to it, newest first, with its quantities and its acknowledgements

A holder's ERP subscribes to every recall through the EPCIS webhooks (a named query with
`EQ_persistentDisposition_set: ["recalled"]`, docs/epcis-query.md), and on each delivery asks this
route which of them reach it and how much it holds: the webhook says "a recall happened", this
answer says "and this is what you must stop selling".
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from farmtrace.trace.reads.recall_notices import notices_for
from farmtrace.web.auth import authenticate

from ..deps import ServiceDep
from ..schemas import problems
from ..schemas.recall_notices import RecallNoticePublic, recall_notice_public

__all__ = ["router"]

router = APIRouter(tags=["recalls"])


@router.get("/recall-notices", response_model=list[RecallNoticePublic], responses=problems(403))
def get_recall_notices(request: Request, service: ServiceDep) -> list[RecallNoticePublic]:
    """The recalls reaching the caller's goods (held or on its way), each with its quantities and
    the caller's recall_ack events. Needs a party's credentials (Authorization: FarmTrace <token>)."""
    party = authenticate(request)
    return [recall_notice_public(n) for n in notices_for(service.engine, service.log, party.id)]
