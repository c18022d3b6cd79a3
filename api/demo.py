"""`farmtrace demo`: a realistic Changsha scenario, recorded through the real service.

The parties are the kinds of places MISSION.md names — a Ningxiang vegetable cooperative, a family
farm, the wholesale market's rapid-test room, a wholesale market, a supermarket, a wet-market stall,
and the city's market regulator. Every event is signed with the party's own key (generated here and
saved under <data dir>/demo-keys/, so you can act as any of them from the command line) and goes
through the same checks as any other. The five stories of MISSION.md:

1. 宁乡 cabbage: harvest 500 kg → test pass → 合格证 → wholesale market (entry check) → 50 × 10 kg →
   supermarket → 1 kg bags with QR labels → sold.
2. A failed pesticide test: the lot cannot be shipped; the attempt is refused and kept as an anomaly.
3. A recall: chillies from a family farm, split and sold on to a supermarket and a wet-market stall,
   are recalled by the regulator; every descendant is flagged.
4. Tampering is not staged here (it would spoil the demo); see tests/ledger/test_audit.py.
5. Fraud by quantity: the market tries to sell 800 kg out of a 500 kg lot: refused and flagged.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from farmtrace.client import PartyKey
from farmtrace.trace.applications import Applications, contact_commitment
from farmtrace.trace.clock import CST
from farmtrace.trace.errors import RuleViolation
from farmtrace.trace.model.details import STANDARD_RECALL_INSTRUCTIONS
from farmtrace.trace.model.ids import uscc_check_char
from farmtrace.trace.service import TraceService

__all__ = ["PARTIES", "DemoResult", "Scenario", "run_demo"]


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


# (id, name_zh, name_en, roles, address)
PARTIES = {
    "regulator": (
        _uscc("11430100MB0000001"),
        "长沙市市场监督管理局",
        "Changsha Market Supervision Administration",
        ["regulator"],
        "湖南省长沙市岳麓区岳麓大道218号",
    ),
    "coop": (
        _uscc("93430124MA4L0001X"),
        "宁乡市绿源蔬菜种植专业合作社",
        "Ningxiang Lüyuan Vegetable Cooperative",
        ["producer"],
        "湖南省长沙市宁乡市金洲镇",
    ),
    "farm": (
        "F430124-000123",
        "宁乡市双江口镇张记家庭农场",
        "Zhang Family Farm, Shuangjiangkou",
        ["producer"],
        "湖南省长沙市宁乡市双江口镇",
    ),
    "lab": (
        _uscc("12430100MB0000002"),
        "马王堆蔬菜批发市场农残快检室",
        "Mawangdui Market Pesticide Rapid-Test Room",
        ["inspector"],
        "湖南省长沙市芙蓉区马王堆中路",
    ),
    "market": (
        _uscc("91430100MA4L0003Y"),
        "长沙马王堆蔬菜批发市场",
        "Changsha Mawangdui Vegetable Wholesale Market",
        ["wholesaler"],
        "湖南省长沙市芙蓉区马王堆中路",
    ),
    "shop": (
        _uscc("91430100MA4L0004U"),
        "长沙鲜丰超市五一广场店",
        "Xianfeng Supermarket, Wuyi Square",
        ["retailer"],
        "湖南省长沙市芙蓉区五一大道",
    ),
    "stall": (
        "F430105-000456",
        "四方坪农贸市场李记蔬菜摊",
        "Li's Vegetable Stall, Sifangping Wet Market",
        ["retailer"],
        "湖南省长沙市开福区四方坪农贸市场",
    ),
}

# The person each party names to the registration desk (kept off the ledger; regulators only).
CONTACTS = {
    "regulator": "周文华",
    "coop": "刘建国",
    "farm": "张德明",
    "lab": "陈丽",
    "market": "王志强",
    "shop": "李芳",
    "stall": "李秋云",
}

CABBAGE = {"name_zh": "宁乡包菜", "name_en": "Ningxiang cabbage", "variety": "京丰一号", "category": "蔬菜"}
# Packs keep their product's name (so its prices at every stage are one series: farm gate, wholesale,
# retail); the pack size is the lot's quantity, and the GTIN names the packed trade item.
CABBAGE_BAG = {**CABBAGE, "gtin": "6901234567892"}
GREENS = {"name_zh": "小白菜", "name_en": "Bok choy", "category": "蔬菜"}
CHILLI = {"name_zh": "宁乡朝天椒", "name_en": "Ningxiang bird's-eye chilli", "category": "蔬菜"}
CHILLI_BAG = CHILLI
RADISH = {"name_zh": "白萝卜", "name_en": "White radish", "category": "蔬菜"}

RECALL_REASON = "市级抽检检出禁用农药甲拌磷超标"
RECALL_INSTRUCTIONS_ZH = STANDARD_RECALL_INSTRUCTIONS[0]

TEST_PASS = {
    "analyte": "有机磷和氨基甲酸酯类农药残留",
    "method": "GB/T 5009.199 速测卡法",
    "value": "12.5",
    "limit": "50",
    "unit": "%抑制率",
    "result": "pass",
}


class Scenario:
    """Records events as the demo's parties, each signed with its own key, one step of time apart."""

    def __init__(self, service: TraceService, keys: dict[str, PartyKey], start: datetime) -> None:
        self.service = service
        self.keys = keys
        self.private = {
            name: {"contact": CONTACTS[name], "phone": f"0731-8888{i:04d}"} for i, name in enumerate(PARTIES)
        }
        self.salts = {name: secrets.token_bytes(16) for name in PARTIES}
        self._start = start
        self._steps = 0

    def _next_time(self) -> datetime:
        """The next moment of the scenario: each call is 20 minutes after the one before."""
        moment = self._start + timedelta(minutes=20 * self._steps)
        self._steps += 1
        return moment

    def _upcoming_day(self) -> str:
        """The CST date (YYYYMMDD) the next recorded event will carry: documents are numbered by it."""
        return (self._start + timedelta(minutes=20 * self._steps)).strftime("%Y%m%d")

    def record(self, who: str, wire: dict[str, Any], *, genesis: bool = False) -> str:
        """Sign and record `wire` as party `who`; fill time, place and each input's head. Return the event id.

        `genesis`: the first regulator registering itself, recorded as the operator (the demo runs
        on the machine, as `farmtrace init` does)."""
        wire = {**wire, "event_time": self._next_time().isoformat(timespec="seconds")}
        wire.setdefault("location", _place(who))
        wire.setdefault("outputs", [])
        wire["inputs"] = [
            ref if "follows" in ref else {**ref, "follows": [self.service.lot(ref["lot"])["head"]]}
            for ref in wire.get("inputs", [])
        ]
        record = self.service.record_genesis if genesis else self.service.record
        return record(self.keys[who].sign(wire)).event_id

    def refused(self, who: str, wire: dict[str, Any]) -> str:
        """Record an attempt the rules must refuse; return the rule that refused it."""
        try:
            self.record(who, wire)
        except RuleViolation as exc:
            return exc.rule
        raise AssertionError(f"the demo expected {wire['kind']} by {who} to be refused")

    # --- steps ---------------------------------------------------------------------------------------

    def register(self, name: str) -> None:
        pid, name_zh, name_en, roles, address = PARTIES[name]
        party = {
            "id": pid,
            "id_type": "farmer_reg" if pid.startswith("F") else "uscc",
            "name_zh": name_zh,
            "name_en": name_en,
            "roles": roles,
            "address": address,
            "keys": [self.keys[name].public_record_key()],
            "contact_commitment": contact_commitment(self.private[name], self.salts[name]),
        }
        # The first regulator registers itself (the genesis entry); the regulator registers the rest.
        self.record("regulator", {"kind": "party.register", "detail": {"party": party}}, genesis=name == "regulator")
        # The registration desk keeps the contact details off the public ledger.
        Applications(self.service.engine).store_private(pid, self.private[name], self.salts[name].hex())

    def harvest(self, who: str, lot: str, qty: str, product: dict, plot: str, price: str) -> str:
        return self.record(
            who,
            {
                "kind": "harvest",
                "outputs": [{"lot": lot, "quantity": qty, "unit": "kg", "product": product}],
                "price": {"amount": price, "currency": "CNY", "unit": "kg", "stage": "production"},
                "detail": {"origin": {"name": plot, "address": PARTIES[who][4]}},
            },
        )

    def inspect(self, lot: str, qty: str, serial: int, *, value: str = "12.5", result: str = "pass") -> str:
        """Test `lot` in the lab; the report is numbered KJ-<the test's date>-<serial>. Return the event id."""
        report_no = f"KJ-{self._upcoming_day()}-{serial:04d}"
        return self.record(
            "lab",
            {
                "kind": "inspect",
                "inputs": [{"lot": lot, "quantity": qty, "unit": "kg"}],
                "documents": [{"type": "inspection_report", "id": report_no}],
                "detail": {**TEST_PASS, "value": value, "result": result, "report_no": report_no},
            },
        )

    def certify(self, who: str, lot: str, qty: str, serial: int, product_name: str) -> str:
        """Issue a 合格证 numbered HGZ-<county>-<the issue date>-<serial>; return the certificate number."""
        number = f"HGZ-430124-{self._upcoming_day()}-{serial:03d}"
        self.record(
            who,
            {
                "kind": "certify",
                "inputs": [{"lot": lot, "quantity": qty, "unit": "kg"}],
                "detail": {
                    "certificate_no": number,
                    "product_name": product_name,
                    "origin": "湖南省长沙市宁乡市",
                    "commitments": [
                        "no_banned_substances",
                        "withdrawal_period_observed",
                        "residues_within_limits",
                        "self_tested",
                    ],
                    # Printed on the public certificate: the person, not the desk's private number.
                    "contact": CONTACTS[who],
                },
            },
        )
        return number

    def ship(self, who: str, lots: list[tuple[str, str]], to: str, price: str | None = None) -> str:
        wire: dict[str, Any] = {
            "kind": "ship",
            "inputs": [{"lot": lot, "quantity": qty, "unit": "kg"} for lot, qty in lots],
            "detail": {"destination": PARTIES[to][0]},
        }
        if price:
            wire["price"] = {"amount": price, "currency": "CNY", "unit": "kg", "stage": "wholesale"}
        return self.record(who, wire)

    def receive(
        self,
        who: str,
        ship_event: str,
        lots: list[tuple[str, str]],
        source: str,
        certificate: str | None = None,
        inspection: str | None = None,
    ) -> str:
        check: dict[str, Any] = {"result": "accepted"}
        if certificate:
            check["certificate_no"] = certificate
        if inspection:
            check["inspection_event"] = inspection
        return self.record(
            who,
            {
                "kind": "receive",
                "inputs": [{"lot": lot, "quantity": qty, "unit": "kg"} for lot, qty in lots],
                "sensors": [
                    {
                        "type": "temperature",
                        "value": "4.5",
                        "unit": "Cel",
                        "time": self._next_time().isoformat(timespec="seconds"),
                    }
                ],
                "detail": {"source": PARTIES[source][0], "ship_event": ship_event, "entry_check": check},
            },
        )

    def transform(
        self,
        who: str,
        kind: str,
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
        product: dict,
    ) -> str:
        return self.record(
            who,
            {
                "kind": "transform",
                "inputs": [{"lot": lot, "quantity": qty, "unit": "kg"} for lot, qty in inputs],
                "outputs": [
                    {"lot": lot, "quantity": qty, "unit": "kg", "product": product} for lot, qty in outputs
                ],
                "detail": {"type": kind},
            },
        )

    def sell(self, who: str, lot: str, qty: str, price: str, stage: str = "retail") -> dict[str, Any]:
        return {
            "kind": "sell",
            "inputs": [{"lot": lot, "quantity": qty, "unit": "kg"}],
            "price": {"amount": price, "currency": "CNY", "unit": "kg", "stage": stage},
            "detail": {},
        }


