"""An EPCIS 2.0 event query (SimpleEventQuery, EPCIS 2.0 §8.2.7.1): its parameters, parsed strictly,
and the test of one EPCIS event against them.

parse_query(params)      -> EventQuery    from name -> [values]; raises QueryParameterException
format_query(query)      -> {name: value} the JSON form (named queries, page tokens); parses back equal
matches(query, event)    -> bool          the query's test of one EPCIS 2.0 JSON event

The REST binding sends list parameters pipe-delimited (`EQ_bizStep=shipping|receiving`, the
OpenAPI's `style: pipeDelimited`); a named query's JSON body gives them as arrays; `parse_query`
takes both (a string is split on "|"). A parameter this service does not support, or does not know,
is refused (§8.2.7.1: "an unrecognized parameter name SHALL raise a QueryParameterException"), never
ignored: ignoring it would widen the answer.

Lots are quantities of a class, so farmtrace's events carry EPC classes (`quantityList`,
`inputQuantityList`, `outputQuantityList`), never instance EPCs: `MATCH_epc`, `MATCH_parentID`,
`MATCH_inputEPC`, `MATCH_outputEPC` and `MATCH_anyEPC` are supported and, correctly, match no
farmtrace event; `MATCH_*EPCClass` match lots. URIs match exactly (§8.2.7.1.1's `idpat` patterns
need pure-identity EPC URNs, which farmtrace does not issue). CBV values match in bare-word or
URI form (`shipping`, `https://ref.gs1.org/cbv/BizStep-shipping`, `urn:epcglobal:cbv:bizstep:shipping`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..errors import InvalidEvent, NotFound, TraceError

__all__ = [
    "EVENT_TYPES",
    "UNSUPPORTED",
    "EventQuery",
    "NoSuchResourceException",
    "QueryParameterException",
    "QueryTooLargeException",
    "ResourceAlreadyExistsException",
    "format_query",
    "matches",
    "parse_count",
    "parse_query",
]

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)


class QueryParameterException(InvalidEvent):
    """A query parameter is unknown, unsupported or malformed; `field` names it (EPCIS: 400)."""

    epcis_exception = "QueryParameterException"


class NoSuchResourceException(NotFound):
    """No such event, named query or event type (EPCIS: 404)."""

    epcis_exception = "NoSuchResourceException"


class QueryTooLargeException(TraceError):
    """More events match than `maxEventCount` allows, or than the service scans for one query (413)."""

    epcis_exception = "QueryTooLargeException"


class ResourceAlreadyExistsException(TraceError):
    """A named query with this name exists already (409)."""

    epcis_exception = "ResourceAlreadyExistsException"


@dataclass(frozen=True)
class EventQuery:
    """The parameters of one query; an empty tuple or None means "no condition"."""

    eventType: tuple[str, ...] = ()
    GE_eventTime: datetime | None = None
    LT_eventTime: datetime | None = None
    GE_recordTime: datetime | None = None
    LT_recordTime: datetime | None = None
    EQ_action: tuple[str, ...] = ()
    EQ_bizStep: tuple[str, ...] = ()
    EQ_disposition: tuple[str, ...] = ()
    EQ_persistentDisposition_set: tuple[str, ...] = ()
    EQ_readPoint: tuple[str, ...] = ()
    EQ_bizLocation: tuple[str, ...] = ()
    EQ_eventID: tuple[str, ...] = ()
    MATCH_epc: tuple[str, ...] = ()
    MATCH_parentID: tuple[str, ...] = ()
    MATCH_inputEPC: tuple[str, ...] = ()
    MATCH_outputEPC: tuple[str, ...] = ()
    MATCH_anyEPC: tuple[str, ...] = ()
    MATCH_epcClass: tuple[str, ...] = ()
    MATCH_inputEPCClass: tuple[str, ...] = ()
    MATCH_outputEPCClass: tuple[str, ...] = ()
    MATCH_anyEPCClass: tuple[str, ...] = ()
    orderBy: str | None = None  # eventTime | recordTime
    orderDirection: str | None = None  # ASC | DESC (default DESC, §8.2.7.1)
    eventCountLimit: int | None = None
    maxEventCount: int | None = None


_FIELDS = {f.name: f for f in fields(EventQuery)}
_TIMES = {"GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime"}
_COUNTS = {"eventCountLimit", "maxEventCount"}
_WORDS = {"orderBy": ("eventTime", "recordTime"), "orderDirection": ("ASC", "DESC")}
_ACTIONS = ("ADD", "OBSERVE", "DELETE")
# Standard parameters (the OpenAPI's) this service refuses, with the reason it gives.
UNSUPPORTED: dict[str, str] = {
    **dict.fromkeys(
        ("WD_readPoint", "WD_bizLocation"),
        "farmtrace keeps no location master data (no hierarchy to descend); use EQ_ with the exact URI",
    ),
    **dict.fromkeys(
        ("EQ_quantity", "GT_quantity", "GE_quantity", "LT_quantity", "LE_quantity"),
        "quantity comparisons are deprecated (EPCIS 1.1) and not supported",
    ),
    **dict.fromkeys(
        (
            "EXISTS_errorDeclaration",
            "GE_errorDeclarationTime",
            "LT_errorDeclarationTime",
            "EQ_errorReason",
            "EQ_correctiveEventID",
        ),
        "the signed log is append-only: farmtrace records no error declarations",
    ),
    **dict.fromkeys(
        (
            "GE_startTime",
            "LT_startTime",
            "GE_endTime",
            "LT_endTime",
            "EQ_type",
            "EQ_deviceID",
            "EQ_dataProcessingMethod",
            "EQ_microorganism",
            "EQ_chemicalSubstance",
            "EQ_bizRules",
            "EQ_stringValue",
            "EQ_hexBinaryValue",
            "EQ_uriValue",
            "EQ_booleanValue",
        ),
        "sensor report queries are not supported",
    ),
    "EQ_persistentDisposition_unset": "farmtrace never unsets a persistent disposition",
    "EQ_transformationID": "farmtrace's transformations carry no transformationID",
}
_CBV = {
    "EQ_bizStep": ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "EQ_disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:"),
    "EQ_persistentDisposition_set": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:"),
}
_MAX_VALUES = 100  # values of one list parameter
_MAX_VALUE = 2000  # characters of one value


def parse_query(params: Mapping[str, Any]) -> EventQuery:
    """The query these parameters ask: `params` maps a parameter name to a string (pipe-delimited
    for lists), a list of strings, or for counts an int. Raises QueryParameterException naming the
    first bad parameter: unknown, unsupported, empty, malformed, or inconsistent with another."""
    out: dict[str, Any] = {}
    for name, raw in params.items():
        if name in UNSUPPORTED:
            raise QueryParameterException(name, f"not supported: {UNSUPPORTED[name]}")
        if name not in _FIELDS:
            raise QueryParameterException(name, "not a query parameter of EPCIS 2.0 this service knows")
        out[name] = _value(name, raw)
    query = EventQuery(**out)
    _check(query)
    return query


def _value(name: str, raw: Any) -> Any:
    if name in _COUNTS:
        return parse_count(name, raw)
    if not isinstance(raw, str) and (name in _TIMES or name in _WORDS or not isinstance(raw, list | tuple)):
        raise QueryParameterException(name, f"expected a string, found {type(raw).__name__}")
    if name in _TIMES:
        return _time(name, raw)
    if name in _WORDS:
        if raw not in _WORDS[name]:
            raise QueryParameterException(name, f"expected one of {', '.join(_WORDS[name])}, found {raw!r}")
        return raw
    items = raw.split("|") if isinstance(raw, str) else list(raw)
    if not items or len(items) > _MAX_VALUES:
        raise QueryParameterException(name, f"expected 1 to {_MAX_VALUES} values, found {len(items)}")
    for item in items:
        if not isinstance(item, str) or not item or len(item) > _MAX_VALUE or item != item.strip():
            raise QueryParameterException(
                name, f"expected non-empty values without spaces around, found {item!r}"
            )
    if name == "eventType" and not set(items) <= set(EVENT_TYPES):
        bad = sorted(set(items) - set(EVENT_TYPES))[0]
        raise QueryParameterException(
            name, f"expected EPCIS event types ({', '.join(EVENT_TYPES)}), found {bad!r}"
        )
    if name == "EQ_action" and not set(items) <= set(_ACTIONS):
        raise QueryParameterException(name, f"expected ADD, OBSERVE or DELETE, found {items!r}")
    if name in _CBV:
        items = [_bare(item, _CBV[name]) for item in items]
    return tuple(dict.fromkeys(items))  # without repeats, in the order given


def parse_count(name: str, raw: Any) -> int:
    """A positive count: an int, or its decimal text without sign or leading zeros (not "007", "+7").
    Raises QueryParameterException naming `name`."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and raw == str(int(raw)) and int(raw) >= 1:
        return int(raw)
    raise QueryParameterException(name, f"expected a positive integer, found {raw!r}")


