"""Test scaffolding: deterministic parties and keys, wire builders, and story 1 as a reusable ledger.

Keys, party and key records, wires and steps are trace/scenario.py's (the vocabulary the demo, the
console's city and the bench share); this module names the test parties and replays story 1 on a
MemoryState, one step at a time (`story_one(until=...)`).

Story 1 (MISSION.md): a 宁乡 cooperative harvests 500 kg of cabbage, the market's test room passes
it, the cooperative issues a 合格证 and ships to the wholesale market, which checks the certificate
at entry, receives and splits it into 50 lots of 10 kg; a supermarket receives one, repacks it into
1 kg bags and sells one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.trace import scenario as sc
from farmtrace.trace.clock import CST
from farmtrace.trace.model.encoding import encode_event, event_id
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.ids import uscc_check_char
from farmtrace.trace.model.values import PartyRecord
from farmtrace.trace.rules import MemoryState

START = datetime(2026, 11, 20, 6, 0, tzinfo=CST)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


REGULATOR = uscc("11430100MB1234567")  # 长沙市市场监督管理局
STATION = uscc("12430124MB5678901")  # 农残快检室 (test room)
COOP = uscc("93430124MA4L12345")  # 宁乡 vegetable cooperative (93 = 农民专业合作社)
MARKET = uscc("91430100MA4L22222")  # wholesale market
SHOP = uscc("91430100MA4L33333")  # supermarket
PROCESSOR = uscc("91430100MA4L44444")
FARMER = "F430124-000123"
# The pork story's parties (pork_story): registered by it, not by register_all.
PIG_FARM = uscc("93430182MA4P00011")  # 宁乡 pig farm (a cooperative)
VET = uscc("12430182MB0000011")  # 宁乡市动物卫生监督所 (official veterinarians)
ABATTOIR = uscc("91430100MA4T10011")  # designated slaughterhouse (定点屠宰厂)
STALL = uscc("92430102MA4T00011")  # wet-market pork stall (个体工商户)

ROLES = {
    REGULATOR: ["regulator"],
    STATION: ["inspector"],
    COOP: ["producer"],
    MARKET: ["wholesaler"],
    SHOP: ["retailer"],
    PROCESSOR: ["processor"],
    FARMER: ["producer"],
    PIG_FARM: ["producer"],
    VET: ["veterinarian"],
    ABATTOIR: ["processor"],
    STALL: ["retailer"],
}
NAMES = {
    REGULATOR: "长沙市市场监督管理局",
    STATION: "马王堆蔬菜批发市场农残快检室",
    COOP: "宁乡市绿源蔬菜种植专业合作社",
    MARKET: "长沙马王堆蔬菜批发市场",
    SHOP: "长沙某超市五一店",
    PROCESSOR: "长沙净菜加工厂",
    FARMER: "宁乡 张三 家庭农场",
    PIG_FARM: "宁乡市花猪养殖专业合作社",
    VET: "宁乡市动物卫生监督所",
    ABATTOIR: "长沙市生猪定点屠宰厂",
    STALL: "长沙东塘农贸市场 李记猪肉摊",
}
ADDRESS = "湖南省长沙市"
CABBAGE = {"name_zh": "包菜", "name_en": "Cabbage", "variety": "京丰一号", "category": "蔬菜"}
BAG = {"name_zh": "包菜 1kg 袋装", "name_en": "Cabbage, 1 kg bag", "gtin": "6901234567892"}
INSPECT_PASS = {**sc.RAPID_TEST, "value": "12.5", "result": "pass", "report_no": "KJ-20261120-0001"}
INSPECT_FAIL = INSPECT_PASS | {"value": "68.2", "result": "fail", "report_no": "KJ-20261120-0002"}
CERTIFY = {
    "certificate_no": "HGZ-430124-20261120-001",
    "product_name": "包菜",
    "origin": "湖南省长沙市宁乡市",
    "commitments": list(sc.COMMITMENTS),
    "contact": "宁乡市绿源蔬菜种植专业合作社 合作社办公室",
}


@cache
def actor(name: str, generation: int = 0) -> sc.Actor:
    """The party `name` acting with its key number `generation` (derived: trace.scenario.Actor.derived)."""
    return sc.Actor.derived(name, name=NAMES.get(name, "某地"), address=ADDRESS, generation=generation)


def private_key(name: str, generation: int = 0) -> Ed25519PrivateKey:
    return actor(name, generation).key


def public_key(name: str, generation: int = 0) -> bytes:
    return actor(name, generation).public_key


def key_id(name: str, generation: int = 0) -> str:
    return actor(name, generation).key_id


def key_wire(name: str, generation: int = 0) -> dict[str, str]:
    return actor(name, generation).key_record()


def party_wire(pid: str, roles: list[str] | None = None) -> dict[str, Any]:
    return sc.party_record(
        pid,
        name_zh=NAMES.get(pid, "某单位"),
        roles=roles or ROLES[pid],
        address=ADDRESS,
        keys=[key_wire(pid)],
        contact_commitment=hashlib.sha256(f"contact of {pid}".encode()).hexdigest(),
    )


stamp = sc.event_time


def wire(
    kind: str,
    party: str,
    *,
    time: datetime,
    detail: dict[str, Any],
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    key: str | None = None,
    **optional: Any,
) -> dict[str, Any]:
    """The wire form of any event by `party` (its first key unless `key` names another) at `time`."""
    said = sc.step(kind, detail=detail, inputs=inputs or (), outputs=outputs or (), **optional)
    return said_by(party, said, time=time, key=key)


def said_by(party: str, said: dict[str, Any], *, time: datetime, key: str | None = None) -> dict[str, Any]:
    """The wire form of a step (trace.scenario) said by `party` at `time`."""
    return sc.event_wire(
        said, party=party, key_id=key or key_id(party), at=time, location=actor(party).location()
    )


def out(lot: str, quantity: str, unit: str = "kg", product: dict[str, Any] | None = None) -> dict[str, Any]:
    return sc.out(lot, quantity, product or CABBAGE, unit)


@dataclass
class Ledger:
    """A MemoryState with a clock that ticks a minute per recorded event, and a log of what was recorded."""

    state: MemoryState = field(default_factory=MemoryState)
    clock: datetime = START
    log: list[tuple[Event, str]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # step name -> event id

    def __post_init__(self) -> None:
        regulator = Event.from_wire(
            wire("party.register", REGULATOR, time=START, detail={"party": party_wire(REGULATOR)})
        ).detail.party  # type: ignore[attr-defined]
        assert isinstance(regulator, PartyRecord)
        self.state.genesis(regulator, at=START - timedelta(days=1))

    def now(self) -> datetime:
        return self.clock + timedelta(seconds=30)

    def inp(self, lot: str, quantity: str, unit: str = "kg") -> dict[str, Any]:
        """An input following the lot's current head."""
        state = self.state.lot(lot)
        assert state is not None, lot
        return {"lot": lot, "quantity": quantity, "unit": unit, "follows": [state.head]}

    def make(self, kind: str, party: str, **kw: Any) -> Event:
        """Build (and parse) the event at the current clock, without recording it."""
        kw.setdefault("time", self.clock)
        return Event.from_wire(wire(kind, party, **kw))

    def record(self, kind: str, party: str, *, name: str | None = None, **kw: Any) -> str:
        """Record an event through check_event + effects + apply; return its id. Raises RuleViolation."""
        return self._named(name, self.submit(self.make(kind, party, **kw)))

    def tell(self, party: str, said: dict[str, Any], *, name: str | None = None) -> str:
        """Record a step (trace.scenario) said by `party` at the current clock, as `record` does."""
        return self._named(name, self.submit(Event.from_wire(said_by(party, said, time=self.clock))))

    def _named(self, name: str | None, eid: str) -> str:
        if name:
            self.ids[name] = eid
        return eid

    def submit(self, event: Event) -> str:
        eid = event_id(encode_event(event))
        self.state.record(event, eid, now=self.now())
        self.log.append((event, eid))
        self.clock += timedelta(minutes=1)
        return eid


