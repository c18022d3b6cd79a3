"""Parties' compliance records (公共征信) through HTTP (docs/compliance-record.md): the demo's failed
test, recall and refused attempts, plus a rejection at market entry and a suspension recorded here;
who is shown what; the evidence each item cites; the CSV, XLSX and JSON exports; and bad input
refused naming its field."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import Client, PartyKey
from farmtrace.trace import scenario as sc

COOP, MARKET, FARM, STALL, REGULATOR = (
    PARTIES[n][0] for n in ("coop", "market", "farm", "stall", "regulator")
)
CELERY = {"name_zh": "宁乡芹菜", "name_en": "Ningxiang celery", "category": "蔬菜"}
CERT = "HGZ-4301-20261207-0099"
NOTE = "合格证所列品名与货品不符"
SUSPEND_REASON = "经营场所卫生条件不符合要求"


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token()}"}


def _at(place: str, wire: dict) -> dict:
    return {**wire, "location": {"name": place}}


@pytest.fixture
def demo(client, tmp_path):
    """The demo, then: the coop ships certified celery the market rejects at entry, and the
    regulator suspends the wet-market stall."""
    run_demo(client.app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    coop, market = Client(key=keys["coop"], http=client), Client(key=keys["market"], http=client)
    harvest = sc.harvest([sc.out("NX-QC-1207", "100", CELERY)], origin={"name": "金洲镇 3 号蔬菜基地"})
    coop.record(_at("金洲镇 3 号蔬菜基地", harvest))
    certify = sc.certify(
        [sc.ref("NX-QC-1207", "100")],
        certificate_no=CERT,
        product_name="宁乡芹菜",
        origin="宁乡市金洲镇",
        contact="0731-0000",
    )
    coop.record(_at("宁乡市金洲镇合作社", certify))
    shipped = coop.record(
        _at("宁乡市金洲镇合作社", sc.ship([sc.ref("NX-QC-1207", "100")], destination=MARKET))
    )
    receive = sc.receive(
        [sc.ref("NX-QC-1207", "100")],
        source=COOP,
        ship_event=shipped["event_id"],
        result="rejected",
        certificate_no=CERT,
        note=NOTE,
    )
    market.record(_at("马王堆蔬菜批发市场", receive))
    Client(key=keys["regulator"], http=client).record(
        _at("长沙市市场监督管理局", sc.suspend(STALL, reason=SUSPEND_REASON))
    )
    return keys


def _record(client, party: str, key: PartyKey | None = None) -> dict:
    r = client.get(f"/parties/{party}/compliance", headers=_auth(key) if key else {})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_public_summary_counts_on_ledger_items_and_lists_lot_facts_only(client, demo):
    body = _record(client, COOP)
    assert body["audience"] == "public" and body["complete"] is False
    assert body["counts"] == {"failed_test": 1, "recall": 0, "entry_rejected": 1, "suspension": 0}
    assert "refused" not in body["counts"]  # the log cannot prove a refusal: not in the public summary
    (item,) = body["items"]  # the rejection at entry is counted, not listed (custody)
    assert (item["category"], item["lot"], item["recorded_by"]) == (
        "failed_test",
        "NX-XBC-1120",
        PARTIES["lab"][0],
    )
    assert item["reason"] == "有机磷和氨基甲酸酯类农药残留 68.2/50 %抑制率" and item["on_ledger"] is True
    event = client.get(item["evidence"]).json()  # /events/{id}: the signed event, at its ledger index
    assert event["index"] == item["ledger_index"] and event["id"] == item["event_id"]
    assert event["event"]["kind"] == "inspect" and event["event"]["detail"]["result"] == "fail"
    farm = _record(client, FARM)
    assert [(i["category"], i["lot"], i["reason"]) for i in farm["items"]] == [
        ("recall", "ZJ-LJ-1119", "市级抽检检出禁用农药甲拌磷超标")
    ]
    assert farm["complete"] is True
    stall = _record(client, STALL)
    assert [(i["category"], i["reason"], i["recorded_by"]) for i in stall["items"]] == [
        ("suspension", SUSPEND_REASON, REGULATOR)
    ]
    assert _record(client, PARTIES["shop"][0])["counts"] == dict.fromkeys(
        ("failed_test", "recall", "entry_rejected", "suspension"), 0
    )


def test_a_party_sees_its_own_record_in_full_and_anothers_as_the_public(client, demo):
    own = _record(client, COOP, demo["coop"])
    assert own["audience"] == "party" and own["complete"] is True
    assert own["counts"] == {
        "failed_test": 1,
        "recall": 0,
        "entry_rejected": 1,
        "suspension": 0,
        "refused": 1,
    }
    rejected = [i for i in own["items"] if i["category"] == "entry_rejected"]
    assert [(i["lot"], i["recorded_by"], i["reason"], i["reference"]) for i in rejected] == [
        ("NX-QC-1207", MARKET, NOTE, CERT)
    ]
    (refused,) = [i for i in own["items"] if i["category"] == "refused"]
    assert refused["on_ledger"] is False and refused["event_id"] is None and refused["ledger_index"] is None
    assert refused["reference"] == "blocked (inputs[0].lot)" and refused["lot"] == "NX-XBC-1120"
    assert refused["evidence"] == f"/compliance/refusals/{refused['anomaly_id']}"
    # The market reading the coop's record is the public.
    assert _record(client, COOP, demo["market"])["audience"] == "public"
    # The refused attempt as stored: its sender and regulators only.
    for key, status in ((demo["coop"], 200), (demo["regulator"], 200), (demo["market"], 403), (None, 403)):
        r = client.get(refused["evidence"], headers=_auth(key) if key else {})
        assert r.status_code == status, (key, r.text)
    stored = client.get(refused["evidence"], headers=_auth(demo["coop"])).json()
    assert (stored["party"], stored["kind"], stored["lots"]) == (COOP, "ship", ["NX-XBC-1120"])
    assert stored["message"] == refused["reason"]
    assert client.get("/compliance/refusals/99999", headers=_auth(demo["regulator"])).status_code == 404
    r = client.get(f"/compliance/refusals/{2**31}", headers=_auth(demo["regulator"]))  # past the id column
    assert r.status_code == 400 and r.json()["field"] == "anomaly_id"


def test_a_regulator_sees_every_record_in_full(client, demo):
    market = _record(client, MARKET, demo["regulator"])
    assert market["audience"] == "regulator"
    assert [i["category"] for i in market["items"]] == ["refused"]  # story 5: 800 kg out of 500
    assert market["items"][0]["reference"].startswith("mass_balance")
    stall = _record(client, STALL, demo["regulator"])
    assert stall["counts"]["suspension"] == 1


def test_unknown_and_malformed_parties_are_refused_naming_the_field(client, demo):
    r = client.get("/parties/F430124-999999/compliance")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/parties/not a party/compliance")
    assert r.status_code == 400 and r.json()["field"] == "party_id"


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_export_cites_each_rows_evidence_in_zh_csv(client, demo):
    r = client.get("/exports/compliance.csv", headers=_auth(demo["regulator"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = _csv(r.content)
    assert list(rows[0])[:4] == ["主体代码", "主体名称", "记录类型", "时间"]
    assert sorted((x["主体代码"], x["记录类型"]) for x in rows) == sorted(
        [
            (COOP, "检测不合格"),
            (COOP, "入市查验拒收"),
            (COOP, "违规操作被拒绝"),
            (FARM, "产品召回"),
            (MARKET, "违规操作被拒绝"),
            (STALL, "暂停资格"),
        ]
    )
    base = client.app.state.settings.public_url
    for row in rows:
        if row["证据来源"] == "签名账本":
            assert row["证据链接"] == f"{base}/events/{row['事件编号']}"
            event = client.get(f"/events/{row['事件编号']}").json()
            assert event["index"] == int(row["账本序号"])
        else:
            assert (
                row["账本序号"] == ""
                and row["证据链接"] == f"{base}/compliance/refusals/{row['拒绝记录编号']}"
            )
    assert {x["主体名称"] for x in rows if x["主体代码"] == COOP} == {PARTIES["coop"][1]}


def test_the_export_in_english_xlsx_and_json_for_one_party(client, demo):
    h = _auth(demo["regulator"])
    r = client.get("/exports/compliance.xlsx", params={"lang": "en", "party": COOP}, headers=h)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Party ID", "Party", "Record"] and "Compliance" in ws.tables
    rows = [dict(zip(header, [c.value for c in line], strict=True)) for line in ws.iter_rows(min_row=2)]
    assert [x["Record"] for x in rows] == ["Failed test", "Rejected at market entry", "Refused attempt"]
    assert isinstance(rows[0]["Ledger index"], int)
    r = client.get("/exports/compliance.json", params={"lang": "en", "party": COOP}, headers=h)
    body = json.loads(r.content)
    assert r.status_code == 200 and body["log_size"] == client.app.state.log.size
    assert [c["header"] for c in body["columns"]][:2] == ["Party ID", "Party"]
    assert [x["category_code"] for x in body["rows"]] == ["failed_test", "entry_rejected", "refused"]
    assert body["rows"][2]["ledger_index"] is None and isinstance(body["rows"][2]["anomaly_id"], int)


def test_the_export_is_for_regulators_and_checks_its_input(client, demo):
    for headers in ({}, _auth(demo["coop"])):
        assert client.get("/exports/compliance.csv", headers=headers).status_code == 403
    h = _auth(demo["regulator"])
    r = client.get("/exports/compliance.csv", params={"party": "bad party"}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "party"
    r = client.get("/exports/compliance.csv", params={"party": "F430124-999999"}, headers=h)
    assert r.status_code == 404
    assert client.get("/exports/compliance.pdf", headers=h).status_code in (400, 404, 422)
    assert client.get("/exports/compliance.csv", params={"lang": "fr"}, headers=h).status_code in (400, 422)


def test_a_suspended_partys_credentials_are_refused_and_it_reads_the_public_summary(client, demo):
    r = client.get(f"/parties/{STALL}/compliance", headers=_auth(demo["stall"]))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    public = _record(client, STALL)
    assert public["audience"] == "public" and [i["category"] for i in public["items"]] == ["suspension"]
