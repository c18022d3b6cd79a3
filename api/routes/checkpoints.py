"""GET /log/checkpoints?after=N: every checkpoint the log signed, with its cosignatures, a page at a time.

tlog-tiles serves only the latest checkpoint. A restore (`farmtrace restore --from URL`) brings
back every checkpoint the source lists, so that the restored log still holds the notes its
witnesses cosigned; a mirror serves this list (api/mirror_app.py), and so does the primary, here.
The format is ledger/checkpoint_list.py's `farmtrace-checkpoints/v1` (docs/mirror.md): at most
CHECKPOINT_PAGE checkpoints larger than `after`, smallest first; an empty list past the last.
A static publication (`farmtrace publish`) has no such list: a restore from one gets the latest
checkpoint only, and says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from farmtrace.ledger.checkpoint_list import CHECKPOINT_PAGE, format_checkpoint_list

from ..deps import LogDep

__all__ = ["CHECKPOINT_LIST", "router"]

CHECKPOINT_LIST = "text/x.farmtrace.checkpoints"

router = APIRouter(prefix="/log", tags=["log tiles"])


@router.get(
    "/checkpoints",
    response_class=Response,
    responses={200: {"content": {CHECKPOINT_LIST: {}}, "description": "farmtrace-checkpoints/v1"}},
)
def checkpoint_list(
    log: LogDep, after: int = Query(-1, ge=-1, description="list the checkpoints larger than this size")
) -> Response:
    """A page of the log's signed checkpoints larger than `after`, with their cosignature lines."""
    data = format_checkpoint_list(log.checkpoints_after(after, CHECKPOINT_PAGE))
    return Response(data, media_type=CHECKPOINT_LIST, headers={"Cache-Control": "public, max-age=5"})
