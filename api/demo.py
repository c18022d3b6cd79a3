# size: the demo's six stories, told in the order the city lives them, each a block of its own
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

And pork (issue 20 §5): four 宁乡花猪 with their ear tags → the official veterinarian's 动物检疫合格证明
(动物B, for slaughter) → a designated slaughterhouse, where they rest overnight → slaughter into eight
carcass halves (75 % of live weight) with the slaughterhouse's 肉品品质检验合格证 → the veterinarian's
动物检疫合格证明 (产品B) → the wholesale market (entry check names it) → one half each → a wet-market
pork stall → 1.5 kg sold; the stall's scale prints the half's trace code on the receipt, which
the consumer scans (`DemoResult["pork_lot"]`).

The steps are said in the words of trace/scenario.py, which the tests' stories and the benches share.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from farmtrace.client import PartyKey
from farmtrace.trace import scenario as sc
from farmtrace.trace.applications import Applications, contact_commitment
from farmtrace.trace.clock import CST
from farmtrace.trace.errors import RuleViolation
from farmtrace.trace.model.details import STANDARD_RECALL_INSTRUCTIONS
from farmtrace.trace.model.ids import uscc_check_char
from farmtrace.trace.service import TraceService

__all__ = ["PARTIES", "PORK_LOT", "DemoResult", "Scenario", "run_demo"]


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
    # The pork story's parties (after the others, so theirs keep their order and numbers). 430182 is
    # 宁乡市's county code, the one its ear tags carry.
    "pigfarm": (
        _uscc("93430182MA4P00031"),
        "宁乡市花明楼镇宁乡花猪养殖专业合作社",
        "Huaminglou Ningxiang Pig Cooperative",
        ["producer"],
        "湖南省长沙市宁乡市花明楼镇",
    ),
    "vet": (
        _uscc("12430182MB0000023"),
        "宁乡市动物卫生监督所",
        "Ningxiang Animal Health Supervision Institute",
        ["veterinarian"],
        "湖南省长沙市宁乡市玉潭街道",
    ),
    "abattoir": (
        _uscc("91430182MA4T10021"),
        "宁乡市生猪定点屠宰厂",
        "Ningxiang Designated Pig Slaughterhouse",
        ["processor"],
        "湖南省长沙市宁乡市历经铺街道",
    ),
    "porkstall": (
        _uscc("92430105MA4T00037"),
        "四方坪农贸市场刘记猪肉摊",
        "Liu's Pork Stall, Sifangping Wet Market",
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
    "pigfarm": "周国平",
    "vet": "陈卫东",
    "abattoir": "彭建军",
    "porkstall": "刘桂香",
}

CABBAGE = {"name_zh": "宁乡包菜", "name_en": "Ningxiang cabbage", "variety": "京丰一号", "category": "蔬菜"}
# Packs keep their product's name (so its prices at every stage are one series: farm gate, wholesale,
# retail); the pack size is the lot's quantity, and the GTIN names the packed trade item.
CABBAGE_BAG = {**CABBAGE, "gtin": "6901234567892"}
GREENS = {"name_zh": "小白菜", "name_en": "Bok choy", "category": "蔬菜"}
CHILLI = {"name_zh": "宁乡朝天椒", "name_en": "Ningxiang bird's-eye chilli", "category": "蔬菜"}
CHILLI_BAG = CHILLI
RADISH = {"name_zh": "白萝卜", "name_en": "White radish", "category": "蔬菜"}

# The national platform's codes (docs/national-platform.md): the cooperative's 主体码, on its signed
# registration record, and the 追溯码 of its first cabbage, on the harvest that creates the lot.
SUBJECT_CODES = {"coop": "430124000000100013"}
TRACING_CODES = {"NX-BC-1120": "43012420261120000001"}

RECALL_REASON = "市级抽检检出禁用农药甲拌磷超标"
RECALL_INSTRUCTIONS_ZH = STANDARD_RECALL_INSTRUCTIONS[0]