def register_all(ledger: Ledger) -> None:
    for pid in (STATION, COOP, MARKET, SHOP, PROCESSOR, FARMER):
        ledger.record("party.register", REGULATOR, detail={"party": party_wire(pid)})


def story_one(ledger: Ledger | None = None, *, until: str = "sell") -> Ledger:
    """Record story 1 up to and including step `until`; return the ledger.

    Steps: register, harvest, inspect, certify, ship, receive, split, ship2, receive2, repack, sell.
    """
    lg = ledger or Ledger()
    steps = ["register", "harvest", "inspect", "certify", "ship", "receive", "split", "ship2", "receive2"]
    steps += ["repack", "sell"]
    for step in steps[: steps.index(until) + 1]:
        _STEPS[step](lg)
    return lg


def _register(lg: Ledger) -> None:
    register_all(lg)


def _harvest(lg: Ledger) -> None:
    origin = {"name": "宁乡市 东湖塘镇 3号地块", "geo": "28.2458,112.5512"}
    price = sc.price("1.2", "production")
    lg.tell(COOP, sc.harvest([out("NX-CAB-001", "500")], origin=origin, price=price), name="harvest")


def _inspect(lg: Ledger) -> None:
    said = sc.inspect(
        [lg.inp("NX-CAB-001", "500")], value="12.5", result="pass", report_no="KJ-20261120-0001"
    )
    lg.tell(STATION, said, name="inspect")


