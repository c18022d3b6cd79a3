"""What the console's tests and bench/export_bench.py share: a city's worth of traceability data, the
regulator's helpers (applications with a proof of possession), and geometry read back from SVG.

`build_city(service, days=90)` records what a city platform pilot sees in `days` days, through the
real service (every signature checked, every rule run, `TraceService.record_many` one day at a time):

- 58 parties: the city's market regulator (the genesis entry), 24 producers (cooperatives and family
  farms in 宁乡, 浏阳, 长沙县 and 望城), 2 test rooms, 3 wholesale markets, 28 supermarkets and
  wet-market stalls; the demo's Changsha parties (api/demo.py) are among them, with new keys;
- every day, each producer harvests one or two lots of one of ten vegetables (200–800 kg) at a
  farm-gate price; most lots are tested by a market test room; about 1 in 50 fails and the
  producer's attempt to ship it anyway is refused (rule `blocked`); passing lots get a 合格证 and are
  shipped to a wholesale market, which checks the certificate at entry, receives, and splits each
  lot into 10–20 lots of 20–50 kg; some of those are sold wholesale, the rest shipped to shops
  (wholesale price), received against the certificate, partly repacked into 1 kg bags, and sold
  (retail price; wet-market stalls price per 斤);
- a few refused attempts every week besides: a sale of more than is held (`mass_balance`), a sale
  of another shop's lot (`custody`), goods accepted without a certificate (`market_entry`).

Prices follow a slow seasonal drift with daily noise, so the price chart has something to show.
Everything is deterministic for a given `seed` and `end` day.

This module imports only the standard library and farmtrace, so the bench can load it by path.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from farmtrace.api.demo import PARTIES as DEMO_PARTIES
from farmtrace.client import PartyKey
from farmtrace.trace.applications import contact_commitment, pop_message
from farmtrace.trace.clock import CST
from farmtrace.trace.errors import RuleViolation, TraceError
from farmtrace.trace.model.encoding import encode_entry, event_id, signing_message
from farmtrace.trace.model.ids import key_id_for, uscc_check_char
from farmtrace.trace.model.units import format_decimal
from farmtrace.trace.service import TraceService

__all__ = [
    "ARTIFACTS",
    "CST",
    "CityStats",
    "Signer",
    "application",
    "boxes_overlap",
    "build_city",
    "edit_entry",
    "first_svg",
    "party_record",
    "svg_boxes",
]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "console"


# --- keys and signing --------------------------------------------------------------------------------


class Signer:
    """A party's Ed25519 key, signing wire dicts straight to ledger entries (RFC 8785 + Ed25519)."""

    def __init__(self, party: str, seed: bytes) -> None:
        self.party = party
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id_for(self.public)
        self.seed = seed

    def record_key(self) -> dict[str, str]:
        return {"key_id": self.key_id, "public_key": base64.b64encode(self.public).decode()}

    def entry(self, wire: dict[str, Any]) -> tuple[bytes, str]:
        """(ledger entry, event id) of `wire` signed as this party."""
        canonical = rfc8785.dumps({"v": 1, **wire, "party": self.party, "key_id": self.key_id})
        return encode_entry(canonical, self.private.sign(signing_message(canonical))), event_id(canonical)

    def party_key(self) -> PartyKey:
        return PartyKey.from_seed(self.party, self.seed)


def application(kind: str, record: dict[str, Any], signer: Signer, *, private=None) -> dict[str, Any]:
    """The body of POST /parties/applications: `record` with the new key's proof of possession."""
    party_id = record["id"] if kind == "register" else record["party_id"]
    proof = base64.b64encode(signer.private.sign(pop_message(kind, party_id, record))).decode()
    body: dict[str, Any] = {"kind": kind, "record": record, "proof": proof}
    if private is not None:
        body["private"] = private
    return body


def party_record(signer: Signer, name_zh: str, roles: list[str], address: str, *, name_en=None, details=None):
    """(PartyRecord wire form, private details {details, salt}) for a new party with one key."""
    details = details or {"contact": f"{name_zh} 负责人", "phone": "0731-8000" + signer.key_id[:4]}
    salt = bytes.fromhex(signer.key_id * 2)
    record = {
        "id": signer.party,
        "id_type": "farmer_reg" if signer.party.startswith("F") else "uscc",
        "name_zh": name_zh,
        "roles": roles,
        "address": address,
        "keys": [signer.record_key()],
        "contact_commitment": contact_commitment(details, salt),
    }
    if name_en:
        record["name_en"] = name_en
    return record, {"details": details, "salt": salt.hex()}