TEST_PASS = {**sc.RAPID_TEST, "value": "12.5", "result": "pass"}

# The pork story. Live pigs are counted by the head (头) and tagged: 畜禽标识 1 (pig) + 430182
# (宁乡市) + an 8-digit serial, one per animal. Meat is weighed; the carcass half keeps its product
# (and GTIN) from the slaughterhouse to the stall, so its prices are one series.
PIGS = {"name_zh": "宁乡花猪", "name_en": "Ningxiang pig", "category": "生猪"}
PORK = {
    "name_zh": "宁乡花猪 白条肉",
    "name_en": "Ningxiang pork, carcass half",
    "category": "肉类",
    "gtin": "6901234568004",
}
EAR_TAGS = [f"1430182{n:08d}" for n in range(31, 35)]
LIVE_WEIGHT = "462"  # kg, the four pigs weighed together before slaughter: 115.5 kg a head
# Eight carcass halves, 346.5 kg: 75 % of the live weight (a pig's dressing percentage is ~70-78 %).
HALVES = [("MWD-BT-01", "43"), ("MWD-BT-02", "43.5"), ("MWD-BT-03", "43.5"), ("MWD-BT-04", "43")]
HALVES += [("MWD-BT-05", "43.5"), ("MWD-BT-06", "43"), ("MWD-BT-07", "43.5"), ("MWD-BT-08", "43.5")]
CARCASS_KG = "346.5"
# 动物检疫合格证明 numbers are the printed forms' own; the official veterinarians sign in office.
ANIMAL_CERT = "4301820002173"  # 动物B, for the pigs on the road to slaughter
PRODUCT_CERT = "4301820002186"  # 产品B, for the carcasses leaving the slaughterhouse
FARM_VET = "谢志刚"  # 官方兽医 who inspects at the farm (产地检疫)
PLANT_VET = "罗海燕"  # 官方兽医 stationed at the slaughterhouse (屠宰检疫)


