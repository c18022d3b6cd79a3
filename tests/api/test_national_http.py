"""The national platform's codes through HTTP: a 主体码 on a party's signed registration record, a
追溯码 on the event that creates a lot, both found by GET /national-codes/{code}; a bad code refused
naming its field, with nothing stored; and a party's 来源/去向 export (docs/national-platform.md)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openpyxl import load_workbook

from farmtrace.api.demo import PARTIES, SUBJECT_CODES, TRACING_CODES, run_demo
from farmtrace.client import Client, PartyKey
from farmtrace.trace import scenario as sc
from farmtrace.trace.model.canonical import wire_json
from farmtrace.trace.model.encoding import encode_entry, signing_message
from farmtrace.trace.model.ids import uscc_check_char

SUBJECT = "430124000000123456"  # the new farm's 主体码
TRACING = "43012420261207000001"  # its lot's 追溯码
FARM = "93430124MA4L0099" + "Q"
FARM = FARM[:17] + uscc_check_char(FARM[:17])


@pytest.fixture
def demo(client, tmp_path):
    run_demo(client.app.state.service, tmp_path / "keys")
    return {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token()}"}


def _record(key: PartyKey, *, subject_code: str | None = SUBJECT) -> dict:
    record = sc.party_record(
        FARM,
        name_zh="宁乡市金洲镇国码示范农场",
        roles=["producer"],
        address="湖南省长沙市宁乡市金洲镇",
        keys=[sc.key_record(key.public_key)],
        contact_commitment=hashlib.sha256(b"contact").hexdigest(),
    )
    if subject_code is not None:
        record["subject_code"] = subject_code
    return record


PLACE = {"name": "金洲镇 9 号蔬菜基地"}


def _harvest(lot: str, tracing_code: str | None) -> dict:
    out = sc.out(lot, "80", {"name_zh": "宁乡包菜", "category": "蔬菜"})
    if tracing_code is not None:
        out["tracing_code"] = tracing_code
    return {**sc.harvest([out], origin=PLACE), "location": PLACE}


def _register(record: dict) -> dict:
    return {**sc.register(record), "location": {"name": "长沙市市场监督管理局"}}


def _raw_entry(private: Ed25519PrivateKey, key: PartyKey, wire: dict) -> str:
    """A ledger entry signed over the wire form as given, unchecked (the client would refuse to sign
    a bad one), base64 for POST /events: what a careless or hostile client may send."""
    wire = {**Client(key=key).prepare(wire, now=datetime.now(UTC)), "party": key.party, "key_id": key.key_id}
    canonical = wire_json({"v": 1, **wire})
    return base64.b64encode(encode_entry(canonical, private.sign(signing_message(canonical)))).decode()


@pytest.fixture
def farm_key() -> tuple[Ed25519PrivateKey, PartyKey]:
    private = Ed25519PrivateKey.generate()
    return private, PartyKey(FARM, private)


@pytest.fixture
def coded(client, demo, farm_key):
    """A farm registered with its 主体码, and its harvest carrying a 追溯码."""
    _, farm = farm_key
    Client(key=demo["regulator"], http=client).record(_register(_record(farm)))
    Client(key=farm, http=client).record(_harvest("GM-BC-0001", TRACING))
    return farm


def test_codes_on_signed_records_are_found_by_code(client, coded):
    r = client.get(f"/national-codes/{SUBJECT}")
    assert r.status_code == 200
    body = r.json()
    assert [p["id"] for p in body["parties"]] == [FARM] and body["lots"] == []
    register = client.get(f"/events/{body['parties'][0]['event_id']}").json()
    assert register["event"]["detail"]["party"]["subject_code"] == SUBJECT  # the signed record says so
    r = client.get(f"/national-codes/{TRACING}")
    lots = r.json()["lots"]
    assert [(lot["code"], lot["created_by"], lot["product"]) for lot in lots] == [("GM-BC-0001", FARM, "宁乡包菜")]
    harvest = client.get(f"/events/{lots[0]['event_id']}").json()
    assert harvest["event"]["outputs"][0]["tracing_code"] == TRACING


def test_an_unknown_or_malformed_code(client, coded):
    r = client.get("/national-codes/43012499999999999999")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/national-codes/abc-123")
    assert r.status_code == 400 and r.json()["field"] == "code"
    assert "8 to 40 digits or capital letters" in r.json()["detail"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [("ab12345678", "capital letters"), ("1234567", "8 to 40"), ("1" * 41, "8 to 40"), ("4301 2420", "8 to 40")],
)
def test_a_bad_tracing_code_is_refused_naming_the_field_and_nothing_is_stored(
    client, coded, farm_key, bad, message
):
    size = client.app.state.log.size
    r = client.post("/events", json={"entry": _raw_entry(*farm_key, _harvest("GM-BC-0002", bad))})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "outputs[0].tracing_code"
    assert message in r.json()["detail"]
    assert client.app.state.log.size == size
    assert client.get("/lots/GM-BC-0002").status_code == 404


def test_a_bad_subject_code_is_refused_naming_the_field(client, demo, farm_key):
    _, farm = farm_key
    regulator = demo["regulator"]
    size = client.app.state.log.size
    wire = _register(_record(farm, subject_code="主体码0001"))
    r = client.post("/events", json={"entry": _raw_entry(regulator._key, regulator, wire)})
    assert r.status_code == 400 and r.json()["field"] == "detail.party.subject_code"
    assert client.app.state.log.size == size
    assert client.get(f"/parties/{FARM}").status_code == 404


# --- the 来源/去向 export ------------------------------------------------------------------------------


def _range() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"since": (now - timedelta(days=90)).isoformat(), "until": (now + timedelta(days=1)).isoformat()}


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_market_flows_in_and_out_each_row_citing_its_event(client, demo):
    market, coop, shop = PARTIES["market"][0], PARTIES["coop"][0], PARTIES["shop"][0]
    r = client.get(f"/exports/parties/{market}/flows.csv", params=_range(), headers=_auth(demo["regulator"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = _csv(r.content)
    assert list(rows[0])[:4] == ["主体代码", "主体码", "出入库", "业务类型"]
    received = [x for x in rows if x["批次号"] == "NX-BC-1120" and x["业务类型"] == "收货"]
    assert len(received) == 1
    got = received[0]
    assert (got["出入库"], got["来源/去向主体代码"], got["数量"]) == ("入库", coop, "500")
    assert got["来源/去向主体名称"] == PARTIES["coop"][1] and got["合格证编号"]
    assert got["关联发货事件"]  # the shipment the receipt closes
    split = [x for x in rows if x["批次号"] == "NX-BC-1120" and x["出入库"] == "出库"]
    assert [x["业务类型"] for x in split] == ["分拆"] and "MWD-BC-01" in split[0]["关联批次"].split()
    sent = [x for x in rows if x["批次号"] == "MWD-BC-01" and x["业务类型"] == "发货"]
    assert [(x["出入库"], x["来源/去向主体代码"]) for x in sent] == [("出库", shop)]
    assert all(x["主体代码"] == market for x in rows)
    for row in (got, sent[0]):  # each row cites its signed event, at its ledger index
        event = client.get(f"/events/{row['事件编号']}").json()
        assert event["index"] == int(row["账本序号"]) and event["event"]["party"] == market
    indexes = [int(x["账本序号"]) for x in rows]
    assert indexes == sorted(indexes)


def test_a_coded_farm_exports_its_codes_in_english_xlsx(client, demo, coded):
    r = client.get(
        f"/exports/parties/{FARM}/flows.xlsx", params={**_range(), "lang": "en"}, headers=_auth(demo["regulator"])
    )
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Party ID", "Party's subject code (national platform)", "In or out", "Business"]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert (row["Party's subject code (national platform)"], row["Tracing code (national platform)"]) == (
        SUBJECT,
        TRACING,
    )
    assert (row["In or out"], row["Business"], row["Lot (batch)"], row["Quantity"]) == ("In", "Production", "GM-BC-0001", 80)
    assert row["Place"] == "金洲镇 9 号蔬菜基地" and ws.max_row == 2
    assert "Flows" in ws.tables


def test_the_flows_export_is_for_regulators_and_checks_its_input(client, demo):
    market = PARTIES["market"][0]
    url = f"/exports/parties/{market}/flows.csv"
    for headers in ({}, _auth(demo["market"])):
        assert client.get(url, params=_range(), headers=headers).status_code == 403
    h = _auth(demo["regulator"])
    span = _range()
    r = client.get(url, params={"since": span["until"], "until": span["since"]}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "until"
    r = client.get(f"/exports/parties/{FARM}/flows.csv", params=span, headers=h)
    assert r.status_code == 404
    r = client.get("/exports/parties/not-a-party/flows.csv", params=span, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "party_id"


def test_the_demo_carries_the_coops_subject_code_and_its_cabbages_tracing_code(client, demo):
    parties = client.get(f"/national-codes/{SUBJECT_CODES['coop']}").json()["parties"]
    assert [p["id"] for p in parties] == [PARTIES["coop"][0]]
    assert client.get(f"/parties/{PARTIES['coop'][0]}").json()["subject_code"] == SUBJECT_CODES["coop"]
    assert "subject_code" not in client.get(f"/parties/{PARTIES['market'][0]}").json()
    listed = {p["id"]: p.get("subject_code") for p in client.get("/parties").json()}
    assert listed[PARTIES["coop"][0]] == SUBJECT_CODES["coop"] and listed[PARTIES["shop"][0]] is None
    lots = client.get(f"/national-codes/{TRACING_CODES['NX-BC-1120']}").json()["lots"]
    assert [(lot["code"], lot["created_by"]) for lot in lots] == [("NX-BC-1120", PARTIES["coop"][0])]
    rows = _csv(
        client.get(
            f"/exports/parties/{PARTIES['market'][0]}/flows.csv", params=_range(), headers=_auth(demo["regulator"])
        ).content
    )
    received = next(x for x in rows if x["批次号"] == "NX-BC-1120" and x["业务类型"] == "收货")
    assert (received["追溯码"], received["来源/去向主体码"]) == (TRACING_CODES["NX-BC-1120"], SUBJECT_CODES["coop"])