def _certify(lg: Ledger) -> None:
    c = CERTIFY
    said = sc.certify(
        [lg.inp("NX-CAB-001", "500")],
        certificate_no=c["certificate_no"],
        product_name=c["product_name"],
        origin=c["origin"],
        contact=c["contact"],
    )
    lg.tell(COOP, said, name="certify")


def _ship(lg: Ledger) -> None:
    sensors = [{"type": "temperature", "value": "4.5", "unit": "Cel", "time": stamp(lg.clock)}]
    lg.tell(COOP, sc.ship([lg.inp("NX-CAB-001", "500")], destination=MARKET, sensors=sensors), name="ship")


def _receive(lg: Ledger) -> None:
    said = sc.receive(
        [lg.inp("NX-CAB-001", "500")],
        source=COOP,
        ship_event=lg.ids["ship"],
        certificate_no=CERTIFY["certificate_no"],
    )
    lg.tell(MARKET, said, name="receive")


def _split(lg: Ledger) -> None:
    parts = [out(f"M-CAB-001-{i:02d}", "10") for i in range(1, 51)]
    lg.tell(MARKET, sc.split([lg.inp("NX-CAB-001", "500")], parts), name="split")


def _ship2(lg: Ledger) -> None:
    lots = [lg.inp("M-CAB-001-01", "10"), lg.inp("M-CAB-001-02", "10")]
    lg.tell(MARKET, sc.ship(lots, destination=SHOP, price=sc.price("2.6", "wholesale")), name="ship2")


def _receive2(lg: Ledger) -> None:
    said = sc.receive(
        [lg.inp("M-CAB-001-01", "10"), lg.inp("M-CAB-001-02", "10")],
        source=MARKET,
        ship_event=lg.ids["ship2"],
        inspection_event=lg.ids["inspect"],
    )
    lg.tell(SHOP, said, name="receive2")


def _repack(lg: Ledger) -> None:
    bags = [out(f"S-CAB-01-{i:02d}", "1", product=BAG) for i in range(1, 11)]
    lg.tell(SHOP, sc.repack([lg.inp("M-CAB-001-01", "10")], bags), name="repack")


def _sell(lg: Ledger) -> None:
    lg.tell(SHOP, sc.sell([lg.inp("S-CAB-01-01", "1")], price=sc.price("6.8", "retail")), name="sell")


_STEPS = {
    "register": _register,
    "harvest": _harvest,
    "inspect": _inspect,
    "certify": _certify,
    "ship": _ship,
    "receive": _receive,
    "split": _split,
    "ship2": _ship2,
    "receive2": _receive2,
    "repack": _repack,
    "sell": _sell,
}


# --- the pork story (issue 20 §5) -------------------------------------------------------------------