class Scenario:
    """Records events as the demo's parties, each signed with its own key, one step of time apart.

    The steps' words (kinds, detail shapes) are trace.scenario's; this class adds the demo's parties,
    its clock and its document numbers, and records through the real service."""

    def __init__(self, service: TraceService, actors: dict[str, sc.Actor], start: datetime) -> None:
        self.service = service
        self.actors = actors
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

    def rest(self, hours: int) -> None:
        """Let `hours` pass before the next step (pigs rest overnight before slaughter, 宰前静养)."""
        self._steps += 3 * hours

    def _upcoming_day(self) -> str:
        """The CST date (YYYYMMDD) the next recorded event will carry: documents are numbered by it."""
        return (self._start + timedelta(minutes=20 * self._steps)).strftime("%Y%m%d")

    def record(self, who: str, said: dict[str, Any], *, genesis: bool = False) -> str:
        """Sign and record step `said` (trace.scenario) as party `who`, at the next moment, each input
        following its lot's head. Return the event id.

        `genesis`: the first regulator registering itself, recorded as the operator (the demo runs
        on the machine, as `farmtrace init` does)."""
        inputs = [
            ref if "follows" in ref else {**ref, "follows": [self.service.lot_summary(ref["lot"]).head]}
            for ref in said["inputs"]
        ]
        signed = self.actors[who].say({**said, "inputs": inputs}, at=self._next_time())
        record = self.service.record_genesis if genesis else self.service.record
        return record(signed.entry).event_id

    def refused(self, who: str, said: dict[str, Any]) -> str:
        """Record an attempt the rules must refuse; return the rule that refused it."""
        try:
            self.record(who, said)
        except RuleViolation as exc:
            return exc.rule
        raise AssertionError(f"the demo expected {said['kind']} by {who} to be refused")

    # --- steps ---------------------------------------------------------------------------------------

    def register(self, name: str) -> None:
        _, _, name_en, roles, _ = PARTIES[name]
        commitment = contact_commitment(self.private[name], self.salts[name])
        party = self.actors[name].record(roles=roles, contact_commitment=commitment, name_en=name_en)
        if name in SUBJECT_CODES:
            party["subject_code"] = SUBJECT_CODES[name]
        # The first regulator registers itself (the genesis entry); the regulator registers the rest.
        self.record("regulator", sc.register(party), genesis=name == "regulator")
        # The registration desk keeps the contact details off the public ledger.
        Applications(self.service.engine).store_private(
            party["id"], self.private[name], self.salts[name].hex()
        )

    def harvest(self, who: str, lot: str, qty: str, product: dict, plot: str, price: str) -> str:
        origin = {"name": plot, "address": PARTIES[who][4]}
        out = sc.out(lot, qty, product)
        if lot in TRACING_CODES:
            out["tracing_code"] = TRACING_CODES[lot]
        return self.record(who, sc.harvest([out], origin=origin, price=sc.price(price, "production")))

    def inspect(self, lot: str, qty: str, serial: int, *, value: str = "12.5", result: str = "pass") -> str:
        """Test `lot` in the lab; the report is numbered KJ-<the test's date>-<serial>. Return the event id."""
        report_no = f"KJ-{self._upcoming_day()}-{serial:04d}"
        said = sc.inspect(
            [sc.ref(lot, qty)],
            value=value,
            result=result,
            report_no=report_no,
            documents=[{"type": "inspection_report", "id": report_no}],
        )
        return self.record("lab", said)

    def certify(self, who: str, lot: str, qty: str, serial: int, product_name: str) -> str:
        """Issue a 合格证 numbered HGZ-<county>-<the issue date>-<serial>; return the certificate number."""
        number = f"HGZ-430124-{self._upcoming_day()}-{serial:03d}"
        said = sc.certify(
            [sc.ref(lot, qty)],
            certificate_no=number,
            product_name=product_name,
            origin="湖南省长沙市宁乡市",
            # Printed on the public certificate: the person, not the desk's private number.
            contact=CONTACTS[who],
        )
        self.record(who, said)
        return number

    def ship(
        self, who: str, lots: list[tuple[str, str]], to: str, price: str | None = None, *, unit: str = "kg"
    ) -> str:
        return self.record(who, _ship(lots, to, price, unit=unit))

    def receive(
        self,
        who: str,
        ship_event: str,
        lots: list[tuple[str, str]],
        source: str,
        certificate: str | None = None,
        inspection: str | None = None,
        *,
        unit: str = "kg",
        temperature: str | None = "4.5",
    ) -> str:
        """Receive `lots` (in `unit`) of `ship_event`, naming `certificate` at the entry check; with a
        `temperature` reading (°C) taken a step before the receipt is signed (None: live animals)."""
        readings = []
        if temperature is not None:
            moment = sc.event_time(self._next_time())
            readings = [{"type": "temperature", "value": temperature, "unit": "Cel", "time": moment}]
        said = sc.receive(
            [sc.ref(lot, qty, unit) for lot, qty in lots],
            source=PARTIES[source][0],
            ship_event=ship_event,
            certificate_no=certificate,
            inspection_event=inspection,
            sensors=readings or None,
        )
        return self.record(who, said)

    def transform(
        self,
        who: str,
        kind: str,
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
        product: dict,
    ) -> str:
        step = {"split": sc.split, "merge": sc.merge, "repack": sc.repack}[kind]
        said = step(
            [sc.ref(lot, qty) for lot, qty in inputs], [sc.out(lot, qty, product) for lot, qty in outputs]
        )
        return self.record(who, said)

    def raise_animals(
        self,
        who: str,
        lot: str,
        ear_tags: list[str],
        product: dict,
        pen: str,
        *,
        live_weight: str,
        price: str,
    ) -> str:
        """Animals leave the farm as a new lot (出栏), one head per ear tag, priced by live weight."""
        origin = {"name": pen, "address": PARTIES[who][4]}
        out = sc.animals(lot, ear_tags, product, live_weight=live_weight)
        return self.record(who, sc.harvest([out], origin=origin, price=sc.price(price, "production")))

    def quarantine(self, lot: str, qty: str, unit: str, **detail: Any) -> str:
        """The veterinarian's 动物检疫合格证明 on `qty` `unit` of `lot` (trace.scenario.quarantine's
        fields); return its number."""
        self.record("vet", sc.quarantine([sc.ref(lot, qty, unit)], **detail))
        return detail["certificate_no"]

    def slaughter(
        self,
        lot: str,
        heads: str,
        outputs: list[tuple[str, str]],
        product: dict,
        *,
        live_weight: str,
        serial: int,
    ) -> str:
        """The slaughterhouse slaughters the `heads` of `lot` into `outputs`, its 肉品品质检验合格证
        numbered RP-430182-<the day>-<serial>; return the certificate number."""
        number = f"RP-430182-{self._upcoming_day()}-{serial:03d}"
        said = sc.slaughter(
            [sc.ref(lot, heads, "head")],
            [sc.out(code, qty, product) for code, qty in outputs],
            live_weight=live_weight,
            certificate_no=number,
        )
        self.record("abattoir", said)
        return number

    def sell(self, who: str, lot: str, qty: str, price: str, stage: str = "retail") -> dict[str, Any]:
        """The step of `who` selling `qty` of `lot` (record it, or expect it `refused`)."""
        return sc.sell([sc.ref(lot, qty)], price=sc.price(price, stage))


