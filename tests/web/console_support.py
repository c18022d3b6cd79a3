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
Everything is deterministic for a given `seed` and `end` day. Every step is said in the words of
trace/scenario.py (the vocabulary the demo, tests/trace/story.py and the bench share); this module
adds the city's parties, its calendar and its randomness.

Longer than 400 lines because the city is one story told in five phases (`_City`: harvests, the
market entry, the markets' day, the shops' day, the weekly theft), each a method of about a screen.

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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.api.demo import PARTIES as DEMO_PARTIES
from farmtrace.client import PartyKey
from farmtrace.trace import scenario as sc
from farmtrace.trace.applications import contact_commitment, pop_message
from farmtrace.trace.clock import CST
from farmtrace.trace.errors import RuleViolation, TraceError
from farmtrace.trace.model.ids import uscc_check_char
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


class Signer(sc.Actor):
    """A party's key as the console tests hold it: trace.scenario's Actor built from (party, seed),
    with the names those tests use (`private`, `public`, `record_key`, `entry`, `party_key`)."""

    def __init__(self, party: str, seed: bytes, *, name: str = "", address: str | None = None) -> None:
        super().__init__(party, name, address, seed)

    @property
    def private(self) -> Ed25519PrivateKey:
        return self.key

    @property
    def public(self) -> bytes:
        return self.public_key

    def record_key(self) -> dict[str, str]:
        return self.key_record()

    def entry(self, wire: dict[str, Any]) -> tuple[bytes, str]:
        """(ledger entry, event id) of `wire` signed as this party."""
        signed = self.sign(wire)
        return signed.entry, signed.event_id

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
    record = sc.party_record(
        signer.party,
        name_zh=name_zh,
        roles=roles,
        address=address,
        keys=[signer.record_key()],
        contact_commitment=contact_commitment(details, salt),
        name_en=name_en,
    )
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


def _uscc(first16: str) -> str:
    first17 = first16 + "Y"
    return first17 + uscc_check_char(first17)


@dataclass
class CityParty:
    signer: Signer  # its name and address are the party's, so its events carry its location
    name_en: str | None
    roles: list[str]
    per_jin: bool = False  # wet-market stalls price per 斤

    @property
    def id(self) -> str:
        return self.signer.party

    @property
    def name_zh(self) -> str:
        return self.signer.name

    @property
    def address(self) -> str:
        assert self.signer.address is not None
        return self.signer.address


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
    def party(
        pid: str, name: str, address: str, role: str, *, en: str | None = None, per_jin=False
    ) -> CityParty:
        return CityParty(Signer(pid, rng.randbytes(32), name=name, address=address), en, [role], per_jin)

    def demo(name: str) -> CityParty:
        pid, zh, en, (role,), address = DEMO_PARTIES[name]
        return party(pid, zh, address, role, en=en, per_jin=name == "stall")

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
        out["producer"].append(party(pid, name, f"湖南省长沙市{county}{town}", "producer"))
    out["inspector"].append(
        party(
            _uscc("12430100MB00T001"),
            "长沙市农产品质量安全检测中心",
            "湖南省长沙市天心区",
            "inspector",
            en="Changsha Agricultural Product Testing Centre",
        )
    )
    for i, (name, district) in enumerate(_MARKETS):
        out["wholesaler"].append(
            party(_uscc(f"91430100MA4W{i:04d}"), name, f"湖南省长沙市{district}", "wholesaler")
        )
    for i in range(26):
        if i % 2:
            wet = _WET[i % len(_WET)]
            name = f"{wet}{'张李王刘陈'[i % 5]}记蔬菜摊"
            out["retailer"].append(
                party(f"F430105-{800 + i:06d}", name, f"湖南省长沙市{wet}", "retailer", per_jin=True)
            )
        else:
            name = f"{_SHOPS[i % len(_SHOPS)]}（{['五一', '芙蓉', '岳麓', '开福', '雨花', '天心'][i % 6]}店）"
            out["retailer"].append(party(_uscc(f"91430100MA4R{i:04d}"), name, "湖南省长沙市", "retailer"))
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
    city = _City(service, rng, _city_parties(rng), first=end - timedelta(days=days - 1), days=days)
    city.register_everyone()
    # Days are independent of each other once the parties exist (each day's lots are new), so
    # several are recorded at once: their reads and checks overlap; the log still orders them.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="city")
    pending: list[Future] = []
    for d in range(days):
        pending.append(pool.submit(city.check, city.day(d, scale)))
        while len(pending) > workers or (pending and d == days - 1):
            city.count(pending.pop(0).result())
            if progress is not None:
                progress(d + 1 - len(pending), days, city.stats.events)
    pool.shutdown()
    return city.stats


