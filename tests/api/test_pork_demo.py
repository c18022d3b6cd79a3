"""The demo's pork story (api/demo.py, issue 20 §5) over HTTP: every step of it was accepted, the
rules refused nothing but the demo's two staged attempts, and a demo-like carcass lot without the
veterinarian's 动物检疫合格证明 for products is refused at the wholesale market's entry check, through
POST /events with the demo's own party keys (what the portal and the CLI send)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from farmtrace.api.demo import EAR_TAGS, PARTIES, PIGS, PORK, PORK_LOT, run_demo
from farmtrace.client import Client, ClientError, PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME

# The pork lot's journey, harvest of the pigs to the stall's sale (the kinds, and a transform's type).
CHAIN = [
    ("harvest", "pigfarm"),
    ("quarantine", "vet"),
    ("ship", "pigfarm"),
    ("receive", "abattoir"),
    ("transform:slaughter", "abattoir"),
    ("quarantine", "vet"),
    ("ship", "abattoir"),
    ("receive", "market"),
    ("transform:split", "market"),
    ("ship", "market"),
    ("receive", "porkstall"),
    ("sell", "porkstall"),
]


@pytest.fixture
def demo(client, tmp_path):
    result = run_demo(client.app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    return client, result, keys


def _kind(event: dict) -> str:
    kind = event["kind"]
    return f"{kind}:{event['detail']['type']}" if kind == "transform" else kind


def test_the_pork_chain_is_all_accepted_and_nothing_unexpected_refused(demo):
    client, result, keys = demo
    assert result["pork_lot"] == PORK_LOT
    journey = client.get(f"/lots/{PORK_LOT}/journey")
    assert journey.status_code == 200, journey.text
    events = [e["event"] for e in journey.json()["events"]]
    by = {pid: name for name, (pid, *_) in PARTIES.items()}
    assert [(_kind(e), by[e["party"]]) for e in events] == CHAIN
    # The certificates the receipts name are the ones the veterinarian and the slaughterhouse issued.
    certs = result["livestock_certificates"]
    quarantines = [e["detail"] for e in events if e["kind"] == "quarantine"]
    assert [(q["form"], q["certificate_no"]) for q in quarantines] == [
        ("animal_b", certs["animal"]),
        ("product_b", certs["product"]),
    ]
    assert quarantines[0]["ear_tags"] == EAR_TAGS and quarantines[0]["purpose"] == "屠宰"
    (slaughter,) = [e for e in events if _kind(e) == "transform:slaughter"]
    assert slaughter["detail"]["certificate_no"] == certs["meat"]
    checked = [e["detail"]["entry_check"]["certificate_no"] for e in events if e["kind"] == "receive"]
    assert checked == [certs["animal"], certs["product"], certs["product"]]
    # Live weight ~115 kg a head, the carcass 75 % of it.
    harvested = events[0]["outputs"][0]
    assert harvested["unit"] == "head" and harvested["ear_tags"] == EAR_TAGS
    weight = float(harvested["live_weight"])
    assert 100 <= weight / len(EAR_TAGS) <= 130
    carcass = sum(float(o["quantity"]) for o in slaughter["outputs"])
    assert 0.72 <= carcass / weight <= 0.78
    # The rules refused only the demo's two staged attempts, neither of them in the pork story.
    regulator = {"Authorization": f"FarmTrace {keys['regulator'].token()}"}
    anomalies = client.get("/anomalies", headers=regulator)
    assert anomalies.status_code == 200, anomalies.text
    refused = sorted((a["rule"], by[a["party"]]) for a in anomalies.json())
    assert refused == sorted([("blocked", "coop"), ("mass_balance", "market")])
    assert sorted(result["refused"]) == ["blocked", "mass_balance"]


def test_carcasses_without_a_product_certificate_are_refused_at_market_entry(demo):
    client, _, keys = demo
    clients = {name: Client(http=client, key=key) for name, key in keys.items()}
    pid = {name: p[0] for name, p in PARTIES.items()}
    names = {name: p[1] for name, p in PARTIES.items()}
    at = iter(
        (client.app.state.service.clock() - timedelta(hours=2) + timedelta(minutes=5 * n)).astimezone(
            CHINA_STANDARD_TIME
        )
        for n in range(20)
    )

    def record(who: str, wire: dict) -> dict:
        wire = {"location": {"name": names[who]}, "inputs": [], "outputs": [], **wire}
        return clients[who].record({**wire, "event_time": next(at).isoformat(timespec="seconds")})

    tags = ["143018200000091", "143018200000092"]
    pigs, carcasses = "NX-HZ-TEST-1", "NXTZ-BT-TEST-1"
    head = [{"lot": pigs, "quantity": "2", "unit": "head"}]
    meat = [{"lot": carcasses, "quantity": "172.5", "unit": "kg"}]
    animals = {"lot": pigs, "quantity": "2", "unit": "head", "product": PIGS, "ear_tags": tags}
    harvest = {"origin": {"name": "花明楼镇 花猪养殖场 3 号栏舍"}}
    record("pigfarm", {"kind": "harvest", "outputs": [{**animals, "live_weight": "230"}], "detail": harvest})
    quarantine = {
        "certificate_no": "4301820009001",
        "owner": names["pigfarm"],
        "species": "猪",
        "origin": PARTIES["pigfarm"][4],
        "destination": names["abattoir"],
        "valid_days": "1",
        "official_vet": "谢志刚",
    }
    animal_b = {**quarantine, "form": "animal_b", "purpose": "屠宰", "ear_tags": tags}
    record("vet", {"kind": "quarantine", "inputs": head, "detail": animal_b})
    shipped = record("pigfarm", {"kind": "ship", "inputs": head, "detail": {"destination": pid["abattoir"]}})
    check = {"result": "accepted", "certificate_no": "4301820009001"}
    detail = {"source": pid["pigfarm"], "ship_event": shipped["event_id"], "entry_check": check}
    record("abattoir", {"kind": "receive", "inputs": head, "detail": detail})
    slaughter = {"type": "slaughter", "live_weight": "230", "certificate_no": "RP-430182-TEST-001"}
    out = {"lot": carcasses, "quantity": "172.5", "unit": "kg", "product": PORK}
    record("abattoir", {"kind": "transform", "inputs": head, "outputs": [out], "detail": slaughter})
    # No 产品B: the slaughterhouse ships the carcasses anyway, and the market checks them at entry.
    shipped = record("abattoir", {"kind": "ship", "inputs": meat, "detail": {"destination": pid["market"]}})
    check = {"result": "accepted", "certificate_no": "RP-430182-TEST-001"}
    receipt = {"source": pid["abattoir"], "ship_event": shipped["event_id"], "entry_check": check}
    before = client.app.state.service.log.size
    with pytest.raises(ClientError) as refused:
        record("market", {"kind": "receive", "inputs": meat, "detail": receipt})
    problem = refused.value.problem
    assert 400 <= refused.value.status < 500 and refused.value.status == problem["status"]
    assert problem["type"].endswith("/rule-violation") and problem["rule"] == "quarantine", problem
    assert problem["field"] == "inputs[0].lot" and "产品" in problem["detail"], problem
    assert client.app.state.service.log.size == before  # nothing recorded
    regulator = {"Authorization": f"FarmTrace {keys['regulator'].token()}"}
    kept = client.get("/anomalies", params={"rule": "quarantine"}, headers=regulator).json()
    assert [(a["party"], a["lots"]) for a in kept] == [(pid["market"], [carcasses])]

    # With the veterinarian's 产品B on the carcasses, the same receipt is accepted.
    product_b = {**quarantine, "certificate_no": "4301820009002", "form": "product_b"}
    product_b |= {"owner": names["abattoir"], "product_name": PORK["name_zh"], "destination": names["market"]}
    record("vet", {"kind": "quarantine", "inputs": meat, "detail": product_b})
    check = {"result": "accepted", "certificate_no": "4301820009002"}
    assert record("market", {"kind": "receive", "inputs": meat, "detail": {**receipt, "entry_check": check}})