# --- the city --------------------------------------------------------------------------------------------

# (name_zh, name_en, farm-gate CNY/kg)
PRODUCTS = [
    ("宁乡包菜", "Ningxiang cabbage", 1.2),
    ("小白菜", "Bok choy", 1.5),
    ("宁乡朝天椒", "Bird's-eye chilli", 6.0),
    ("白萝卜", "White radish", 0.8),
    ("番茄", "Tomato", 3.2),
    ("黄瓜", "Cucumber", 2.4),
    ("茄子", "Eggplant", 2.8),
    ("土豆", "Potato", 1.6),
    ("生菜", "Lettuce", 2.2),
    ("芹菜", "Celery", 2.6),
]
_COUNTIES = [("宁乡市", "430124"), ("浏阳市", "430181"), ("长沙县", "430121"), ("望城区", "430112")]
_TOWNS = ["金洲镇", "双江口镇", "大成桥镇", "沙市镇", "官桥镇", "黄兴镇", "乔口镇", "白箬铺镇"]
_MARKETS = [("长沙红星农副产品大市场", "雨花区"), ("长沙海吉星国际农产品物流园", "长沙县")]
_SHOPS = ["步步高超市", "家润多超市", "兴盛优选门店", "绿叶水果蔬菜店", "社区生鲜店"]
_WET = ["东塘农贸市场", "马王堆农贸市场", "伍家岭农贸市场", "河西农贸市场", "袁家岭农贸市场"]
TEST_PASS = {
    "analyte": "有机磷和氨基甲酸酯类农药残留",
    "method": "GB/T 5009.199 速测卡法",
    "limit": "50",
    "unit": "%抑制率",
}
COMMITMENTS = ["no_banned_substances", "withdrawal_period_observed", "residues_within_limits", "self_tested"]


def _uscc(first16: str) -> str:
    first17 = first16 + "Y"
    return first17 + uscc_check_char(first17)


@dataclass
class CityParty:
    signer: Signer
    name_zh: str
    name_en: str | None
    roles: list[str]
    address: str
    per_jin: bool = False  # wet-market stalls price per 斤

    @property
    def id(self) -> str:
        return self.signer.party

    def location(self) -> dict[str, str]:
        return {"name": self.name_zh, "address": self.address}


@dataclass
class CityStats:
    days: int
    first_day: date
    last_day: date
    events: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    lots: int = 0
    parties: int = 0
    regulator: Signer | None = None
    signers: dict[str, Signer] = field(default_factory=dict)
    harvests: list[str] = field(default_factory=list)

    @property
    def since(self) -> datetime:
        return datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=CST)

    @property
    def until(self) -> datetime:
        end = self.last_day + timedelta(days=1)
        return datetime(end.year, end.month, end.day, tzinfo=CST)


def _city_parties(rng: random.Random) -> dict[str, list[CityParty]]:
    def signer(pid: str) -> Signer:
        return Signer(pid, rng.randbytes(32))

    def demo(name: str) -> CityParty:
        pid, zh, en, roles, address = DEMO_PARTIES[name]
        return CityParty(signer(pid), zh, en, list(roles), address, per_jin=name == "stall")

    out: dict[str, list[CityParty]] = {
        "regulator": [demo("regulator")],
        "producer": [demo("coop"), demo("farm")],
        "inspector": [demo("lab")],
        "wholesaler": [demo("market")],
        "retailer": [demo("shop"), demo("stall")],
    }
    for i in range(22):
        county, code = _COUNTIES[i % len(_COUNTIES)]
        town = _TOWNS[i % len(_TOWNS)]
        if i % 2:
            pid = f"F{code}-{700 + i:06d}"
            name = f"{county}{town}{'李王刘陈杨赵黄周吴徐孙'[i % 11]}记家庭农场"
        else:
            pid = _uscc(f"93{code}MA4P{i:04d}")
            name = f"{county}{town}{['绿源', '丰收', '田园', '湘润', '金穗', '碧野'][i % 6]}蔬菜专业合作社"
        out["producer"].append(
            CityParty(signer(pid), name, None, ["producer"], f"湖南省长沙市{county}{town}")
        )
    out["inspector"].append(
        CityParty(
            signer(_uscc("12430100MB00T001")),
            "长沙市农产品质量安全检测中心",
            "Changsha Agricultural Product Testing Centre",
            ["inspector"],
            "湖南省长沙市天心区",
        )
    )
    for i, (name, district) in enumerate(_MARKETS):
        out["wholesaler"].append(
            CityParty(
                signer(_uscc(f"91430100MA4W{i:04d}")), name, None, ["wholesaler"], f"湖南省长沙市{district}"
            )
        )
    for i in range(26):
        if i % 2:
            pid = f"F430105-{800 + i:06d}"
            name = f"{_WET[i % len(_WET)]}{'张李王刘陈'[i % 5]}记蔬菜摊"
            out["retailer"].append(
                CityParty(
                    signer(pid), name, None, ["retailer"], f"湖南省长沙市{_WET[i % len(_WET)]}", per_jin=True
                )
            )
        else:
            pid = _uscc(f"91430100MA4R{i:04d}")
            name = f"{_SHOPS[i % len(_SHOPS)]}（{['五一', '芙蓉', '岳麓', '开福', '雨花', '天心'][i % 6]}店）"
            out["retailer"].append(CityParty(signer(pid), name, None, ["retailer"], "湖南省长沙市"))
    return out


