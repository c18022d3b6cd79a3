"""The OpenAPI document says what the server does: error answers are problem+json with the statuses
really given, no FastAPI 422 that the server never sends, and schemathesis (in process, bounded)
finds no answer the document does not describe."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings

from farmtrace.api.demo import run_demo
from farmtrace.client import PartyKey

PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items() if m in METHODS]


def test_no_operation_documents_fastapi_validation_errors(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, op in _operations(spec):
        assert "422" not in op["responses"] or "HTTPValidationError" not in str(op["responses"]["422"]), (
            method,
            path,
        )


def test_every_error_status_is_documented_as_problem_json(client):
    spec = client.get("/openapi.json").json()
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    statuses: set[str] = set()
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            if status[0] in "45":
                statuses.add(status)
                content = response.get("content", {})
                assert set(content) == {PROBLEM}, (method, path, status)
                assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if op.get("parameters") or "requestBody" in op:
            assert "400" in op["responses"], (method, path)
    assert {"400", "401", "403", "404", "409", "413", "422"} <= statuses


def test_specific_operations_document_their_statuses(client):
    spec = client.get("/openapi.json").json()

    def documented(method: str, path: str) -> set[str]:
        return set(spec["paths"][path][method]["responses"])

    assert {"400", "401", "409", "422", "503"} <= documented("post", "/events")
    assert {"400", "403"} <= documented("get", "/exports/events.{fmt}")
    assert {"404"} <= documented("get", "/lots/{code}")
    assert {"404"} <= documented("get", "/ledger/proof/consistency")
    assert {"409", "413", "503"} <= documented("post", "/events/batch")


def test_the_documented_statuses_are_what_the_server_answers(client):
    # A few answers checked by hand, so that the documented statuses are not just declared.
    assert client.get("/lots/NO-SUCH-LOT").status_code == 404
    r = client.get("/ledger/proof/inclusion", params={"index": "x", "size": 1})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    assert client.post("/events", json={"entry": "@@@"}).status_code == 400
    assert client.get("/exports/events.csv", params={"since": "x", "until": "y"}).status_code in (400, 403)


# --- schemathesis: every operation, positive cases, against the ASGI app in process ---------------


@pytest.fixture
def demo_client(client, tmp_path):
    run_demo(client.app.state.service, tmp_path / "keys")
    return client, PartyKey.load(tmp_path / "keys" / "regulator.key")


@pytest.mark.slow
def test_schemathesis_finds_the_server_as_documented(demo_client):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    client, regulator = demo_client
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    started = time.monotonic()
    failures, calls = [], []
    for operation in operations:
        if operation.method.upper() == "POST" and operation.path == "/ledger/audit":
            continue  # starts a background audit per example: its answers are covered by test_console_api

        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            # A regulator's token on every request: regulator-only operations are exercised past
            # their 403 (the token lives minutes, so each example signs its own).
            response = case.call_and_validate(
                headers={"Authorization": f"FarmTrace {regulator.token()}"}, checks=checks
            )
            calls.append(response.status_code)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
    assert len(calls) >= 3 * len(operations) and {200, 400, 404} <= set(calls)  # it did exercise them
    assert time.monotonic() - started < 60