PIGS = {"name_zh": "宁乡花猪", "name_en": "Ningxiang pig", "category": "生猪"}
PORK = {"name_zh": "宁乡花猪 白条肉", "name_en": "Ningxiang pork, carcass half", "category": "肉类"}
PORK_CUT = {"name_zh": "宁乡花猪 前腿肉", "name_en": "Ningxiang pork, foreleg", "category": "肉类"}
EAR_TAGS = [f"1430182{n:08d}" for n in (1, 2, 3)]
ANIMAL_CERT = "4301820001"  # 动物检疫合格证明（动物B）
PRODUCT_CERT = "4301820002"  # 动物检疫合格证明（产品B）
MEAT_CERT = "RP-20261120-001"  # 肉品品质检验合格证


def pork_story(lg: Ledger, *, until: str = "sell") -> Ledger:
    """Record the pork story up to and including step `until` (registering its parties first).

    Steps: harvest (3 pigs, 345 kg), quarantine (动物B), ship, receive (slaughterhouse), slaughter
    (2 carcass halves, 130 kg each: 75 %), product_cert (产品B on the carcass lot), ship2 (to the
    market), receive2 (naming the product certificate), split, ship3 (to the stall), receive3, sell.
    """
    for pid in (PIG_FARM, VET, ABATTOIR, STALL):
        if lg.state.party(pid) is None:
            lg.record("party.register", REGULATOR, detail={"party": party_wire(pid)})
    steps = [
        ("harvest", PIG_FARM, lambda: sc.harvest(
            [sc.animals("PIG-001", EAR_TAGS, PIGS, live_weight="345")],
            origin={"name": "宁乡市花明楼镇 花猪养殖场"}, price=sc.price("16", "production"),
        )),
        ("quarantine", VET, lambda: sc.quarantine(
            [lg.inp("PIG-001", "3", "head")], form="animal_b", certificate_no=ANIMAL_CERT,
            owner=NAMES[PIG_FARM], species="猪", purpose="屠宰", origin="湖南省长沙市宁乡市花明楼镇",
            destination=NAMES[ABATTOIR], official_vet="王建国", ear_tags=EAR_TAGS, transport="road",
            vehicle="湘A·D1234", disinfection="过氧乙酸",
        )),
        ("ship", PIG_FARM, lambda: sc.ship([lg.inp("PIG-001", "3", "head")], destination=ABATTOIR)),
        ("receive", ABATTOIR, lambda: sc.receive(
            [lg.inp("PIG-001", "3", "head")], source=PIG_FARM, ship_event=lg.ids["ship"],
            certificate_no=ANIMAL_CERT,
        )),
        ("slaughter", ABATTOIR, lambda: sc.slaughter(
            [lg.inp("PIG-001", "3", "head")],
            [sc.out("PORK-001-L", "130", PORK), sc.out("PORK-001-R", "128.5", PORK)],
            live_weight="345", certificate_no=MEAT_CERT,
        )),
        ("product_cert", VET, lambda: sc.quarantine(
            [lg.inp("PORK-001-L", "130")], form="product_b", certificate_no=PRODUCT_CERT,
            owner=NAMES[ABATTOIR], species="猪", product_name="白条肉", origin=NAMES[ABATTOIR],
            destination=NAMES[MARKET], official_vet="王建国", marks="湘 0012345",
        )),
        ("ship2", ABATTOIR, lambda: sc.ship([lg.inp("PORK-001-L", "130")], destination=MARKET)),
        ("receive2", MARKET, lambda: sc.receive(
            [lg.inp("PORK-001-L", "130")], source=ABATTOIR, ship_event=lg.ids["ship2"],
            certificate_no=PRODUCT_CERT,
        )),
        ("split", MARKET, lambda: sc.split(
            [lg.inp("PORK-001-L", "130")],
            [sc.out("PORK-001-L1", "20", PORK_CUT), sc.out("PORK-001-L2", "110", PORK)],
        )),
        ("ship3", MARKET, lambda: sc.ship(
            [lg.inp("PORK-001-L1", "20")], destination=STALL, price=sc.price("26", "wholesale"),
        )),
        ("receive3", STALL, lambda: sc.receive(
            [lg.inp("PORK-001-L1", "20")], source=MARKET, ship_event=lg.ids["ship3"],
            certificate_no=PRODUCT_CERT,
        )),
        ("sell", STALL, lambda: sc.sell([lg.inp("PORK-001-L1", "1.5")], price=sc.price("32", "retail"))),
    ]  # fmt: skip
    for name, who, said in steps:
        lg.tell(who, said(), name=name)
        if name == until:
            break
    return lg


