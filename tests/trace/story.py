"""Test scaffolding: deterministic parties and keys, wire builders, and story 1 as a reusable ledger.

Story 1 (MISSION.md): a 宁乡 cooperative harvests 500 kg of cabbage, the market's test room passes
it, the cooperative issues a 合格证 and ships to the wholesale market, which checks the certificate
at entry, receives and splits it into 50 lots of 10 kg; a supermarket receives one, repacks it into
1 kg bags and sells one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from farmtrace.trace.clock import CST
from farmtrace.trace.model.encoding import encode_event, event_id
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.ids import key_id_for, uscc_check_char
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

ROLES = {
    REGULATOR: ["regulator"],
    STATION: ["inspector"],
    COOP: ["producer"],
    MARKET: ["wholesaler"],
    SHOP: ["retailer"],
    PROCESSOR: ["processor"],
    FARMER: ["producer"],
}
NAMES = {
    REGULATOR: "长沙市市场监督管理局",
    STATION: "马王堆蔬菜批发市场农残快检室",
    COOP: "宁乡市绿源蔬菜种植专业合作社",
    MARKET: "长沙马王堆蔬菜批发市场",
    SHOP: "长沙某超市五一店",
    PROCESSOR: "长沙净菜加工厂",
    FARMER: "宁乡 张三 家庭农场",
}
CABBAGE = {"name_zh": "包菜", "name_en": "Cabbage", "variety": "京丰一号", "category": "蔬菜"}
BAG = {"name_zh": "包菜 1kg 袋装", "name_en": "Cabbage, 1 kg bag", "gtin": "6901234567892"}
INSPECT_PASS = {
    "analyte": "有机磷和氨基甲酸酯类农药残留",
    "method": "GB/T 5009.199 速测卡法",
    "value": "12.5",
    "limit": "50",
    "unit": "%抑制率",
    "result": "pass",
    "report_no": "KJ-20261120-0001",
}
INSPECT_FAIL = INSPECT_PASS | {"value": "68.2", "result": "fail", "report_no": "KJ-20261120-0002"}
CERTIFY = {
    "certificate_no": "HGZ-430124-20261120-001",
    "product_name": "包菜",
    "origin": "湖南省长沙市宁乡市",
    "commitments": [
        "no_banned_substances",
        "withdrawal_period_observed",
        "residues_within_limits",
        "self_tested",
    ],
    "contact": "宁乡市绿源蔬菜种植专业合作社 合作社办公室",
}


def private_key(name: str, generation: int = 0) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"{name}/{generation}".encode()).digest())


def public_key(name: str, generation: int = 0) -> bytes:
    return private_key(name, generation).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, generation: int = 0) -> str:
    return key_id_for(public_key(name, generation))


def key_wire(name: str, generation: int = 0) -> dict[str, str]:
    import base64

    return {
        "key_id": key_id(name, generation),
        "public_key": base64.b64encode(public_key(name, generation)).decode(),
    }


def party_wire(pid: str, roles: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": pid,
        "id_type": "farmer_reg" if pid.startswith("F") else "uscc",
        "name_zh": NAMES.get(pid, "某单位"),
        "roles": roles or ROLES[pid],
        "address": "湖南省长沙市",
        "keys": [key_wire(pid)],
        "contact_commitment": hashlib.sha256(f"contact of {pid}".encode()).hexdigest(),
    }


def stamp(t: datetime) -> str:
    return t.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S+08:00")


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
    return {
        "kind": kind,
        "event_time": stamp(time),
        "party": party,
        "key_id": key or key_id(party),
        "location": {"name": NAMES.get(party, "某地"), "address": "湖南省长沙市"},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "detail": detail,
        **optional,
    }


def out(lot: str, quantity: str, unit: str = "kg", product: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"lot": lot, "quantity": quantity, "unit": unit, "product": product or CABBAGE}


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
        event = self.make(kind, party, **kw)
        eid = self.submit(event)
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
    lg.record(
        "harvest",
        COOP,
        name="harvest",
        outputs=[out("NX-CAB-001", "500")],
        detail={"origin": {"name": "宁乡市 东湖塘镇 3号地块", "geo": "28.2458,112.5512"}},
        price={"amount": "1.2", "currency": "CNY", "unit": "kg", "stage": "production"},
    )


def _inspect(lg: Ledger) -> None:
    lg.record("inspect", STATION, name="inspect", inputs=[lg.inp("NX-CAB-001", "500")], detail=INSPECT_PASS)


def _certify(lg: Ledger) -> None:
    lg.record("certify", COOP, name="certify", inputs=[lg.inp("NX-CAB-001", "500")], detail=CERTIFY)


def _ship(lg: Ledger) -> None:
    lg.record(
        "ship",
        COOP,
        name="ship",
        inputs=[lg.inp("NX-CAB-001", "500")],
        detail={"destination": MARKET},
        sensors=[{"type": "temperature", "value": "4.5", "unit": "Cel", "time": stamp(lg.clock)}],
    )


def _receive(lg: Ledger) -> None:
    lg.record(
        "receive",
        MARKET,
        name="receive",
        inputs=[lg.inp("NX-CAB-001", "500")],
        detail={
            "source": COOP,
            "ship_event": lg.ids["ship"],
            "entry_check": {"result": "accepted", "certificate_no": CERTIFY["certificate_no"]},
        },
    )


def _split(lg: Ledger) -> None:
    lg.record(
        "transform",
        MARKET,
        name="split",
        inputs=[lg.inp("NX-CAB-001", "500")],
        outputs=[out(f"M-CAB-001-{i:02d}", "10") for i in range(1, 51)],
        detail={"type": "split"},
    )


def _ship2(lg: Ledger) -> None:
    lg.record(
        "ship",
        MARKET,
        name="ship2",
        inputs=[lg.inp("M-CAB-001-01", "10"), lg.inp("M-CAB-001-02", "10")],
        detail={"destination": SHOP},
        price={"amount": "2.6", "currency": "CNY", "unit": "kg", "stage": "wholesale"},
    )


def _receive2(lg: Ledger) -> None:
    lg.record(
        "receive",
        SHOP,
        name="receive2",
        inputs=[lg.inp("M-CAB-001-01", "10"), lg.inp("M-CAB-001-02", "10")],
        detail={
            "source": MARKET,
            "ship_event": lg.ids["ship2"],
            "entry_check": {"result": "accepted", "inspection_event": lg.ids["inspect"]},
        },
    )


def _repack(lg: Ledger) -> None:
    lg.record(
        "transform",
        SHOP,
        name="repack",
        inputs=[lg.inp("M-CAB-001-01", "10")],
        outputs=[out(f"S-CAB-01-{i:02d}", "1", product=BAG) for i in range(1, 11)],
        detail={"type": "repack"},
    )


def _sell(lg: Ledger) -> None:
    lg.record(
        "sell",
        SHOP,
        name="sell",
        inputs=[lg.inp("S-CAB-01-01", "1")],
        detail={},
        price={"amount": "6.8", "currency": "CNY", "unit": "kg", "stage": "retail"},
    )


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


H1 = "1" * 64
H2 = "2" * 64
T0 = START


def sample_wires() -> dict[str, dict[str, Any]]:
    """One well-formed wire event of every kind (not a consistent story: ids are placeholders)."""

    def ref(lot: str, quantity: str = "500", unit: str = "kg") -> dict[str, Any]:
        return {"lot": lot, "quantity": quantity, "unit": unit, "follows": [H1]}

    full_location = {
        "name": "马王堆蔬菜批发市场",
        "address": "长沙市芙蓉区",
        "gln": "6901234000009",
        "geo": "28.19,113.03",
    }
    return {
        "harvest": wire(
            "harvest",
            COOP,
            time=T0,
            outputs=[out("NX-CAB-001", "500"), out("NX-CAB-002", "200", "jin", BAG)],
            detail={"origin": {"name": "宁乡 3号地块", "geo": "28.2458,112.5512"}},
            price={"amount": "1.2", "currency": "CNY", "unit": "kg", "stage": "production"},
            documents=[{"type": "planting_record", "id": "PR-001", "url": "https://coop.example/pr/1"}],
        ),
        "inspect": wire("inspect", STATION, time=T0, inputs=[ref("NX-CAB-001")], detail=INSPECT_PASS)
        | {"location": full_location},
        "certify": wire("certify", COOP, time=T0, inputs=[ref("NX-CAB-001")], detail=CERTIFY),
        "transform": wire(
            "transform",
            MARKET,
            time=T0,
            inputs=[ref("NX-CAB-001")],
            outputs=[out("M-1", "250"), out("M-2", "249.5")],
            detail={"type": "split"},
        ),
        "ship": wire(
            "ship",
            COOP,
            time=T0,
            inputs=[ref("NX-CAB-001")],
            detail={"destination": MARKET},
            sensors=[
                {"type": "temperature", "value": "-1.5", "unit": "Cel", "time": "2026-11-20T06:00:00Z"},
                {"type": "humidity", "value": "92", "unit": "%RH", "time": "2026-11-20T06:00:00Z"},
            ],
            documents=[{"type": "invoice", "id": "INV-7"}],
        ),
        "receive": wire(
            "receive",
            MARKET,
            time=T0,
            inputs=[ref("NX-CAB-001")],
            detail={
                "source": COOP,
                "ship_event": H2,
                "entry_check": {
                    "result": "accepted",
                    "certificate_no": "HGZ-1",
                    "inspection_event": H1,
                    "note": "查验",
                },
            },
        ),
        "sell": wire(
            "sell",
            SHOP,
            time=T0,
            inputs=[ref("S-1", "1")],
            detail={},
            price={"amount": "6.8", "currency": "CNY", "unit": "kg", "stage": "retail"},
        ),
        "recall": wire(
            "recall",
            REGULATOR,
            time=T0,
            inputs=[ref("NX-CAB-001")],
            detail={"reason": "农残超标", "instructions": "请停止销售并退回\n消费者可凭小票退款"},
        ),
        "destroy": wire(
            "destroy",
            REGULATOR,
            time=T0,
            inputs=[ref("NX-CAB-001")],
            detail={"reason": "recalled", "holder": MARKET},
        ),
        "party.register": wire("party.register", REGULATOR, time=T0, detail={"party": party_wire(FARMER)}),
        "party.key_add": wire(
            "party.key_add", REGULATOR, time=T0, detail={"party_id": COOP, **key_wire(COOP, 1)}
        ),
        "party.key_revoke": wire(
            "party.key_revoke",
            REGULATOR,
            time=T0,
            detail={"party_id": COOP, "key_id": key_id(COOP), "reason": "lost"},
        ),
        "party.suspend": wire(
            "party.suspend", REGULATOR, time=T0, detail={"party_id": SHOP, "reason": "违规"}
        ),
    }
