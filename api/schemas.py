"""Wire models: the `XPublic` model of every JSON answer, and the OpenAPI document's error responses.

Answers: each JSON route names its model (`response_model=XPublic`), so /openapi.json describes
what it answers and schemathesis (tests/api/test_openapi.py) holds the routes to it; the models
keep the keys and their order exactly as the routes wrote them before (tests/api/test_answers.py
compares the bytes). The module runs past 400 lines because it is the one list of answers, read
beside /openapi.json; its models are plain declarations.

Errors: every error the JSON interface answers is an RFC 9457 problem (api/errors.py), so every operation
documents its error statuses as `application/problem+json` with the one `Problem` schema:

- routes name the statuses only they can answer with `responses=problems(404, 422, ...)`;
- `install_openapi` adds those every operation of a kind answers: 400 (invalid-parameter) for any
  operation with parameters or a body, 404 for any with a path parameter naming a resource (all
  but a format), 403 for the regulator's operations (RegulatorDep), 413 for
  request bodies when the app limits their size; and it removes FastAPI's default 422
  `HTTPValidationError`, since a request that fails validation is answered 400 problem+json.

The pages people see (web/) answer HTML and are not part of the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from .deps import require_regulator

try:  # FastAPI 0.160+ keeps included routers as such; this walks them (with their prefixes)
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copies every route into app.routes

    def iter_route_contexts(routes):
        return iter(routes)


__all__ = [
    "PROBLEM_JSON",
    "AffectedLotPublic",
    "AnomalyPublic",
    "ApplicationPublic",
    "AuditRunPublic",
    "AuditStatusPublic",
    "BatchPublic",
    "BatchResultPublic",
    "EventPublic",
    "HolderPublic",
    "JourneyEventPublic",
    "JourneyKeyPublic",
    "JourneyPublic",
    "JourneyRecallPublic",
    "LedgerHealthPublic",
    "LotEventPublic",
    "LotPublic",
    "LotStatusPublic",
    "PartyKeyPublic",
    "PartyPrivatePublic",
    "PartyPublic",
    "PriceRowPublic",
    "Problem",
    "ProductPublic",
    "ProvenEntryPublic",
    "QuantityOfLotPublic",
    "RecallPartyPublic",
    "RecallReportPublic",
    "ReceiptPublic",
    "ShipmentLinePublic",
    "TraceEdgePublic",
    "TraceGraphPublic",
    "TraceNodePublic",
    "_Public",
    "api_routes",
    "install_openapi",
    "problems",
]

PROBLEM_JSON = "application/problem+json"
_REF = {"$ref": "#/components/schemas/Problem"}
_MEANING = {
    400: "Invalid request: a parameter or body field is malformed or out of range (`field` names it)",
    401: "A signature or the key it claims does not verify (`WWW-Authenticate` names the scheme)",
    403: "Needs a regulator's credentials: `Authorization: FarmTrace <token>`",
    404: "No such resource",
    405: "Method not allowed (`Allow` lists the methods)",
    409: "The log's stored state contradicts a checkpoint it signed",
    413: "The request body is larger than the service accepts",
    422: "Well formed, but refused by a rule (`rule` names it) or a verification",
    429: "Too many requests (`Retry-After` says when to try again)",
    503: "The log could not append just now; try again",
}


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for people and programs."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI of the problem type; the service serves a description at it")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(ge=400, le=599, description="the HTTP status")
    detail: str = Field(description="what was expected and what was found")
    field: str | None = Field(default=None, description="the offending field or parameter, if any")
    rule: str | None = Field(default=None, description="the traceability rule that refused, if any")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route for error `statuses`, each an application/problem+json Problem."""
    return {s: {"description": _MEANING[s], "content": {PROBLEM_JSON: {"schema": _REF}}} for s in statuses}


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every FastAPI route of `app`, routers included, each with its full `path_format`, `path`,
    `methods`, `dependant` and `include_in_schema`."""
    for route in iter_route_contexts(app.routes):
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _needs_regulator(route: APIRoute) -> bool:
    todo = [route.dependant]
    while todo:
        dependant = todo.pop()
        if dependant.call is require_regulator:
            return True
        todo.extend(dependant.dependencies)
    return False


def _is_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/HTTPValidationError")


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` document the error responses the service really gives (module docstring).

    Call it after every router and middleware is added: 413 is documented for request bodies when a
    body-size limit (a middleware from an `api.limits` module) is installed.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        limited = any(m.cls.__module__.endswith(".limits") for m in app.user_middleware)
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods:
                op = schema["paths"][route.path_format][method.lower()]
                responses = op.setdefault("responses", {})
                for status in [s for s, r in responses.items() if s == "422" and _is_validation_error(r)]:
                    del responses[status]
                extra = []
                if op.get("parameters") or "requestBody" in op:
                    extra.append(400)
                if any(p["in"] == "path" and p["name"] != "fmt" for p in op.get("parameters", [])):
                    extra.append(404)  # a path names a resource, which may not exist
                if _needs_regulator(route):
                    extra.append(403)
                if limited and "requestBody" in op:
                    extra.append(413)
                for status, response in problems(*extra).items():
                    responses.setdefault(str(status), response)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


# --- the answers: one `XPublic` model per JSON answer ---------------------------------------------
#
# Each describes, in the OpenAPI document, exactly the JSON a route answers today. Routes set
# `response_model=XPublic, response_model_exclude_unset=True`: the answer is validated against the
# model (a key the model does not name is an error, `extra="forbid"`, so the document cannot fall
# behind the code) and written with the model's field order, which is the order the keys have
# always had, and without keys the route did not give (the few optional ones, such as a recall
# party's `in_transit`). Quantities are decimal strings, times ISO 8601 text, as everywhere.


class _Public(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReceiptPublic(_Public):
    """POST /events (and each accepted entry of a batch): where the event is in the log, with an
    inclusion proof (base64 hashes) against the signed checkpoint of `size` entries."""

    event_id: str
    index: int
    leaf_hash: str
    size: int
    checkpoint: str
    proof: list[str]
    duplicate: bool = Field(description="true if the event was already recorded (the first receipt)")


class BatchResultPublic(_Public):
    """One entry of a batch, in order: accepted with its receipt, or refused with a problem."""

    ok: bool
    receipt: ReceiptPublic | None = None
    problem: Problem | None = None


class BatchPublic(_Public):
    """POST /events/batch."""

    accepted: int = Field(description="how many entries were recorded (or were already recorded)")
    results: list[BatchResultPublic]


class LotStatusPublic(_Public):
    """A lot's status flags (rules: failed inspection, recalled, rejected at receipt, cleared)."""

    failed: bool
    recalled: bool
    rejected: bool
    cleared: bool