def _money(v: float) -> str:
    return format_decimal(Decimal(str(v)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _qty(v: Decimal) -> str:
    return format_decimal(v)


def build_city(
    service: TraceService,
    *,
    days: int = 90,
    end: date | None = None,
    seed: int = 20261120,
    scale: float = 1.0,
    workers: int = 4,
    progress: Callable[[int, int, int], None] | None = None,
) -> CityStats:
    """Record `days` days of a city's traceability data, ending yesterday (CST) unless `end` is given.

    `scale` thins the daily volume (0.2: a fifth of the harvests) for quick tests. The ledger must be
    empty. Returns counts and the keys used. Raises AssertionError if the service refuses anything the
    scenario did not mean to be refused, or accepts something it meant to be refused.
    """
    assert not service.parties(), "build_city needs an empty ledger"
    rng = random.Random(seed)
    end = end or (datetime.now(CST).date() - timedelta(days=1))
    first = end - timedelta(days=days - 1)
    city = _city_parties(rng)
    everyone = [p for group in city.values() for p in group]
    regulator = city["regulator"][0]
    stats = CityStats(days=days, first_day=first, last_day=end, regulator=regulator.signer)
    stats.signers = {p.id: p.signer for p in everyone}
    stats.parties = len(everyone)

    heads: dict[str, str] = {}
    held: dict[tuple[str, str], Decimal] = {}
    batch: list[tuple[bytes, str | None]] = []  # (entry, the rule it must be refused by, or None)

    def at(day: date, minutes: int) -> str:
        return (datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(minutes=minutes)).isoformat()

    def add(p: CityParty, wire: dict[str, Any], *, refused: str | None = None) -> str:
        wire = {"inputs": [], "outputs": [], "location": p.location(), **wire}
        entry, eid = p.signer.entry(wire)
        batch.append((entry, refused))
        if refused is None:
            for ref in wire["inputs"]:
                heads[ref["lot"]] = eid
            for out in wire["outputs"]:
                heads[out["lot"]] = eid
        return eid

    def ref(lot: str, qty: Decimal, unit: str = "kg") -> dict[str, Any]:
        return {"lot": lot, "quantity": _qty(qty), "unit": unit, "follows": [heads[lot]]}

    def check(entries: list[tuple[bytes, str | None]]) -> tuple[int, dict[str, int]]:
        results = service.record_many([e for e, _ in entries])
        accepted, refused = 0, {}
        for (entry, expected), result in zip(entries, results, strict=True):
            if expected is None:
                if isinstance(result, TraceError):
                    wire = json.loads(entry.split(b"\n")[1])
                    raise AssertionError(f"refused {wire['kind']} at {wire['event_time']}: {result}")
                accepted += 1
            else:
                assert isinstance(result, RuleViolation) and result.rule == expected, (expected, result)
                refused[expected] = refused.get(expected, 0) + 1
        return accepted, refused

    def count(done: tuple[int, dict[str, int]]) -> None:
        stats.events += done[0]
        for rule, n in done[1].items():
            stats.refused[rule] = stats.refused.get(rule, 0) + n

    def flush() -> None:
        count(check(list(batch)))
        batch.clear()

    # Day 0, first thing: the regulator registers itself (the genesis entry), then everyone else.
    def register(p: CityParty, minute: int) -> None:
        record, _ = party_record(p.signer, p.name_zh, p.roles, p.address, name_en=p.name_en)
        add(
            regulator,
            {"kind": "party.register", "event_time": at(first, minute), "detail": {"party": record}},
        )

    register(regulator, 0)
    service.record_genesis(batch.pop()[0])  # the genesis entry, as the operator (farmtrace init)
    count((1, {}))
    for n, p in enumerate(everyone[1:], start=1):
        register(p, 1 + n // 60)
    flush()

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="city")
    pending: list[Future] = []
    producers, labs = city["producer"], city["inspector"]
    markets, shops = city["wholesaler"], city["retailer"]
    lot_no = 0
    for d in range(days):
        day = first + timedelta(days=d)
        season = 1 + 0.25 * math.sin(2 * math.pi * (day.toordinal() % 365) / 365)
        price_today = {name: base * season * rng.uniform(0.92, 1.08) for name, _, base in PRODUCTS}
        # 1. Harvests, tests, certificates, shipments to the markets (05:00 - 08:00).
        at_market: dict[int, list[tuple[str, Decimal, str, str]]] = {}  # market -> (lot, qty, product, cert)
        for pi, prod in enumerate(producers):
            if rng.random() > min(1.0, 0.85 * scale):
                continue
            market_i = (pi + d) % len(markets)
            lots_today = []
            for k in range(1 if rng.random() < 0.6 else 2):
                name_zh, name_en, _ = PRODUCTS[(pi * 3 + d // 7 + k) % len(PRODUCTS)]
                lot_no += 1
                lot = f"H{pi:02d}-{d:03d}-{k}"
                qty = Decimal(rng.randrange(200, 801, 10))
                add(
                    prod,
                    {
                        "kind": "harvest",
                        "event_time": at(day, 300 + pi),
                        "outputs": [
                            {
                                "lot": lot,
                                "quantity": _qty(qty),
                                "unit": "kg",
                                "product": {"name_zh": name_zh, "name_en": name_en, "category": "蔬菜"},
                            }
                        ],
                        "price": {
                            "amount": _money(price_today[name_zh]),
                            "currency": "CNY",
                            "unit": "kg",
                            "stage": "production",
                        },
                        "detail": {
                            "origin": {
                                "name": f"{prod.address[-3:]}{pi % 9 + 1} 号地块",
                                "address": prod.address,
                            }
                        },
                    },
                )
                stats.harvests.append(lot)
                stats.lots += 1
                held[(lot, prod.id)] = qty
                tested = rng.random() < 0.6
                failed = tested and rng.random() < 0.02
                if tested:
                    lab = labs[(pi + k) % len(labs)]
                    report = f"KJ-{day:%Y%m%d}-{pi:02d}{k}"
                    add(
                        lab,
                        {
                            "kind": "inspect",
                            "event_time": at(day, 330 + pi),
                            "inputs": [ref(lot, qty)],
                            "documents": [{"type": "inspection_report", "id": report}],
                            "detail": {
                                **TEST_PASS,
                                "value": "68.2" if failed else _qty(Decimal(f"{rng.uniform(5, 40):.1f}")),
                                "result": "fail" if failed else "pass",
                                "report_no": report,
                            },
                        },
                    )
                if failed:  # the producer tries to ship it anyway: refused, and flagged
                    add(
                        prod,
                        {
                            "kind": "ship",
                            "event_time": at(day, 420 + pi),
                            "inputs": [ref(lot, qty)],
                            "detail": {"destination": markets[market_i].id},
                        },
                        refused="blocked",
                    )
                    continue
                cert = f"HGZ-{day:%Y%m%d}-{pi:02d}{k}"
                add(
                    prod,
                    {
                        "kind": "certify",
                        "event_time": at(day, 360 + pi),
                        "inputs": [ref(lot, qty)],
                        "detail": {
                            "certificate_no": cert,
                            "product_name": name_zh,
                            "origin": prod.address,
                            "commitments": COMMITMENTS,
                            "contact": f"{prod.name_zh} 办公室",
                        },
                    },
                )
                lots_today.append((lot, qty, name_zh, cert))
            if not lots_today:
                continue
            market = markets[market_i]
            shipped = add(
                prod,
                {
                    "kind": "ship",
                    "event_time": at(day, 420 + pi),
                    "inputs": [ref(lot, q) for lot, q, _, _ in lots_today],
                    "detail": {"destination": market.id},
                },
            )
            # The market checks each lot's own 合格证 at entry (市场准入): one receive a lot.
            for lot, q, _, cert in lots_today:
                add(
                    market,
                    {
                        "kind": "receive",
                        "event_time": at(day, 480 + pi),
                        "inputs": [ref(lot, q)],
                        "detail": {
                            "source": prod.id,
                            "ship_event": shipped,
                            "entry_check": {"result": "accepted", "certificate_no": cert},
                        },
                    },
                )
            for lot, q, _, _ in lots_today:
                held[(lot, market.id)] = q
            at_market.setdefault(market_i, []).extend(lots_today)

        # 2. The markets split each lot and sell or ship the parts (08:30 - 10:00).
        for mi, arrivals in sorted(at_market.items()):
            market = markets[mi]
            parts_for_shops: list[tuple[str, Decimal, str, str]] = []
            for n, (lot, q, name_zh, cert) in enumerate(arrivals):
                sizes: list[Decimal] = []
                left = q
                while left > 0:
                    size = min(left, Decimal(rng.choice((20, 25, 30, 40, 50))))
                    sizes.append(size)
                    left -= size
                parts = [f"M{mi}-{d:03d}-{n:02d}{j:02d}" for j in range(len(sizes))]
                add(
                    market,
                    {
                        "kind": "transform",
                        "event_time": at(day, 510 + n),
                        "inputs": [ref(lot, q)],
                        "outputs": [
                            {
                                "lot": part,
                                "quantity": _qty(s),
                                "unit": "kg",
                                "product": {"name_zh": name_zh, "category": "蔬菜"},
                            }
                            for part, s in zip(parts, sizes, strict=True)
                        ],
                        "detail": {"type": "split"},
                    },
                )
                stats.lots += len(parts)
                held[(lot, market.id)] = Decimal(0)
                for part, s in zip(parts, sizes, strict=True):
                    held[(part, market.id)] = s
                    if rng.random() < 0.3:  # sold wholesale to a restaurant or canteen
                        add(
                            market,
                            {
                                "kind": "sell",
                                "event_time": at(day, 560 + n),
                                "inputs": [ref(part, s)],
                                "price": {
                                    "amount": _money(price_today[name_zh] * rng.uniform(1.5, 1.8)),
                                    "currency": "CNY",
                                    "unit": "kg",
                                    "stage": "wholesale",
                                },
                                "detail": {},
                            },
                        )
                        held[(part, market.id)] = Decimal(0)
                    else:
                        parts_for_shops.append((part, s, name_zh, cert))
            # Each shop buying from this market today gets a few parts in one shipment.
            rng.shuffle(parts_for_shops)
            buyers = [s for si, s in enumerate(shops) if si % len(markets) == mi]
            for bi, shop in enumerate(buyers):
                mine = parts_for_shops[bi :: len(buyers)]
                if not mine:
                    continue
                name_zh = mine[0][2]
                shipped = add(
                    market,
                    {
                        "kind": "ship",
                        "event_time": at(day, 600 + bi),
                        "inputs": [ref(part, s) for part, s, _, _ in mine],
                        "price": {
                            "amount": _money(price_today[name_zh] * 1.6),
                            "currency": "CNY",
                            "unit": "kg",
                            "stage": "wholesale",
                        },
                        "detail": {"destination": shop.id},
                    },
                )
                # The shop checks each part against the 合格证 of the lot it was split from: one
                # receive a part, as the certificate differs from lot to lot.
                receives = [
                    {
                        "kind": "receive",
                        "event_time": at(day, 660 + bi),
                        "inputs": [ref(part, s)],
                        "detail": {
                            "source": market.id,
                            "ship_event": shipped,
                            "entry_check": {"result": "accepted", "certificate_no": cert},
                        },
                    }
                    for part, s, _, cert in mine
                ]
                if d % 7 == 3 and bi == 0:  # accepted without looking at any certificate: refused
                    bad = json.loads(json.dumps(receives[0]))
                    del bad["detail"]["entry_check"]["certificate_no"]
                    add(shop, bad, refused="market_entry")
                for receive in receives:
                    add(shop, receive)
                for part, s, _, _ in mine:
                    held[(part, market.id)] = Decimal(0)
                    held[(part, shop.id)] = s
                # 3. The shop repacks some parts into 1 kg bags and sells through the day.
                for n, (part, s, pname, _) in enumerate(mine):
                    base = price_today[pname] * rng.uniform(2.3, 2.8)
                    if not shop.per_jin and n == 0 and s >= 20:
                        bags = [f"R{shops.index(shop):02d}-{d:03d}-{j:03d}" for j in range(int(s))]
                        add(
                            shop,
                            {
                                "kind": "transform",
                                "event_time": at(day, 700 + n),
                                "inputs": [ref(part, s)],
                                "outputs": [
                                    {
                                        "lot": b,
                                        "quantity": "1",
                                        "unit": "kg",
                                        "product": {"name_zh": f"{pname} 1kg 袋装"},
                                    }
                                    for b in bags
                                ],
                                "detail": {"type": "repack"},
                            },
                        )
                        stats.lots += len(bags)
                        held[(part, shop.id)] = Decimal(0)
                        for j, b in enumerate(bags[: len(bags) // 2]):
                            add(
                                shop,
                                {
                                    "kind": "sell",
                                    "event_time": at(day, 720 + j),
                                    "inputs": [ref(b, Decimal(1))],
                                    "price": {
                                        "amount": _money(base * 1.1),
                                        "currency": "CNY",
                                        "unit": "kg",
                                        "stage": "retail",
                                    },
                                    "detail": {},
                                },
                            )
                        continue
                    sold = (s * Decimal(rng.choice(("0.4", "0.6", "0.8")))).quantize(Decimal(1))
                    unit_price = {
                        "amount": _money(base / 2),
                        "currency": "CNY",
                        "unit": "jin",
                        "stage": "retail",
                    }
                    if not shop.per_jin:
                        unit_price = {
                            "amount": _money(base),
                            "currency": "CNY",
                            "unit": "kg",
                            "stage": "retail",
                        }
                    add(
                        shop,
                        {
                            "kind": "sell",
                            "event_time": at(day, 900 + n),
                            "inputs": [ref(part, sold)],
                            "price": unit_price,
                            "detail": {},
                        },
                    )
                    held[(part, shop.id)] = s - sold
                    if d % 5 == 1 and n == 0 and bi == 1:  # sells more than is left: refused
                        add(
                            shop,
                            {
                                "kind": "sell",
                                "event_time": at(day, 1000 + n),
                                "inputs": [ref(part, s)],
                                "price": unit_price,
                                "detail": {},
                            },
                            refused="mass_balance",
                        )
        # Once a week a shop tries to sell a lot another shop holds.
        if d % 7 == 5:
            today = f"-{d:03d}-"
            theirs = [
                (lot, party)
                for (lot, party), q in held.items()
                if q > 0 and lot.startswith("M") and today in lot
            ]
            if theirs:
                lot, owner = theirs[-1]
                thief = next(s for s in shops if s.id != owner)
                add(
                    thief,
                    {
                        "kind": "sell",
                        "event_time": at(day, 1100),
                        "inputs": [ref(lot, Decimal(1))],
                        "price": {"amount": "3", "currency": "CNY", "unit": "kg", "stage": "retail"},
                        "detail": {},
                    },
                    refused="custody",
                )
        # Days are independent of each other once the parties exist (each day's lots are new), so
        # several are recorded at once: their reads and checks overlap; the log still orders them.
        pending.append(pool.submit(check, list(batch)))
        batch.clear()
        while len(pending) > workers or (pending and d == days - 1):
            count(pending.pop(0).result())
            if progress is not None:
                progress(d + 1 - len(pending), days, stats.events)
    pool.shutdown()
    return stats


# --- reading SVG back ----------------------------------------------------------------------------------

_NS = {"svg": "http://www.w3.org/2000/svg"}


def svg_boxes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """{lot: (x, y, width, height)} of every node box in a trace graph's SVG."""
    root = ET.fromstring(svg)
    out = {}
    for a in root.iter("{http://www.w3.org/2000/svg}a"):
        rect = a.find("svg:rect", _NS)
        out[a.get("data-lot")] = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
    return out


def boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def edit_entry(db: Path, index: int, edit: Callable[[bytes], bytes]) -> bytes:
    """Rewrite ledger entry `index` in the SQLite file behind the service's back; return the original."""
    with sqlite3.connect(db) as conn:
        (entry,) = conn.execute("SELECT entry FROM ledger_entry WHERE idx = ?", (index,)).fetchone()
        conn.execute("UPDATE ledger_entry SET entry = ? WHERE idx = ?", (edit(bytes(entry)), index))
    conn.close()
    return bytes(entry)


def first_svg(html: str) -> str:
    """The first <svg>…</svg> element of a page."""
    m = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert m, "no SVG in the page"
    return m.group(0)