H1 = "1" * 64
H2 = "2" * 64
T0 = START


def sample_wires() -> dict[str, dict[str, Any]]:
    """One well-formed wire event of every kind (not a consistent story: ids are placeholders)."""

    def ref(lot: str, quantity: str = "500", unit: str = "kg") -> dict[str, Any]:
        return sc.ref(lot, quantity, unit, follows=[H1])

    def at_t0(party: str, said: dict[str, Any]) -> dict[str, Any]:
        return said_by(party, said, time=T0)

    full_location = {
        "name": "马王堆蔬菜批发市场",
        "address": "长沙市芙蓉区",
        "gln": "6901234000009",
        "geo": "28.19,113.03",
    }
    lot = [ref("NX-CAB-001")]
    reading = "2026-11-20T06:00:00Z"
    return {
        "harvest": at_t0(
            COOP,
            sc.harvest(
                [out("NX-CAB-001", "500"), out("NX-CAB-002", "200", "jin", BAG)],
                origin={"name": "宁乡 3号地块", "geo": "28.2458,112.5512"},
                price=sc.price("1.2", "production"),
                documents=[{"type": "planting_record", "id": "PR-001", "url": "https://coop.example/pr/1"}],
            ),
        ),
        "inspect": at_t0(STATION, sc.step("inspect", inputs=lot, detail=INSPECT_PASS))
        | {"location": full_location},
        "certify": at_t0(COOP, sc.step("certify", inputs=lot, detail=CERTIFY)),
        "transform": at_t0(MARKET, sc.split(lot, [out("M-1", "250"), out("M-2", "249.5")])),
        "ship": at_t0(
            COOP,
            sc.ship(
                lot,
                destination=MARKET,
                sensors=[
                    {"type": "temperature", "value": "-1.5", "unit": "Cel", "time": reading},
                    {"type": "humidity", "value": "92", "unit": "%RH", "time": reading},
                ],
                documents=[{"type": "invoice", "id": "INV-7"}],
            ),
        ),
        "receive": at_t0(
            MARKET,
            sc.receive(
                lot, source=COOP, ship_event=H2, certificate_no="HGZ-1", inspection_event=H1, note="查验"
            ),
        ),
        "sell": at_t0(SHOP, sc.sell([ref("S-1", "1")], price=sc.price("6.8", "retail"))),
        "label_activate": at_t0(
            SHOP, sc.step("label_activate", detail={"lot": "S-1", "gtin": BAG["gtin"], "serials": ["R7-0001", "R7-0002"]})
        ),
        "quarantine": at_t0(
            STATION,
            sc.quarantine(
                [ref("NX-PIG-001", "2", "head")],
                form="animal_b",
                certificate_no="4301820000123",
                owner="宁乡花猪养殖场",
                species="猪",
                purpose="屠宰",
                origin="湖南省长沙市宁乡市花明楼镇",
                destination="长沙市定点屠宰厂",
                official_vet="王兽医",
                ear_tags=["143018200000001", "143018200000002"],
                transport="road",
                vehicle="湘A·12345",
            ),
        ),
        "recall": at_t0(
            REGULATOR, sc.recall(lot, reason="农残超标", instructions="请停止销售并退回\n消费者可凭小票退款")
        ),
        "destroy": at_t0(REGULATOR, sc.destroy(lot, reason="recalled", holder=MARKET)),
        "recall_ack": at_t0(
            MARKET, sc.step("recall_ack", detail={"recall_event": H2, "lot": "NX-CAB-001", "note": "已下架 40 kg"})
        ),
        "party.register": at_t0(REGULATOR, sc.register(party_wire(FARMER))),
        "party.key_add": at_t0(REGULATOR, sc.add_key(COOP, key_wire(COOP, 1))),
        "party.key_revoke": at_t0(REGULATOR, sc.revoke_key(COOP, key_id(COOP), reason="lost")),
        "party.suspend": at_t0(REGULATOR, sc.suspend(SHOP, reason="违规")),
    }
