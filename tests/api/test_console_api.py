"""The console's and portal's JSON backends: ledger health and audits, prices, exports, enrollment."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft7Validator
from openpyxl import load_workbook
from sqlalchemy import create_engine

from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.api.routes.console import REGULATORS_ONLY
from farmtrace.client import PartyKey
from farmtrace.trace.applications import pop_message

from ..conftest import STANDARDS


@pytest.fixture
def demo(client, tmp_path):
    result = run_demo(client.app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    return result, keys


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token()}"}


REGULATOR_ROUTES = [
    ("post", "/ledger/audit"),
    ("get", "/exports/events.csv?since=2020-01-01T00:00:00%2B08:00&until=2030-01-01T00:00:00%2B08:00"),
    ("get", "/lots/XF-BAG-0001/export.xlsx"),
    ("get", "/parties/applications"),
    ("post", "/parties/applications/1/reject"),
]


@pytest.mark.parametrize(("method", "url"), REGULATOR_ROUTES)
def test_regulator_routes_refuse_everyone_else(client, demo, method, url):
    _, keys = demo
    for headers in ({}, _auth(keys["shop"]), {"Authorization": "Bearer nonsense"}):
        r = getattr(client, method)(
            url, headers=headers, **({"json": {"note": "x"}} if method == "post" else {})
        )
        assert r.status_code == 403, (url, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_health_and_a_full_audit_with_progress(client, demo, database_url):
    _, keys = demo
    health = client.get("/ledger/health").json()
    assert health["size"] == client.app.state.log.size and health["audit"]["last"] is None
    r = client.post("/ledger/audit", headers=_auth(keys["regulator"]))
    assert r.status_code == 202
    client.app.state.audit_job.wait(60)
    last = client.get("/ledger/audit").json()["last"]
    assert (
        last["ok"] is True
        and last["done"] == health["size"]
        and last["requested_by"] == PARTIES["regulator"][0]
    )
    # Tamper, audit again: the console names the entry.
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE ledger_entry SET entry = entry || "
            + ("x'20'" if database_url.startswith("sqlite") else "'\\x20'::bytea")
            + " WHERE idx = 5"
        )
    engine.dispose()
    client.post("/ledger/audit", headers=_auth(keys["regulator"]))
    client.app.state.audit_job.wait(60)
    last = client.get("/ledger/health", headers=_auth(keys["regulator"])).json()["audit"]["last"]
    assert last["ok"] is False and "entry 5 " in last["summary"]
    assert last["failures"][0]["index"] == 5 and last["failures"][0]["message"] != REGULATORS_ONLY
    # The public is told that the audit failed and where, not the failure's words (a replay's can
    # quote a holding row: custody, docs/visibility.md).
    for shown in (
        client.get("/ledger/health").json()["audit"]["last"],
        client.get("/ledger/audit").json()["last"],
    ):
        assert shown["ok"] is False and shown["summary"] == f"FAILED at entry 5: {REGULATORS_ONLY}"
        assert shown["failures"][0]["index"] == 5
        assert {f["message"] for f in shown["failures"]} == {REGULATORS_ONLY}


def test_prices_by_stage(client, demo):
    prices = client.get("/prices", params={"product": "宁乡包菜"}).json()
    # The 1 kg bags are the same product, so their retail sale is on the same chart.
    assert {p["stage"] for p in prices} == {"production", "wholesale", "retail"}
    assert [p["mean"] for p in prices if p["stage"] == "production"] == ["1.20"]
    assert client.get("/prices", params={"since": "2026-01-01T00:00:00"}).status_code == 400


def test_exports_csv_xlsx_and_epcis(client, demo):
    _, keys = demo
    now = datetime.now(UTC)
    params = {"since": (now - timedelta(days=90)).isoformat(), "until": (now + timedelta(days=1)).isoformat()}
    h = _auth(keys["regulator"])
    r = client.get("/exports/events.csv", params=params, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["事件时间", "事件类型", "业务步骤", "批次号"]
    assert any(row[3] == "XF-BAG-0001" and row[1] == "sell" for row in table[1:])
    r = client.get("/exports/events.xlsx", params={**params, "lang": "en"}, headers=h)
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A1"].value == "Event time" and ws.max_row == len(table)
    assert "Events" in ws.tables
    r = client.get("/exports/events.jsonld", params=params, headers=h)
    schema = json.loads((STANDARDS / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    errors = list(Draft7Validator(schema).iter_errors(r.json()))
    assert not errors, errors[0].message
    r = client.get("/lots/XF-BAG-0001/export.csv", headers=h)
    lots = {row[3] for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert {"NX-BC-1120", "MWD-BC-01", "XF-BAG-0001"} <= lots
    bad = client.get(
        "/exports/events.csv", params={"since": params["until"], "until": params["since"]}, headers=h
    )
    assert bad.status_code == 400 and bad.json()["field"] == "until"


def _application(key: PartyKey, name: str = "长沙县果蔬合作社"):
    record = {
        "id": key.party,
        "id_type": "uscc",
        "name_zh": name,
        "roles": ["producer"],
        "address": "湖南省长沙县",
        "keys": [key.public_record_key()],
        "contact_commitment": "ab" * 32,
    }
    proof = base64.b64encode(key._key.sign(pop_message("register", key.party, record))).decode()
    return {"kind": "register", "record": record, "proof": proof}


def test_enrollment_apply_approve_and_reject(client, demo):
    _, keys = demo
    from farmtrace.trace.model.ids import uscc_check_char

    applicant = PartyKey.generate("91430121MA4L9999" + "9" + uscc_check_char("91430121MA4L99999"))
    body = _application(applicant)
    r = client.post("/parties/applications", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    # A proof by another key, or a second pending application, is refused.
    forged = dict(body, proof=_application(PartyKey.generate(applicant.party))["proof"])
    assert client.post("/parties/applications", json=forged).status_code == 401
    assert client.post("/parties/applications", json=body).status_code == 400
    pending = client.get("/parties/applications", headers=_auth(keys["regulator"])).json()
    assert [a["party_id"] for a in pending] == [applicant.party]
    # The regulator approves by signing the registration (in the portal, in the browser).
    from farmtrace.client import Client

    Client(key=keys["regulator"], http=client).record(
        {"kind": "party.register", "location": {"name": "登记窗口"}, "detail": {"party": body["record"]}}
    )
    done = client.get(
        "/parties/applications", params={"status": "all"}, headers=_auth(keys["regulator"])
    ).json()
    assert done[0]["status"] == "approved" and done[0]["decided_by"] == PARTIES["regulator"][0]
    # A second applicant is rejected.
    other = PartyKey.generate("91430121MA4L8888" + "8" + uscc_check_char("91430121MA4L88888"))
    app_id = client.post("/parties/applications", json=_application(other, "某某公司")).json()["id"]
    r = client.post(
        f"/parties/applications/{app_id}/reject",
        json={"note": "营业执照不清晰"},
        headers=_auth(keys["regulator"]),
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (
        client.post(
            f"/parties/applications/{app_id}/reject", json={"note": "again"}, headers=_auth(keys["regulator"])
        ).status_code
        == 404
    )


def test_contact_details_stay_off_the_public_record(client, demo):
    _, keys = demo
    coop = PARTIES["coop"][0]
    public = client.get(f"/parties/{coop}").text
    assert "0731" not in public and "联系人" not in public
    assert client.get(f"/parties/{coop}/private").status_code == 403
    assert client.get(f"/parties/{coop}/private", headers=_auth(keys["shop"])).status_code == 403
    full = client.get(f"/parties/{coop}/private", headers=_auth(keys["regulator"])).json()
    assert full["private"]["phone"].startswith("0731-8888")
    # Details that do not match the ledger's commitment are refused.
    r = client.put(
        f"/parties/{coop}/private",
        json={"details": {"phone": "110"}, "salt": "00" * 16},
        headers=_auth(keys["regulator"]),
    )
    assert r.status_code == 400 and r.json()["field"] == "private"


def test_an_application_carries_private_details_checked_against_the_commitment(client, demo):
    import secrets

    from farmtrace.trace.applications import contact_commitment
    from farmtrace.trace.model.ids import uscc_check_char

    _, keys = demo
    applicant = PartyKey.generate("91430121MA4L7777" + "7" + uscc_check_char("91430121MA4L77777"))
    details, salt = {"contact": "王五", "phone": "13800000000"}, secrets.token_bytes(16)
    body = _application(applicant)
    body["record"]["contact_commitment"] = contact_commitment(details, salt)
    body["proof"] = base64.b64encode(
        applicant._key.sign(pop_message("register", applicant.party, body["record"]))
    ).decode()
    wrong = {**body, "private": {"details": {**details, "phone": "1"}, "salt": salt.hex()}}
    assert client.post("/parties/applications", json=wrong).status_code == 400
    r = client.post(
        "/parties/applications", json={**body, "private": {"details": details, "salt": salt.hex()}}
    )
    assert r.status_code == 201
    from farmtrace.client import Client

    Client(key=keys["regulator"], http=client).record(
        {"kind": "party.register", "location": {"name": "登记窗口"}, "detail": {"party": body["record"]}}
    )
    client.get("/parties/applications", headers=_auth(keys["regulator"]))  # settles approvals
    full = client.get(f"/parties/{applicant.party}/private", headers=_auth(keys["regulator"])).json()
    assert full["private"] == details


def test_the_token_cookie_authorises_reads_but_never_writes(client, demo):
    _, keys = demo
    token = keys["regulator"].token()
    client.cookies.set("ft_token", token)
    try:
        assert client.get("/anomalies").status_code == 200
        assert client.post("/ledger/audit").status_code == 403  # a cookie alone cannot act
        assert client.post("/ledger/audit", headers=_auth(keys["regulator"])).status_code == 202
    finally:
        client.cookies.clear()
        client.app.state.audit_job.wait(60)