class ProductPublic(_Public):
    """What a lot is: its product as recorded (the optional fields only when recorded)."""

    name_zh: str
    name_en: str | None = None
    gtin: str | None = None
    variety: str | None = None
    category: str | None = None


class LotEventPublic(_Public):
    """An event naming a lot: its id, ledger index and the lot's role in it (input or output)."""

    id: str
    index: int
    role: str


class LotPublic(_Public):
    """GET /lots/{code}: a lot's public state."""

    code: str
    product: ProductPublic
    quantity: str
    unit: str
    created_by: str
    created_at: str
    head: str = Field(description="id of the last event on the lot")
    status: LotStatusPublic
    parents: list[str]
    children: list[str]
    holders: dict[str, str] = Field(description="party id -> quantity held")
    events: list[LotEventPublic]


class HolderPublic(_Public):
    party: str
    name: str | None
    quantity: str


class TraceNodePublic(_Public):
    """A lot in a lineage graph."""

    lot: str
    product: str
    product_en: str | None
    quantity: str
    unit: str
    created_by: str
    created_by_name: str | None
    created_at: str
    origin: bool = Field(description="true if the lot was made from no other lot")
    status: LotStatusPublic
    holders: list[HolderPublic]
    direction: str = Field(description="self, back (an ancestor) or forward (a descendant)")


class TraceEdgePublic(_Public):
    """Parent lot -> child lot, with how much of the parent went into the child."""

    from_: str = Field(alias="from")
    to: str
    quantity: str | None


class TraceGraphPublic(_Public):
    """GET /lots/{code}/trace: the lineage graph."""

    lot: str
    direction: str
    nodes: list[TraceNodePublic]
    edges: list[TraceEdgePublic]
    origins: list[str]


class AffectedLotPublic(_Public):
    lot: str
    product: str
    product_en: str | None
    quantity: str
    unit: str
    recalled: bool
    sold: str
    destroyed: str


class QuantityOfLotPublic(_Public):
    lot: str
    quantity: str
    unit: str