Batch = list[tuple[bytes, str | None]]  # (entry, the rule it must be refused by, or None)


class _City:
    """The city's state while it is built: who holds what, each lot's head, the day's batch."""

    def __init__(self, service: TraceService, rng: random.Random, parties: dict[str, list[CityParty]],
                 *, first: date, days: int) -> None:  # fmt: skip
        self.service, self.rng = service, rng
        self.everyone = [p for group in parties.values() for p in group]
        self.regulator = parties["regulator"][0]
        self.producers, self.labs = parties["producer"], parties["inspector"]
        self.markets, self.shops = parties["wholesaler"], parties["retailer"]
        self.first = first
        self.stats = CityStats(days=days, first_day=first, last_day=first + timedelta(days=days - 1))
        self.stats.regulator = self.regulator.signer
        self.stats.signers = {p.id: p.signer for p in self.everyone}
        self.stats.parties = len(self.everyone)
        self.heads: dict[str, str] = {}
        self.held: dict[tuple[str, str], Decimal] = {}
        self.batch: Batch = []

    # --- saying and checking ------------------------------------------------------------------------

    def add(self, p: CityParty, said: dict[str, Any], at: str, *, refused: str | None = None) -> str:
        signed = p.signer.say(said, at=at)
        self.batch.append((signed.entry, refused))
        if refused is None:
            for lot in said["inputs"] + said["outputs"]:
                self.heads[lot["lot"]] = signed.event_id
        return signed.event_id

    def ref(self, lot: str, qty: Decimal) -> dict[str, Any]:
        return sc.ref(lot, _qty(qty), follows=[self.heads[lot]])

    def take(self) -> Batch:
        batch, self.batch = self.batch, []
        return batch

    def check(self, entries: Batch) -> tuple[int, dict[str, int]]:
        results = self.service.record_many([e for e, _ in entries])
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

    def count(self, done: tuple[int, dict[str, int]]) -> None:
        self.stats.events += done[0]
        for rule, n in done[1].items():
            self.stats.refused[rule] = self.stats.refused.get(rule, 0) + n

    # --- the story ----------------------------------------------------------------------------------

    def at(self, day: date, minutes: int) -> str:
        return (datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(minutes=minutes)).isoformat()

    def register_everyone(self) -> None:
        """Day 0, first thing: the regulator registers itself (the genesis entry), then everyone else."""
        for n, p in enumerate(self.everyone):
            record, _ = party_record(p.signer, p.name_zh, p.roles, p.address, name_en=p.name_en)
            self.add(self.regulator, sc.register(record), self.at(self.first, 0 if n == 0 else 1 + n // 60))
            if n == 0:
                self.service.record_genesis(self.take()[0][0])  # as the operator (farmtrace init)
                self.count((1, {}))
        self.count(self.check(self.take()))

    def day(self, d: int, scale: float) -> Batch:
        """Day `d`'s events (and refused attempts), in the order they happen."""
        day = self.first + timedelta(days=d)
        season = 1 + 0.25 * math.sin(2 * math.pi * (day.toordinal() % 365) / 365)
        prices = {name: base * season * self.rng.uniform(0.92, 1.08) for name, _, base in PRODUCTS}
        # 1. Harvests, tests, certificates, shipments to the markets (05:00 - 08:00).
        at_market: dict[int, list[tuple[str, Decimal, str, str]]] = {}  # market -> (lot, qty, product, cert)
        for pi, prod in enumerate(self.producers):
            if self.rng.random() > min(1.0, 0.85 * scale):
                continue
            market_i = (pi + d) % len(self.markets)
            lots = self.harvests(d, day, pi, prod, self.markets[market_i], prices)
            if lots:
                self.to_market(day, pi, prod, self.markets[market_i], lots)
                at_market.setdefault(market_i, []).extend(lots)
        # 2. The markets split each lot and sell or ship the parts (08:30 - 10:00).
        for mi, arrivals in sorted(at_market.items()):
            self.market_day(d, day, mi, arrivals, prices)
        if d % 7 == 5:
            self.theft(d, day)
        return self.take()

    def harvests(self, d: int, day: date, pi: int, prod: CityParty, market: CityParty, prices: dict) -> list:
        """A producer's lots of the day, tested (some fail and are blocked) and certified."""
        rng, lots = self.rng, []
        for k in range(1 if rng.random() < 0.6 else 2):
            name_zh, name_en, _ = PRODUCTS[(pi * 3 + d // 7 + k) % len(PRODUCTS)]
            lot = f"H{pi:02d}-{d:03d}-{k}"
            qty = Decimal(rng.randrange(200, 801, 10))
            product = {"name_zh": name_zh, "name_en": name_en, "category": "蔬菜"}
            origin = {"name": f"{prod.address[-3:]}{pi % 9 + 1} 号地块", "address": prod.address}
            price = sc.price(_money(prices[name_zh]), "production")
            self.add(
                prod,
                sc.harvest([sc.out(lot, _qty(qty), product)], origin=origin, price=price),
                self.at(day, 300 + pi),
            )
            self.stats.harvests.append(lot)
            self.stats.lots += 1
            self.held[(lot, prod.id)] = qty
            tested = rng.random() < 0.6
            failed = tested and rng.random() < 0.02
            if tested:
                report = f"KJ-{day:%Y%m%d}-{pi:02d}{k}"
                value = "68.2" if failed else _qty(Decimal(f"{rng.uniform(5, 40):.1f}"))
                said = sc.inspect([self.ref(lot, qty)], value=value, result="fail" if failed else "pass",
                                  report_no=report, documents=[{"type": "inspection_report", "id": report}])  # fmt: skip
                self.add(self.labs[(pi + k) % len(self.labs)], said, self.at(day, 330 + pi))
            if failed:  # the producer tries to ship it anyway: refused, and flagged
                said = sc.ship([self.ref(lot, qty)], destination=market.id)
                self.add(prod, said, self.at(day, 420 + pi), refused="blocked")
                continue
            cert = f"HGZ-{day:%Y%m%d}-{pi:02d}{k}"
            said = sc.certify([self.ref(lot, qty)], certificate_no=cert, product_name=name_zh,
                              origin=prod.address, contact=f"{prod.name_zh} 办公室")  # fmt: skip
            self.add(prod, said, self.at(day, 360 + pi))
            lots.append((lot, qty, name_zh, cert))
        return lots

    def to_market(self, day: date, pi: int, prod: CityParty, market: CityParty, lots: list) -> None:
        """One shipment; the market checks each lot's own 合格证 at entry (市场准入): one receive a lot."""
        shipped = self.add(prod, sc.ship([self.ref(lot, q) for lot, q, _, _ in lots], destination=market.id),
                           self.at(day, 420 + pi))  # fmt: skip
        for lot, q, _, cert in lots:
            said = sc.receive([self.ref(lot, q)], source=prod.id, ship_event=shipped, certificate_no=cert)
            self.add(market, said, self.at(day, 480 + pi))
        for lot, q, _, _ in lots:
            self.held[(lot, market.id)] = q

    def market_day(self, d: int, day: date, mi: int, arrivals: list, prices: dict) -> None:
        """Market `mi` splits each arrival; sells some parts wholesale and ships the rest to its shops."""
        rng, market = self.rng, self.markets[mi]
        parts_for_shops: list[tuple[str, Decimal, str, str]] = []
        for n, (lot, q, name_zh, cert) in enumerate(arrivals):
            sizes: list[Decimal] = []
            left = q
            while left > 0:
                size = min(left, Decimal(rng.choice((20, 25, 30, 40, 50))))
                sizes.append(size)
                left -= size
            parts = [f"M{mi}-{d:03d}-{n:02d}{j:02d}" for j in range(len(sizes))]
            product = {"name_zh": name_zh, "category": "蔬菜"}
            outs = [sc.out(part, _qty(s), product) for part, s in zip(parts, sizes, strict=True)]
            self.add(market, sc.split([self.ref(lot, q)], outs), self.at(day, 510 + n))
            self.stats.lots += len(parts)
            self.held[(lot, market.id)] = Decimal(0)
            for part, s in zip(parts, sizes, strict=True):
                self.held[(part, market.id)] = s
                if rng.random() < 0.3:  # sold wholesale to a restaurant or canteen
                    price = sc.price(_money(prices[name_zh] * rng.uniform(1.5, 1.8)), "wholesale")
                    self.add(market, sc.sell([self.ref(part, s)], price=price), self.at(day, 560 + n))
                    self.held[(part, market.id)] = Decimal(0)
                else:
                    parts_for_shops.append((part, s, name_zh, cert))
        # Each shop buying from this market today gets a few parts in one shipment.
        rng.shuffle(parts_for_shops)
        buyers = [s for si, s in enumerate(self.shops) if si % len(self.markets) == mi]
        for bi, shop in enumerate(buyers):
            mine = parts_for_shops[bi :: len(buyers)]
            if mine:
                self.shop_day(d, day, bi, market, shop, mine, prices)

    def shop_day(self, d: int, day: date, bi: int, market: CityParty, shop: CityParty, mine: list,
                 prices: dict) -> None:  # fmt: skip
        """A shop receives its parts, repacks the first (supermarkets) and sells through the day."""
        rng = self.rng
        price = sc.price(_money(prices[mine[0][2]] * 1.6), "wholesale")
        said = sc.ship([self.ref(part, s) for part, s, _, _ in mine], destination=shop.id, price=price)
        shipped = self.add(market, said, self.at(day, 600 + bi))
        # The shop checks each part against the 合格证 of the lot it was split from: one receive a
        # part, as the certificate differs from lot to lot.
        refs = [(self.ref(part, s), cert) for part, s, _, cert in mine]
        if d % 7 == 3 and bi == 0:  # accepted without looking at any certificate: refused
            said = sc.receive([refs[0][0]], source=market.id, ship_event=shipped)
            self.add(shop, said, self.at(day, 660 + bi), refused="market_entry")
        for ref, cert in refs:
            said = sc.receive([ref], source=market.id, ship_event=shipped, certificate_no=cert)
            self.add(shop, said, self.at(day, 660 + bi))
        for part, s, _, _ in mine:
            self.held[(part, market.id)] = Decimal(0)
            self.held[(part, shop.id)] = s
        # 3. The shop repacks some parts into 1 kg bags and sells through the day.
        for n, (part, s, pname, _) in enumerate(mine):
            base = prices[pname] * rng.uniform(2.3, 2.8)
            if not shop.per_jin and n == 0 and s >= 20:
                bags = [f"R{self.shops.index(shop):02d}-{d:03d}-{j:03d}" for j in range(int(s))]
                outs = [sc.out(b, "1", {"name_zh": f"{pname} 1kg 袋装"}) for b in bags]
                self.add(shop, sc.repack([self.ref(part, s)], outs), self.at(day, 700 + n))
                self.stats.lots += len(bags)
                self.held[(part, shop.id)] = Decimal(0)
                for j, b in enumerate(bags[: len(bags) // 2]):
                    said = sc.sell([self.ref(b, Decimal(1))], price=sc.price(_money(base * 1.1), "retail"))
                    self.add(shop, said, self.at(day, 720 + j))
                continue
            sold = (s * Decimal(rng.choice(("0.4", "0.6", "0.8")))).quantize(Decimal(1))
            if shop.per_jin:
                unit_price = sc.price(_money(base / 2), "retail", unit="jin")
            else:
                unit_price = sc.price(_money(base), "retail")
            self.add(shop, sc.sell([self.ref(part, sold)], price=unit_price), self.at(day, 900 + n))
            self.held[(part, shop.id)] = s - sold
            if d % 5 == 1 and n == 0 and bi == 1:  # sells more than is left: refused
                said = sc.sell([self.ref(part, s)], price=unit_price)
                self.add(shop, said, self.at(day, 1000 + n), refused="mass_balance")

    def theft(self, d: int, day: date) -> None:
        """Once a week a shop tries to sell a lot another shop holds: refused."""
        today = f"-{d:03d}-"
        theirs = [
            (lot, party)
            for (lot, party), q in self.held.items()
            if q > 0 and lot.startswith("M") and today in lot
        ]
        if theirs:
            lot, owner = theirs[-1]
            thief = next(s for s in self.shops if s.id != owner)
            said = sc.sell([self.ref(lot, Decimal(1))], price=sc.price("3", "retail"))
            self.add(thief, said, self.at(day, 1100), refused="custody")


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