def _ship(lots: list[tuple[str, str]], to: str, price: str | None, *, unit: str = "kg") -> dict[str, Any]:
    """A ship step to demo party `to`; a sale between parties carries its wholesale price."""
    return sc.ship(
        [sc.ref(lot, qty, unit) for lot, qty in lots],
        destination=PARTIES[to][0],
        price=sc.price(price, "wholesale") if price else None,
    )


class DemoResult(dict):
    """What the demo made: where the keys are, and the lot codes worth looking at."""


def run_demo(service: TraceService, key_dir: Path, *, now: datetime | None = None) -> DemoResult:
    """Record the scenario into an empty ledger. Raises RuntimeError if the ledger already has parties.

    size: the demo's stories told in order, one line per step, so they read as the stories they are
    """
    if service.parties():
        raise RuntimeError("the database already has parties; the demo only fills an empty one")
    key_dir.mkdir(parents=True, exist_ok=True)
    actors = {
        name: sc.Actor.from_seed(pid, secrets.token_bytes(32), name=name_zh, address=address)
        for name, (pid, name_zh, _, _, address) in PARTIES.items()
    }
    for name, actor in actors.items():
        path = key_dir / f"{name}.key"
        path.unlink(missing_ok=True)
        PartyKey.from_seed(actor.party, actor.seed).save(path)  # act as any of them from the command line
    # The stories end about now: they begin three days before `now` (default: the service's clock).
    start = (now or service.clock()) - timedelta(days=3)
    s = Scenario(service, actors, start.astimezone(CST))
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
    failed_rule = s.refused("coop", _ship([("NX-XBC-1120", "300")], "market", None))

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
    # The regulator writes in Chinese, one language per text; the consumer page shows the standard
    # instructions in the reader's language (web/i18n/common.py).
    recall = sc.recall(
        [sc.ref("ZJ-LJ-1119", "200")], reason=RECALL_REASON, instructions=RECALL_INSTRUCTIONS_ZH
    )
    s.record("regulator", recall)

    # Story 5: the market tries to sell 800 kg out of a 500 kg lot.
    s.harvest("coop", "NX-LB-1121", "500", RADISH, "金洲镇 7 号蔬菜基地", "0.8")
    radish_cert = s.certify("coop", "NX-LB-1121", "500", 2, RADISH["name_zh"])
    shipped = s.ship("coop", [("NX-LB-1121", "500")], "market")
    s.receive("market", shipped, [("NX-LB-1121", "500")], "coop", certificate=radish_cert)
    fraud_rule = s.refused("market", s.sell("market", "NX-LB-1121", "800", "1.6", stage="wholesale"))

    livestock = _pork_story(s)

    return DemoResult(
        key_dir=str(key_dir),
        consumer_lot="XF-BAG-0001",
        recalled_lot="ZJ-LJ-1119",
        pork_lot=PORK_LOT,
        certificates={"cabbage": cabbage_cert, "chilli": chilli_cert, "radish": radish_cert},
        livestock_certificates=livestock,
        refused=[failed_rule, fraud_rule],
        parties={name: pid for name, (pid, *_) in PARTIES.items()},
    )


