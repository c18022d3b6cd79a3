"""Every JSON answer described by its `XPublic` model (api/schemas/) is the same JSON, byte for
byte, as the service's answer written the way the routes wrote it before they had models; and
the OpenAPI document names a model for each of them.

The service's reads answer typed answers (trace/reads/): a lot, a trace, a journey and a recall
report carry their JSON form (`to_wire()`); the others are written here, field by field in
order, as the routes wrote them (`_wire`)."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from fastapi.responses import JSONResponse

from farmtrace.api.demo import run_demo
from farmtrace.client import PartyKey


@pytest.fixture
def demo(client, tmp_path):
    result = run_demo(client.app.state.service, tmp_path / "keys")
    regulator = PartyKey.load(tmp_path / "keys" / "regulator.key")
    return client, result, {"Authorization": f"FarmTrace {regulator.token()}"}


def _plain(answer) -> bytes:
    """The bytes FastAPI wrote for a route returning `answer` with no response model."""
    return JSONResponse(answer).body


def _wire(answer):
    """A typed answer (or a list of them) as plain JSON values: its fields in order, tuples as
    lists; a party lists its `keys` only when the read gave them (GET /parties/{id})."""
    if isinstance(answer, list):
        return [_wire(a) for a in answer]
    out = dataclasses.asdict(answer)
    if out.get("keys", ()) is None:
        del out["keys"]
    if out.get("subject_code", ()) is None:  # a party without a 主体码 answers none
        del out["subject_code"]
    return out


def _answers(client, result) -> list[tuple[str, object]]:
    """(path, the service's answer) for each JSON route that reads the service."""
    service, state = client.app.state.service, client.app.state
    consumer, recalled = result["consumer_lot"], result["recalled_lot"]
    # a party whose contact details the desk keeps, so /private answers them, not null
    party = next(p for p in sorted(result["parties"].values()) if state.applications.private(p))
    event_id = service.lot_summary(consumer).head
    signed, index = service.signed_event(event_id)
    out = [
        (f"/lots/{consumer}", service.lot_summary(consumer).to_wire()),
        (f"/lots/{recalled}", service.lot_summary(recalled).to_wire()),
        (f"/lots/{consumer}/trace", service.trace_graph(consumer).to_wire()),
        (
            f"/lots/{recalled}/trace?direction=forward",
            service.trace_graph(recalled, direction="forward").to_wire(),
        ),
        (f"/lots/{consumer}/journey", service.journey_bundle(consumer).to_wire()),
        (f"/lots/{recalled}/journey", service.journey_bundle(recalled).to_wire()),
        (f"/lots/{recalled}/recall", service.recall_report(recalled).to_wire()),
        (f"/lots/{consumer}/recall", service.recall_report(consumer).to_wire()),
        ("/parties", _wire(service.parties())),
        (f"/parties/{party}", _wire(service.party(party))),
        ("/anomalies", _wire(service.anomalies())),
        ("/prices", _wire(service.prices())),
        ("/ledger/audit", state.audit_job.status()),
        ("/parties/applications?status=all", state.applications.list(status=None)),
        (
            f"/parties/{party}/private",
            {**_wire(service.party(party)), "private": state.applications.private(party)},
        ),
        (
            f"/events/{event_id}",
            {
                "id": signed.id,
                "index": index,
                "event": signed.event.to_wire(),
                "signature": base64.b64encode(signed.signature).decode(),
            },
        ),
    ]
    return out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_answer_is_the_services_answer_byte_for_byte(demo):
    client, result, regulator = demo
    answers = _answers(client, result)
    assert any(p.endswith("/recall") and a["parties"] for p, a in answers)  # the demo reaches parties
    assert any(p == "/anomalies" and a for p, a in answers)  # and has refused events
    for path, answer in answers:
        r = client.get(path, headers=regulator)
        assert r.status_code == 200, (path, r.text)
        assert r.content == _plain(answer), path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_recall_party_with_goods_in_transit_keeps_its_optional_key(demo):
    # `in_transit` is given only to a party with goods still on their way to it: the model must
    # neither drop it nor add it (as null) to the others.
    client, result, regulator = demo
    report = client.get(f"/lots/{result['recalled_lot']}/recall", headers=regulator).json()
    expected = client.app.state.service.recall_report(result["recalled_lot"]).to_wire()
    assert [sorted(p) for p in report["parties"]] == [sorted(p) for p in expected["parties"]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_document_names_a_model_for_each_json_answer(client):
    spec = client.get("/openapi.json").json()
    expected = {
        ("get", "/lots/{code}"): "LotPublic",
        ("get", "/lots/{code}/trace"): "TraceGraphPublic",
        ("get", "/lots/{code}/journey"): "JourneyPublic",
        ("get", "/lots/{code}/recall"): "RecallReportPublic",
        ("get", "/parties/{party_id}"): "PartyPublic",
        ("get", "/events/{event_id}"): "EventPublic",
        ("get", "/ledger/health"): "LedgerHealthPublic",
        ("get", "/ledger/audit"): "AuditStatusPublic",
        ("post", "/ledger/audit"): "AuditStatusPublic",
        ("get", "/parties/{party_id}/private"): "PartyPrivatePublic",
        ("post", "/parties/applications"): "ApplicationPublic",
        ("post", "/parties/applications/{application_id}/reject"): "ApplicationPublic",
    }
    for (method, path), model in expected.items():
        responses = spec["paths"][path][method]["responses"]
        ok = responses.get("200") or responses.get("201") or responses["202"]
        assert ok["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}, path
    listed = (
        ("/parties", "PartyPublic"),
        ("/anomalies", "AnomalyPublic"),
        ("/prices", "PriceRowPublic"),
        ("/parties/applications", "ApplicationPublic"),
    )
    for path, model in listed:
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["items"] == {"$ref": f"#/components/schemas/{model}"}, path
