"""The log as C2SP tlog-tiles, read-only, below the prefix /log/ (docs/tiles.md).

GET /log/checkpoint                 the latest signed checkpoint note, with witness cosignatures
GET /log/tile/<L>/<N>[.p/<W>]       hash tile N of level L (ledger/tile_paths.py names the paths)
GET /log/tile/entries/<N>[.p/<W>]   entry bundle N

HEAD answers wherever GET does (api/methods.py). Entry bundles are gzip-compressed here, when the
client accepts gzip, at level 1: a full bundle of signed events (about 90 kB) shrinks to 47% of its
size in a quarter of the time zlib's default level 6 takes for 43%. Hash tiles are random bytes and
are sent as they are (api/app.py keeps its gzip middleware off application/octet-stream).
Full tiles and bundles never change: they are
served `Cache-Control: public, max-age=31536000, immutable`. Partial ones stay correct forever too
(a partial tile is a prefix of what the tile becomes), but a log may stop serving them once the
full tile exists, so they get a minute; the checkpoint, which moves, five seconds. A path that
names no tile of the tree at the latest checkpoint (malformed, beyond the tree, or wider than the
tree has it) is 404, as it is on a static server publishing the same tree (`farmtrace publish`).

The tile route is `async`: it reads and compresses on the event loop, skipping a trip through the
thread pool per request (a hash-tile read takes about 0.06 ms, a bundle's 0.25 ms, level-1 gzip of
a full bundle 0.85 ms). At 1M entries, alternating with the `def` route: p50 3.91 / 4.26 ms against
4.40 / 4.47, p95 12.97 / 13.23 against 13.95 / 14.15, at load 5-6 (bench/README.md, "The log as
tiles"). The log dependency (`LogDep`) is kept, so the mirror's override of `get_log` applies.
"""

from __future__ import annotations

import gzip
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from farmtrace.ledger.errors import MalformedError, NotFoundError
from farmtrace.ledger.tile_paths import parse_tile_path
from farmtrace.ledger.tile_reads import read_resource

from ..deps import LogDep
from ..schemas import problems

__all__ = ["CHECKPOINT_CACHE", "FULL_TILE_CACHE", "PARTIAL_TILE_CACHE", "PREFIX", "router"]

PREFIX = "/log"
NOTE = "text/plain; charset=utf-8"
TILE = "application/octet-stream"
FULL_TILE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_TILE_CACHE = "public, max-age=60"
CHECKPOINT_CACHE = "public, max-age=5"

router = APIRouter(prefix=PREFIX, tags=["log tiles"])


@router.get("/checkpoint", response_class=PlainTextResponse, responses={200: {"content": {NOTE: {}}}})
def tiles_checkpoint(log: LogDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint), byte for byte, with witness cosignatures."""
    note = log.checkpoint().note_with_cosignatures()
    return PlainTextResponse(note, media_type=NOTE, headers={"Cache-Control": CHECKPOINT_CACHE})


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={
        200: {"content": {TILE: {}}, "description": "the tile's hashes, or the entry bundle"},
        **problems(404),
    },
)
async def tile(path: str, log: LogDep, request: Request) -> Response:
    """A hash tile (`<L>/<N>[.p/<W>]`) or entry bundle (`entries/<N>[.p/<W>]`) of the tree at the
    latest checkpoint (the one the store holds: ledger/tile_reads.py), as C2SP tlog-tiles lays them out."""
    started = time.perf_counter()
    try:
        wanted = parse_tile_path(f"tile/{path}")
    except MalformedError as exc:
        raise NotFoundError(f"no such resource: {exc}") from None
    data = read_resource(log, wanted)  # the tree the store holds; NotFoundError beyond it
    headers = {"Cache-Control": FULL_TILE_CACHE if wanted.is_full else PARTIAL_TILE_CACHE}
    if wanted.is_bundle:
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request.headers.get("accept-encoding", "")):
            data = gzip.compress(data, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
    headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"  # bench/tiles_bench.py
    return Response(data, media_type=TILE, headers=headers)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value (RFC 9110 §12.5.3) admits gzip: listed (or `*`) without q=0."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False