class DemoResult(dict):
    """What the demo made: where the keys are, and the lot codes worth looking at."""


def _place(key: str) -> dict[str, str]:
    _, name, _, _, address = PARTIES[key]
    return {"name": name, "address": address}


def run_demo(service: TraceService, key_dir: Path, *, now: datetime | None = None) -> DemoResult:
    """Record the scenario into an empty ledger. Raises RuntimeError if the ledger already has parties."""
    if service.parties():
        raise RuntimeError("the database already has parties; the demo only fills an empty one")
    key_dir.mkdir(parents=True, exist_ok=True)
    keys = {name: PartyKey.generate(pid) for name, (pid, *_) in PARTIES.items()}
    for name, key in keys.items():
        path = key_dir / f"{name}.key"
        path.unlink(missing_ok=True)
        key.save(path)
    # The stories end about now: they begin three days before `now` (default: the service's clock).
    start = (now or service.clock()) - timedelta(days=3)
    s = Scenario(service, keys, start.astimezone(CST))
    for name in PARTIES:
        s.register(name)

    # Story 1: 宁乡 cabbage, from the field to a 1 kg bag in a shopping basket.
    s.harvest("coop", "NX-BC-1120", "500", CABBAGE, "金洲镇 3 号蔬菜基地", "1.2")
    test = s.inspect("NX-BC-1120", "500", 31)
    cabbage_cert = s.certify("coop", "NX-BC-1120", "500", 17, CABBAGE["name_zh"])
    shipped = s.ship("coop", [("NX-BC-1120", "500")], "market")
    s.receive(
        "market",
        shipped,
        [("NX-BC-1120", "500")],
        "coop",
        certificate=cabbage_cert,
        inspection=test,
    )
    splits = [(f"MWD-BC-{i:02d}", "10") for i in range(1, 51)]
    s.transform("market", "split", [("NX-BC-1120", "500")], splits, CABBAGE)
    shipped = s.ship("market", [("MWD-BC-01", "10")], "shop", price="2")
    s.receive("shop", shipped, [("MWD-BC-01", "10")], "market", certificate=cabbage_cert)
    bags = [(f"XF-BAG-{i:04d}", "1") for i in range(1, 11)]
    s.transform("shop", "repack", [("MWD-BC-01", "10")], bags, CABBAGE_BAG)
    s.record("shop", s.sell("shop", "XF-BAG-0001", "1", "4.5"))

    # Story 2: a failed pesticide test blocks the lot; the attempt to ship it anyway is refused.
    s.harvest("coop", "NX-XBC-1120", "300", GREENS, "金洲镇 5 号蔬菜基地", "1.5")
    s.inspect("NX-XBC-1120", "300", 32, value="68.2", result="fail")
    failed_rule = s.refused(
        "coop",
        {
            "kind": "ship",
            "inputs": [{"lot": "NX-XBC-1120", "quantity": "300", "unit": "kg"}],
            "detail": {"destination": PARTIES["market"][0]},
        },
    )

    # Story 3: chillies from a family farm reach a supermarket and a wet-market stall, then are recalled.
    s.harvest("farm", "ZJ-LJ-1119", "200", CHILLI, "双江口镇张家冲", "6")
    chilli_cert = s.certify("farm", "ZJ-LJ-1119", "200", 4, CHILLI["name_zh"])
    shipped = s.ship("farm", [("ZJ-LJ-1119", "200")], "market")
    s.receive("market", shipped, [("ZJ-LJ-1119", "200")], "farm", certificate=chilli_cert)
    parts = [(f"MWD-LJ-{i:02d}", "50") for i in range(1, 5)]
    s.transform("market", "split", [("ZJ-LJ-1119", "200")], parts, CHILLI)
    to_shop = s.ship("market", [("MWD-LJ-01", "50")], "shop", price="9")
    s.receive("shop", to_shop, [("MWD-LJ-01", "50")], "market", certificate=chilli_cert)
    s.transform(
        "shop",
        "repack",
        [("MWD-LJ-01", "50")],
        [(f"XF-LJ-{i:03d}", "0.5") for i in range(1, 101)],
        CHILLI_BAG,
    )
    s.record("shop", s.sell("shop", "XF-LJ-001", "0.5", "16"))
    to_stall = s.ship("market", [("MWD-LJ-02", "50")], "stall", price="9")
    s.receive("stall", to_stall, [("MWD-LJ-02", "40")], "market", certificate=chilli_cert)
    s.record("stall", s.sell("stall", "MWD-LJ-02", "2.5", "14"))
    s.record(
        "regulator",
        {
            "kind": "recall",
            "inputs": [{"lot": "ZJ-LJ-1119", "quantity": "200", "unit": "kg"}],
            "detail": {
                # The regulator writes in Chinese, one language per text; the consumer page shows
                # the standard instructions in the reader's language (web/i18n/common.py).
                "reason": RECALL_REASON,
                "instructions": RECALL_INSTRUCTIONS_ZH,
            },
        },
    )

    # Story 5: the market tries to sell 800 kg out of a 500 kg lot.
    s.harvest("coop", "NX-LB-1121", "500", RADISH, "金洲镇 7 号蔬菜基地", "0.8")
    radish_cert = s.certify("coop", "NX-LB-1121", "500", 2, RADISH["name_zh"])
    shipped = s.ship("coop", [("NX-LB-1121", "500")], "market")
    s.receive("market", shipped, [("NX-LB-1121", "500")], "coop", certificate=radish_cert)
    fraud_rule = s.refused("market", s.sell("market", "NX-LB-1121", "800", "1.6", stage="wholesale"))

    return DemoResult(
        key_dir=str(key_dir),
        consumer_lot="XF-BAG-0001",
        recalled_lot="ZJ-LJ-1119",
        certificates={"cabbage": cabbage_cert, "chilli": chilli_cert, "radish": radish_cert},
        refused=[failed_rule, fraud_rule],
        parties={name: pid for name, (pid, *_) in PARTIES.items()},
    )
