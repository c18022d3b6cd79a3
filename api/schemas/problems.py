"""The OpenAPI document's error responses, and `_Public`, the base of every answer's model.

Every error the JSON interface answers is an RFC 9457 problem (api/errors.py), so every operation
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

from ..deps import require_regulator

try:  # FastAPI 0.160+ keeps included routers as such; this walks them (with their prefixes)
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copies every route into app.routes

    def iter_route_contexts(routes):
        return iter(routes)


__all__ = ["PROBLEM_JSON", "Problem", "_Public", "api_routes", "install_openapi", "problems"]

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


# Each answer's model describes, in the OpenAPI document, exactly the JSON a route answers. Routes
# set `response_model=XPublic, response_model_exclude_unset=True`: the answer is validated against
# the model (a key the model does not name is an error, `extra="forbid"`, so the document cannot
# fall behind the code) and written with the model's field order, which is the order the keys have
# always had, and without keys the route did not give (the few optional ones, such as a recall
# party's `in_transit`). Quantities are decimal strings, times ISO 8601 text, as everywhere.


class _Public(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
