"""What tests/web/test_recall_story.py builds on: story 3's world, a dishonest server, and the
regulator's own reading of the ledger.

- `RecallWorld`: tests/api/test_stories.py's World (every event signed by its party, posted over
  HTTP) with a second shop, and `build` (a harvest lot split and sent to two shops, repacked there
  into bags, some sold, one shipment still on the road).
- `DishonestServer`: the operator's ASGI wrapper around the real app. It serves every request as the
  app answers it, except the journeys (and, when told, the lot pages) it is told to edit: what an
  operator who controls the server and its database, but not the parties' keys, the log key or the
  witnesses, can serve.
- `ledger_reach`: what a recall reaches, folded from the ledger's entries alone (GET /ledger/entries,
  checked against the signed checkpoint), never from the projection the server's reports read.
- Journey edits for the attacks, and `projection_edit`, which edits the trace_* tables behind the
  service's back and puts them back afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from farmtrace.client import PartyKey
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.hashing import leaf_hash, node_hash
from farmtrace.ledger.note import Verifier
from farmtrace.trace import scenario as sc
from farmtrace.trace.model.encoding import decode_entry

from ..api.test_stories import World, out
from ..trace.story import ADDRESS, BAG, COOP, MARKET, NAMES, REGULATOR, SHOP, key_wire, private_key, uscc

SHOP2 = uscc("91430100MA4L55555")  # a second retailer: a wet-market stall
SHOP2_NAME = "长沙某农贸市场 3号摊位"
HARVEST = "NX-CAB-003"
SPLITS = [f"M-CAB-003-{i:02d}" for i in range(1, 21)]  # 20 lots of 10 kg
BAGS_A = [f"SA-CAB-03-{i:02d}" for i in range(1, 6)]  # SHOP: 5 bags of 2 kg from SPLITS[0]
BAGS_B = [f"SB-CAB-03-{i:02d}" for i in range(1, 5)]  # SHOP2: 4 bags of 2.5 kg from SPLITS[1]
BAGS = BAGS_A + BAGS_B


class RecallWorld(World):
    """World with SHOP2 among its parties."""

    def __init__(self, http: httpx.Client) -> None:
        super().__init__(http)
        self.keys[SHOP2] = PartyKey(SHOP2, private_key(SHOP2))

    def entry(self, party: str, wire: dict[str, Any], *, at: str | None = None, key: PartyKey | None = None):
        name = SHOP2_NAME if party == SHOP2 else NAMES[party]
        wire = {"location": {"name": name, "address": ADDRESS}, **wire}
        wire["event_time"] = at or self.tick()
        return self.client(party, key).entry(wire)

    def build(self) -> None:
        """Story 1's start with HARVEST (200 kg) split into SPLITS; SPLITS[0] and SPLITS[3] to SHOP,
        SPLITS[1] and SPLITS[2] to SHOP2 (6 of SPLITS[2]'s 10 kg received, 4 still on the road);
        each shop repacks its first lot into bags and sells one. The rest stays at the market."""
        self.register_all()
        shop2 = sc.party_record(
            SHOP2,
            name_zh=SHOP2_NAME,
            roles=["retailer"],
            address=ADDRESS,
            keys=[key_wire(SHOP2)],
            contact_commitment=hashlib.sha256(b"contact of the stall").hexdigest(),
        )
        self.record(REGULATOR, {"kind": "party.register", "detail": {"party": shop2}})
        self.harvest(HARVEST, "200", name="harvest")
        self.inspect(HARVEST, "200", name="inspect")
        self.certify(HARVEST, "200", name="certify")
        self.ship(COOP, [(HARVEST, "200")], MARKET, name="ship")
        self.receive(MARKET, [(HARVEST, "200")], ship_event=self.ids["ship"], source=COOP)
        self.transform(MARKET, "split", [(HARVEST, "200")], [out(c, "10") for c in SPLITS])
        entry_check = {"result": "accepted", "inspection_event": self.ids["inspect"]}
        for shop, lot, got in ((SHOP, SPLITS[0], "10"), (SHOP, SPLITS[3], "10"), (SHOP2, SPLITS[1], "10"), (SHOP2, SPLITS[2], "6")):  # fmt: skip
            sent = self.ship(MARKET, [(lot, "10")], shop)
            self.receive(shop, [(lot, got)], ship_event=sent["event_id"], source=MARKET, check=entry_check)
        self.transform(SHOP, "repack", [(SPLITS[0], "10")], [out(c, "2", product=BAG) for c in BAGS_A])
        self.transform(SHOP2, "repack", [(SPLITS[1], "10")], [out(c, "2.5", product=BAG) for c in BAGS_B])
        self.record(SHOP, self.sell_wire(BAGS_A[0], "2"))
        self.record(SHOP2, self.sell_wire(BAGS_B[0], "2.5"))


# --- the dishonest server ---------------------------------------------------------------------------

JourneyEdit = Callable[[str, dict[str, Any]], dict[str, Any]]
_RECALL_SECTION = re.compile(r'<section class="alert recall"[^>]*data-server>.*?</section>\s*', re.DOTALL)


class DishonestServer:
    """The real app, behind an operator who edits what it serves.

    `journey` (None: honest) edits each GET /lots/{code}/journey answer: (code, journey) -> journey.
    With `strip_recall_banners`, the lot pages (/l/{code}) lose the recall banners the server paints
    first (the page's scripts are served as they are: what the consumer's browser runs is genuine).
    """

    def __init__(self, app) -> None:
        self.app = app
        self.journey: JourneyEdit | None = None
        self.strip_recall_banners = False

    @contextmanager
    def serving(self, journey: JourneyEdit | None, *, strip_recall_banners: bool = False) -> Iterator[None]:
        self.journey, self.strip_recall_banners = journey, strip_recall_banners
        try:
            yield
        finally:
            self.journey, self.strip_recall_banners = None, False

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        journey = path.startswith("/lots/") and path.endswith("/journey") and self.journey is not None
        page = path.startswith("/l/") and self.strip_recall_banners
        if not (journey or page):
            await self.app(scope, receive, send)
            return
        # Ask the app for an uncompressed answer, edit it, and send it on.
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if start["status"] == 200 and journey:
            code = path[len("/lots/") : -len("/journey")]
            body = json.dumps(self.journey(code, json.loads(body))).encode()
        elif start["status"] == 200:
            body = _RECALL_SECTION.sub("", body.decode()).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"etag")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


# --- the attacks' edits -----------------------------------------------------------------------------


def without_recall(journey: dict[str, Any], recall: int) -> dict[str, Any]:
    """Attack 1: the journey with the recall event (ledger index `recall`) left out, and the server's
    own words about it (`recalls`, `status.recalled`) changed to match."""
    j = json.loads(json.dumps(journey))
    j["events"] = [e for e in j["events"] if e["index"] != recall]
    j["recalls"] = []
    j["status"]["recalled"] = False
    return j


def with_old_index(journey: dict[str, Any], before: dict[str, Any], log, recall: int) -> dict[str, Any]:
    """Attack 2a: the latest checkpoint, the index section of `before` (an older index entry, its
    inclusion proof redone in the latest checkpoint) and no recall."""
    j = without_recall(journey, recall)
    j["index"] = json.loads(json.dumps(before["index"]))
    size = int(j["checkpoint"].split("\n")[1])
    entry = j["index"]["entry"]
    entry["proof"] = [base64.b64encode(h).decode() for h in log.prove_inclusion(entry["index"], size)]
    return j


def with_rewritten_head(journey: dict[str, Any], recall: int, lot: str) -> dict[str, Any]:
    """Attack 4: no recall, and the index's value for `lot` rewritten to end where the journey now
    ends (one event fewer, its head the lot's previous event): the map proof cannot prove it."""
    j = without_recall(journey, recall)
    naming = [
        e for e in j["events"] if any(r["lot"] == lot for r in e["event"]["inputs"] + e["event"]["outputs"])
    ]
    value = j["index"]["lots"][lot]["value"]
    value["count"], value["head"] = value["count"] - 1, naming[-1]["id"]
    return j


@contextmanager
def projection_edit(db: Path, statements: list[tuple[str, tuple]], restore: list[tuple[str, tuple]]):
    """Run `statements` on the SQLite file behind the service's back; run `restore` on leaving."""
    _run(db, statements)
    try:
        yield
    finally:
        _run(db, restore)


def _run(db: Path, statements: list[tuple[str, tuple]]) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            for sql, params in statements:
                conn.execute(sql, params)
    finally:
        conn.close()


def forget_recall(db: Path, recall_id: str):
    """Attack 3b: the projection forgets the recall: its trace_event and trace_event_lot rows are
    deleted and every lot's recalled flag cleared. On leaving, all of it is put back."""
    conn = sqlite3.connect(db)
    try:
        event = conn.execute("SELECT * FROM trace_event WHERE id = ?", (recall_id,)).fetchall()
        lots = conn.execute("SELECT * FROM trace_event_lot WHERE event_id = ?", (recall_id,)).fetchall()
        flagged = [r[0] for r in conn.execute("SELECT code FROM trace_lot WHERE recalled")]
    finally:
        conn.close()
    assert len(event) == 1 and lots and flagged

    def insert(table: str, row: tuple) -> tuple[str, tuple]:
        return f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row

    return projection_edit(
        db,
        [
            ("DELETE FROM trace_event_lot WHERE event_id = ?", (recall_id,)),
            ("DELETE FROM trace_event WHERE id = ?", (recall_id,)),
            ("UPDATE trace_lot SET recalled = 0", ()),
        ],
        [insert("trace_event", event[0]), *(insert("trace_event_lot", r) for r in lots)]
        + [("UPDATE trace_lot SET recalled = 1 WHERE code = ?", (c,)) for c in flagged],
    )


# --- the regulator's reading of the ledger ----------------------------------------------------------


def _tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes, written out here rather than taken from ledger/merkle.py."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)  # the largest power of two below n
    return node_hash(_tree_hash(leaves[:k]), _tree_hash(leaves[k:]))


def ledger_events(http: httpx.Client, log_key: str) -> list[dict[str, Any]]:
    """Every event in the log, as signed (wire form), in ledger order: the entries of GET
    /ledger/entries, whose tree hash must be the root of the checkpoint the pinned log key signed."""
    cp = open_checkpoint(http.get("/ledger/checkpoint").text, Verifier.from_key_string(log_key)).checkpoint
    entries, start = [], 0
    while start < cp.size:
        page = http.get("/ledger/entries", params={"start": start, "limit": 1000}).json()
        entries += [base64.b64decode(e["entry"]) for e in page["entries"]]
        start = len(entries)
    entries = entries[: cp.size]
    assert _tree_hash([leaf_hash(e) for e in entries]) == cp.root
    return [decode_entry(e).event.to_wire() for e in entries if not e.startswith(b"farmtrace/index/")]


def ledger_reach(events: list[dict[str, Any]], code: str) -> dict[str, Any]:
    """What a recall of `code` reaches, by replaying the signed events' movements:
    {"lots": the lot and every lot made from it, "held": {party: {lot: quantity}},
     "in_transit": {party: {lot: quantity}}} (quantities above zero only)."""
    children: dict[str, set[str]] = defaultdict(set)
    held: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    road: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for e in events:
        kind, party = e["kind"], e["party"]
        ins = [(r["lot"], Decimal(r["quantity"])) for r in e["inputs"]]
        if kind in ("harvest", "transform"):
            for lot, q in ins:
                held[party][lot] -= q
                children[lot] |= {o["lot"] for o in e["outputs"]}
            for o in e["outputs"]:
                held[party][o["lot"]] += Decimal(o["quantity"])
        elif kind == "ship":
            for lot, q in ins:
                held[party][lot] -= q
                road[e["detail"]["destination"]][lot] += q
        elif kind == "receive":
            for lot, q in ins:
                road[party][lot] -= q
                held[party][lot] += q
        elif kind in ("sell", "destroy"):
            for lot, q in ins:
                held[party][lot] -= q
    lots, todo = {code}, [code]
    while todo:
        for child in children[todo.pop()] - lots:
            lots.add(child)
            todo.append(child)

    def positive(by_party):
        got = {p: {lot: q for lot, q in qs.items() if lot in lots and q > 0} for p, qs in by_party.items()}
        return {p: qs for p, qs in got.items() if qs}

    return {"lots": lots, "held": positive(held), "in_transit": positive(road)}