# The carcass half the pork stall sells from: its trace code is on the stall's receipts.
PORK_LOT = "MWD-BT-01"


def _pork_story(s: Scenario) -> dict[str, str]:
    """Four 宁乡花猪 from the farm to a consumer's 1.5 kg of pork; return the certificate numbers
    (animal: 动物B, meat: 肉品品质检验合格证, product: 产品B)."""
    pigs, heads = "NX-HZ-1121", str(len(EAR_TAGS))
    farm, plant, market = PARTIES["pigfarm"][1], PARTIES["abattoir"][1], PARTIES["market"][1]
    s.raise_animals(
        "pigfarm", pigs, EAR_TAGS, PIGS, "花明楼镇 花猪养殖场 3 号栏舍", live_weight=LIVE_WEIGHT, price="19"
    )
    animal = s.quarantine(
        pigs, heads, "head", form="animal_b", certificate_no=ANIMAL_CERT, owner=farm, species="猪",
        purpose="屠宰", origin=PARTIES["pigfarm"][4], destination=plant, official_vet=FARM_VET,
        valid_days="1", ear_tags=EAR_TAGS, carrier=farm, transport="road", vehicle="湘A·5Q638",
        disinfection="过氧乙酸",
    )  # fmt: skip
    shipped = s.ship("pigfarm", [(pigs, heads)], "abattoir", unit="head")
    s.receive(
        "abattoir", shipped, [(pigs, heads)], "pigfarm", certificate=animal, unit="head", temperature=None
    )
    s.rest(12)
    carcasses = "NXTZ-BT-1122"
    meat = s.slaughter(pigs, heads, [(carcasses, CARCASS_KG)], PORK, live_weight=LIVE_WEIGHT, serial=1)
    product = s.quarantine(
        carcasses, CARCASS_KG, "kg", form="product_b", certificate_no=PRODUCT_CERT, owner=plant,
        species="猪", product_name=PORK["name_zh"], origin=PARTIES["abattoir"][4], destination=market,
        official_vet=PLANT_VET, valid_days="1", transport="road", vehicle="湘A·L2076",
        disinfection="过氧乙酸", marks="湘 0347215",
    )  # fmt: skip
    shipped = s.ship("abattoir", [(carcasses, CARCASS_KG)], "market", price="30")
    s.receive("market", shipped, [(carcasses, CARCASS_KG)], "abattoir", certificate=product, temperature="2")
    s.transform("market", "split", [(carcasses, CARCASS_KG)], HALVES, PORK)
    half = dict(HALVES)[PORK_LOT]
    shipped = s.ship("market", [(PORK_LOT, half)], "porkstall", price="32")
    s.receive("porkstall", shipped, [(PORK_LOT, half)], "market", certificate=product, temperature="3")
    s.record("porkstall", s.sell("porkstall", PORK_LOT, "1.5", "40"))
    return {"animal": animal, "meat": meat, "product": product}