def _time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in text:
        raise QueryParameterException(
            name, f"expected an RFC 3339 date-time with a time zone, found {text!r}"
        )
    return value


def _check(query: EventQuery) -> None:
    if query.eventCountLimit is not None and query.maxEventCount is not None:
        raise QueryParameterException(
            "eventCountLimit", "eventCountLimit and maxEventCount are mutually exclusive"
        )
    if query.eventCountLimit is not None and query.orderBy is None:
        raise QueryParameterException("eventCountLimit", "eventCountLimit needs orderBy (§8.2.7.1)")
    if query.orderDirection is not None and query.orderBy is None:
        raise QueryParameterException("orderDirection", "orderDirection needs orderBy")
    for low, high in (("GE_eventTime", "LT_eventTime"), ("GE_recordTime", "LT_recordTime")):
        lo, hi = getattr(query, low), getattr(query, high)
        if lo is not None and hi is not None and lo >= hi:
            raise QueryParameterException(high, f"{high} must be later than {low}")


def _bare(value: str, prefixes: Iterable[str]) -> str:
    for prefix in prefixes:
        if value.startswith(prefix) and len(value) > len(prefix):
            return value[len(prefix) :]
    return value


def format_query(query: EventQuery) -> dict[str, Any]:
    """The JSON form of `query`: only the parameters it sets, lists as arrays, times as ISO 8601.
    `parse_query(format_query(q)) == q`."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(query, name)
        if value is None or value == ():
            continue
        out[name] = (
            value.isoformat()
            if isinstance(value, datetime)
            else list(value)
            if isinstance(value, tuple)
            else value
        )
    return out


def _uris(event: Mapping[str, Any], *keys: str) -> set[str]:
    out: set[str] = set()
    for key in keys:
        value = event.get(key)
        if isinstance(value, str):
            out.add(value)
        elif isinstance(value, list):
            out.update(v for v in value if isinstance(v, str))
    return out


def _classes(event: Mapping[str, Any], *keys: str) -> set[str]:
    return {q["epcClass"] for key in keys for q in event.get(key, []) if "epcClass" in q}


_EPC_KEYS = {
    "MATCH_epc": ("epcList", "childEPCs"),
    "MATCH_parentID": ("parentID",),
    "MATCH_inputEPC": ("inputEPCList",),
    "MATCH_outputEPC": ("outputEPCList",),
    "MATCH_anyEPC": ("epcList", "childEPCs", "inputEPCList", "outputEPCList", "parentID"),
}
_CLASS_KEYS = {
    "MATCH_epcClass": ("quantityList", "childQuantityList"),
    "MATCH_inputEPCClass": ("inputQuantityList",),
    "MATCH_outputEPCClass": ("outputQuantityList",),
    "MATCH_anyEPCClass": ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"),
}


def matches(query: EventQuery, event: Mapping[str, Any]) -> bool:
    """Whether the EPCIS 2.0 JSON `event` satisfies every condition of `query` (§8.2.7.1: the
    conditions are ANDed; the values of one list parameter are ORed). An event lacking a field a
    condition tests does not match it."""
    if query.eventType and event.get("type") not in query.eventType:
        return False
    for name, key in (
        ("GE_eventTime", "eventTime"),
        ("LT_eventTime", "eventTime"),
        ("GE_recordTime", "recordTime"),
        ("LT_recordTime", "recordTime"),
    ):
        bound = getattr(query, name)
        if bound is None:
            continue
        if key not in event:
            return False
        at = datetime.fromisoformat(event[key])
        if (at < bound) if name.startswith("GE") else (at >= bound):
            return False
    if query.EQ_action and event.get("action") not in query.EQ_action:
        return False
    for name in ("EQ_bizStep", "EQ_disposition"):
        wanted = getattr(query, name)
        key = name.removeprefix("EQ_")
        if wanted and (key not in event or _bare(event[key], _CBV[name]) not in wanted):
            return False
    if query.EQ_persistentDisposition_set:
        held = event.get("persistentDisposition", {}).get("set", [])
        if not {_bare(d, _CBV["EQ_persistentDisposition_set"]) for d in held} & set(
            query.EQ_persistentDisposition_set
        ):
            return False
    for name, key in (("EQ_readPoint", "readPoint"), ("EQ_bizLocation", "bizLocation")):
        wanted = getattr(query, name)
        if wanted and event.get(key, {}).get("id") not in wanted:
            return False
    if query.EQ_eventID and event.get("eventID") not in query.EQ_eventID:
        return False
    for name, keys in _EPC_KEYS.items():
        wanted = getattr(query, name)
        if wanted and not _uris(event, *keys) & set(wanted):
            return False
    for name, keys in _CLASS_KEYS.items():
        wanted = getattr(query, name)
        if wanted and not _classes(event, *keys) & set(wanted):
            return False
    return True