class RecallPartyPublic(_Public):
    """A party a recall reaches: what it holds and, if any, what is still on its way to it."""

    party: str
    name: str | None
    lots: list[QuantityOfLotPublic]
    in_transit: list[QuantityOfLotPublic] | None = None


class ShipmentLinePublic(_Public):
    ship_event: str
    lot: str
    from_: str = Field(alias="from")
    from_name: str | None
    to: str
    to_name: str | None
    shipped: str
    received: str
    outstanding: str
    unit: str


class RecallReportPublic(_Public):
    """GET /lots/{code}/recall: everything a recall of the lot reaches."""

    lot: str
    affected_lots: list[AffectedLotPublic]
    parties: list[RecallPartyPublic]
    shipments: list[ShipmentLinePublic]


class ProvenEntryPublic(_Public):
    """A ledger entry (base64; null if the row is gone) with its leaf hash and inclusion proof."""

    index: int
    entry: str | None
    leaf_hash: str | None
    proof: list[str]


class JourneyEventPublic(ProvenEntryPublic):
    id: str
    kind: str
    party: str
    party_name: str | None
    event: dict[str, Any] | None = Field(description="the decoded event; null if the entry no longer decodes")


class JourneyKeyPublic(_Public):
    party: str
    public_key: str
    registered_in: ProvenEntryPublic | None


class JourneyRecallPublic(_Public):
    id: str
    lot: str
    time: str
    reason: str
    instructions: str


class JourneyPublic(_Public):
    """GET /lots/{code}/journey: what a browser needs to check a lot's history (verify.js reads it)."""

    lot: str
    product: ProductPublic
    quantity: str
    unit: str
    status: LotStatusPublic
    lots: list[str]
    events: list[JourneyEventPublic]
    keys: dict[str, JourneyKeyPublic] = Field(description="key id -> the key and where it was registered")
    checkpoint: str
    size: int
    log_key: str
    recalls: list[JourneyRecallPublic]


class PartyKeyPublic(_Public):
    key_id: str
    active_from: str
    revoked_at: str | None


class PartyPublic(_Public):
    """A party on the public record (GET /parties lists them; GET /parties/{id} adds `keys`)."""

    id: str
    id_type: str
    name_zh: str
    name_en: str | None
    roles: list[str]
    address: str
    status: str
    registered_at: str
    keys: list[PartyKeyPublic] | None = None


class PartyPrivatePublic(PartyPublic):
    """GET /parties/{id}/private (regulators): the public record plus the contact details the desk
    keeps (null if it keeps none)."""

    private: dict[str, str] | None


class ApplicationPublic(_Public):
    """An application at the enrolment desk (POST, GET /parties/applications, .../reject)."""

    id: int
    kind: str = Field(description="register or key")
    party_id: str
    record: dict[str, Any] = Field(description="the party record, or {party_id, key_id, public_key}")
    key_id: str
    submitted_at: str
    status: str = Field(description="pending, approved or rejected")
    decided_at: str | None
    decided_by: str | None
    note: str | None
    private: dict[str, Any] | None = Field(description="the contact details filed with it, if any")


class AnomalyPublic(_Public):
    """GET /anomalies: an event a rule refused, kept with the rule and the event as submitted."""

    id: int
    at: str
    party: str
    kind: str
    rule: str
    field: str | None
    message: str
    lots: list[str]
    event_id: str
    event: dict[str, Any] = Field(description="the refused event as submitted")


class EventPublic(_Public):
    """GET /events/{id}: an accepted event, its ledger index and its signature (base64)."""

    id: str
    index: int
    event: dict[str, Any]
    signature: str


class PriceRowPublic(_Public):
    """GET /prices: the prices of one day, product, stage and unit."""

    day: str
    product: str
    stage: str
    unit: str
    count: int
    min: str
    mean: str
    max: str


class AuditRunPublic(_Public):
    id: int
    started_at: str
    finished_at: str | None
    requested_by: str
    done: int
    total: int
    ok: bool | None
    summary: str | None
    failures: list[Any]


class AuditStatusPublic(_Public):
    """GET/POST /ledger/audit: the running full audit, if any, and the last finished one."""

    running: AuditRunPublic | None
    last: AuditRunPublic | None


class LedgerHealthPublic(_Public):
    """GET /ledger/health: the latest checkpoint opened with the log's key and the trusted witnesses."""

    origin: str
    size: int
    root: str
    signed_at: str
    checkpoint: str
    log_key: str
    witnesses: list[str]
    unverified_cosignatures: list[str]
    audit: AuditStatusPublic
