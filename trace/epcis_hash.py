"""CBV 2.0 event hash IDs: one name for one EPCIS event, whoever computes it (CBV 2.0 §8.9).

An event hash ID is `ni:///sha-256;{hex}?ver=CBV2.0` (RFC 6920 with the CBV version, §8.9.3): the
SHA-256 of the event's pre-hash string, written in lower-case hex. The pre-hash string is the
event's fields in the canonical property order, each `key=value`, concatenated without separators
(§8.9.2, rules 1-5):

    eventType=…  eventTime=…  eventTimeZoneOffset=…  certificationInfo=…  parentID=…
    epcList epc=…  inputEPCList epc=…  childEPCs epc=…  quantityList quantityElement epcClass=…
    quantity=… uom=…  childQuantityList …  inputQuantityList …  outputEPCList …  outputQuantityList …
    action=…  transformationID=…  bizStep=…  disposition=…  persistentDisposition set=… unset=…
    readPoint id=…  bizLocation id=…  sensorElementList sensorElement sensorMetadata … sensorReport …
    then, sorted as whole strings: bizTransactionList type=… bizTransaction=…  destinationList …
    ilmd {ns}key=…  sourceList type=… source=…  {ns}key=… (user extension fields)

The table of §8.9.2 puts bizTransactionList, sourceList and destinationList before the sensors,
but the hash GS1 publishes for its worked example 3 (a13cbe6c…, tests/vectors/epcis-event-hash/)
and the reference implementation both give the layout above; identities others compute come from
them, so farmtrace follows them (docs/standards.md). A list's name appears once, followed by its members, each member's string built the same way and
the members sorted by code point (rules 10-12); a typed member writes its type first (rule 13).
Values are canonical (rules 5-9, 14-18): trimmed; numbers without trailing zeros; times in UTC with
milliseconds and "Z"; CBV URNs and bare CBV words as GS1 Web URIs (`https://ref.gs1.org/cbv/…`),
measurement types as `https://gs1.org/voc/…`; CURIEs expanded; EPC URIs and GS1 Digital Links as
constrained canonical Digital Links (`gs1_uri.canonical_gs1_uri`). ILMD and user extension fields
(§8.9.2 rules 19-21) are `{namespace}localName`, with `=value` when they hold one, nested fields
after their parent's name, all sorted. A key without a prefix inside an extension object takes its
parent's namespace: that is what farmtrace's JSON-LD context says (`epcis.context_document`, an
`@vocab` scoped to each extension term), so the JSON-LD meaning of a document decides its hash.
eventID, recordTime, errorDeclaration and comments are not hashed (an error declaration keeps its
event's ID). The function names follow the spec's nouns: `pre_hash_string`, `event_hash_id`, and
the check `check_event_hash`.

Where GS1's reference implementation (epcis-event-hash-generator 1.9.3) differs from this text,
docs/standards.md lists each difference and the tests pin it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import InvalidEvent
from .gs1_uri import canonical_gs1_uri

__all__ = [
    "HASH_VERSION",
    "STANDARD_PREFIXES",
    "EventHashMismatch",
    "check_event_hash",
    "event_hash_id",
    "pre_hash_string",
]

HASH_VERSION = "CBV2.0"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
# The CURIE prefixes of the EPCIS 2.0 JSON-LD context (rule 15); a document may add its own.
STANDARD_PREFIXES = {"cbv": CBV, "gs1": GS1_VOC, "epcis": "https://ref.gs1.org/epcis/"}
# Rule 14: CBV 1.x URNs and their CBV 2.0 Web URI equivalents.
_CBV_URNS = {
    "urn:epcglobal:cbv:bizstep:": CBV + "BizStep-",
    "urn:epcglobal:cbv:disp:": CBV + "Disp-",
    "urn:epcglobal:cbv:btt:": CBV + "BTT-",
    "urn:epcglobal:cbv:sdt:": CBV + "SDT-",
    "urn:epcglobal:cbv:er:": CBV + "ER-",
}
_ID = re.compile(r"ni:///sha-256;([0-9a-f]{64})\?ver=CBV2\.0")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")
# Fields that are not part of the event's identity (the reference implementation's list, §8.9.2).
_IGNORED = frozenset(
    {"type", "eventID", "recordTime", "errorDeclaration", "@context", "comment", "rdfs:comment"}
)

_QUANTITY = (("epcClass", None), ("quantity", None), ("uom", None))
_METADATA = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData")
_METADATA += ("dataProcessingMethod", "bizRules")
_REPORT = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time")
_REPORT += ("microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue")
_REPORT += ("hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank")
_REPORT += ("percValue", "uom", "coordinateReferenceSystem")
_TIMES = frozenset({"eventTime", "time", "startTime", "endTime"})
# Bare words of a standard vocabulary and the Web URI prefix each expands to (rule 16), as the EPCIS
# 2.0 JSON-LD context types them (`"@type": "@vocab"`).
_VOCAB = {
    "bizStep": CBV + "BizStep-",
    "disposition": CBV + "Disp-",
    "set": CBV + "Disp-",
    "unset": CBV + "Disp-",
    "bizTransactionType": CBV + "BTT-",
    "sourceOrDestinationType": CBV + "SDT-",
    "sensorType": GS1_VOC,
    "exception": GS1_VOC,
    "component": CBV + "Comp-",
}


class EventHashMismatch(InvalidEvent):
    """An event's eventID is not its CBV 2.0 event hash ID; `expected` and `found` are both IDs."""

    def __init__(self, *, expected: str, found: str) -> None:
        super().__init__("eventID", f"expected the CBV 2.0 event hash ID {expected}, found {found!r}")
        self.expected = expected
        self.found = found


def event_hash_id(event: Mapping[str, Any], *, prefixes: Mapping[str, str] | None = None) -> str:
    """Return the CBV 2.0 event hash ID of an EPCIS 2.0 JSON event, `ni:///sha-256;{hex}?ver=CBV2.0`.

    `prefixes` maps the CURIE prefixes the event's document declares (e.g. {"farmtrace": "…/ns#"})
    to their namespaces; the standard ones are always known. Raises InvalidEvent if the event has
    no type or a time that is not an ISO 8601 date-time with an offset.
    """
    digest = hashlib.sha256(pre_hash_string(event, prefixes=prefixes).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={HASH_VERSION}"


def check_event_hash(
    event: Mapping[str, Any], event_id: str, *, prefixes: Mapping[str, str] | None = None
) -> None:
    """Return None if `event_id` is the event's CBV 2.0 SHA-256 event hash ID, else raise.

    Raises EventHashMismatch (an InvalidEvent on field "eventID") naming the expected ID when the
    ID is malformed (not `ni:///sha-256;` + 64 lower-case hex digits + `?ver=CBV2.0`) or differs.
    """
    expected = event_hash_id(event, prefixes=prefixes)
    if not isinstance(event_id, str) or _ID.fullmatch(event_id) is None or event_id != expected:
        raise EventHashMismatch(expected=expected, found=event_id)


def pre_hash_string(event: Mapping[str, Any], *, prefixes: Mapping[str, str] | None = None) -> str:
    """Return the event's CBV 2.0 pre-hash string (the module docstring gives its layout).

    Raises InvalidEvent if the event has no type or carries a malformed time.
    """
    names = {**STANDARD_PREFIXES, **(prefixes or {})}
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidEvent("type", "an EPCIS event needs its event type to be hashed")
    # Steps 1-19 and 23: the standard fields in the canonical property order (§8.9.2's table).
    parts = [f"eventType={kind}"]
    parts.append(_leaf("eventTime", event.get("eventTime"), names))
    parts.append(_leaf("eventTimeZoneOffset", event.get("eventTimeZoneOffset"), names))
    parts.append(_repeated("certificationInfo", event.get("certificationInfo"), names))
    parts.append(_leaf("parentID", event.get("parentID"), names))
    for name in ("epcList", "inputEPCList", "childEPCs", "quantityList", "childQuantityList"):
        parts.append(_list(name, event.get(name), names))
    for name in ("inputQuantityList", "outputEPCList", "outputQuantityList"):
        parts.append(_list(name, event.get(name), names))
    for name in ("action", "transformationID", "bizStep", "disposition"):
        parts.append(_leaf(name, event.get(name), names))
    parts.append(_persistent(event.get("persistentDisposition"), names))
    for name in ("readPoint", "bizLocation"):
        parts.append(_place(name, event.get(name), names))
    parts.append(_sensors(event.get("sensorElementList"), names))
    # Steps 20-22, 24 and 25, as the published worked example (§8.9, Example 3) and the reference
    # implementation order them: the typed lists, ILMD and the user extension fields, each a string
    # of its own, sorted together (the lists' names sort before "{", so extensions come last).
    tail = [
        _typed("bizTransactionList", "bizTransaction", "bizTransactionType", event, names),
        _typed("sourceList", "source", "sourceOrDestinationType", event, names),
        _typed("destinationList", "destination", "sourceOrDestinationType", event, names),
    ]
    ilmd = event.get("ilmd")
    if isinstance(ilmd, Mapping) and ilmd:
        tail.append("ilmd" + "".join(sorted(_extensions(ilmd, names, parent=None))))
    rest = {k: v for k, v in event.items() if k not in _STANDARD and k not in _IGNORED}
    tail.extend(_extensions(rest, names, parent=None))
    parts.extend(sorted(tail))
    return "".join(parts)


_STANDARD = frozenset(
    {
        "eventTime",
        "eventTimeZoneOffset",
        "certificationInfo",
        "parentID",
        "epcList",
        "inputEPCList",
        "childEPCs",
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "action",
        "transformationID",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "ilmd",
    }
)


def _leaf(key: str, value: Any, names: Mapping[str, str], *, vocab: str | None = None) -> str:
    """`key=value` with the value canonical, or "" when the value is absent or empty (rule 4)."""
    if value is None:
        return ""
    text = _value(value, names, vocab=vocab or key, time=key in _TIMES)
    return f"{key}={text}" if text else ""


def _repeated(key: str, value: Any, names: Mapping[str, str]) -> str:
    values = value if isinstance(value, list) else [value]
    return "".join(sorted(_leaf(key, v, names) for v in values))


def _list(name: str, items: Any, names: Mapping[str, str]) -> str:
    if not isinstance(items, list) or not items:
        return ""
    if name.endswith("QuantityList") or name == "quantityList":
        members = [_quantity(q, names) for q in items]
    else:
        members = [_leaf("epc", epc, names) for epc in items]
    body = "".join(sorted(m for m in members if m))
    return name + body if body else ""


def _quantity(item: Any, names: Mapping[str, str]) -> str:
    if not isinstance(item, Mapping):
        return ""
    body = "".join(_leaf(k, item.get(k), names) for k, _ in _QUANTITY)
    body += "".join(sorted(_extensions(_others(item, {"epcClass", "quantity", "uom"}), names, parent=None)))
    return "quantityElement" + body if body else ""


def _persistent(value: Any, names: Mapping[str, str]) -> str:
    if not isinstance(value, Mapping):
        return ""
    body = ""
    for key in ("set", "unset"):
        items = value.get(key) or []
        body += "".join(sorted(_leaf(key, v, names) for v in (items if isinstance(items, list) else [items])))
    return "persistentDisposition" + body if body else ""


def _place(name: str, value: Any, names: Mapping[str, str]) -> str:
    # Rule 21: extension fields inside readPoint / bizLocation follow its id.
    if not isinstance(value, Mapping):
        return ""
    body = _leaf("id", value.get("id"), names)
    body += "".join(sorted(_extensions(_others(value, {"id"}), names, parent=None)))
    return name + body if body else ""


def _typed(name: str, member: str, vocab: str, event: Mapping[str, Any], names: Mapping[str, str]) -> str:
    # Rule 13: a member's type comes first, then its value; then the members are sorted.
    items = event.get(name)
    if not isinstance(items, list) or not items:
        return ""
    members = []
    for item in items:
        if isinstance(item, Mapping):
            members.append(
                _leaf("type", item.get("type"), names, vocab=vocab) + _leaf(member, item.get(member), names)
            )
    body = "".join(sorted(members))
    return name + body if body else ""


def _sensors(elements: Any, names: Mapping[str, str]) -> str:
    if not isinstance(elements, list) or not elements:
        return ""
    members = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        text = ""
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, Mapping):
            text += _block("sensorMetadata", metadata, _METADATA, names)
        reports = element.get("sensorReport") or []
        text += "".join(
            sorted(_block("sensorReport", r, _REPORT, names) for r in reports if isinstance(r, Mapping))
        )
        extra = _others(element, {"sensorMetadata", "sensorReport"})
        text += "".join(sorted(_extensions(extra, names, parent=None)))
        if text:
            members.append("sensorElement" + text)
    body = "".join(sorted(members))
    return "sensorElementList" + body if body else ""


def _block(name: str, value: Mapping[str, Any], order: tuple[str, ...], names: Mapping[str, str]) -> str:
    vocab = {"type": "sensorType"}
    text = "".join(_leaf(k, value.get(k), names, vocab=vocab.get(k)) for k in order)
    text += "".join(sorted(_extensions(_others(value, set(order)), names, parent=None)))
    return name + text if text else ""


def _others(value: Mapping[str, Any], known: set[str] | frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in known and k not in _IGNORED}


def _extensions(fields: Mapping[str, Any], names: Mapping[str, str], *, parent: str | None) -> list[str]:
    """One string per extension field (a list gives one per member), unsorted (rules 19-21)."""
    out = []
    for key, value in fields.items():
        name, namespace = _field_name(key, names, parent)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping):
                nested = "".join(sorted(_extensions(item, names, parent=namespace)))
                out.append(name + nested)
            elif item is not None:
                text = _value(item, names, vocab=None, time=False)
                out.append(f"{name}={text}" if text else name)
    return out


def _field_name(key: str, names: Mapping[str, str], parent: str | None) -> tuple[str, str | None]:
    """`{namespace}localName` of an extension key, and the namespace its own unprefixed keys take."""
    prefix, sep, local = key.partition(":")
    if sep and prefix in names:
        return "{" + names[prefix] + "}" + local, names[prefix]
    if parent is not None and not sep:
        return "{" + parent + "}" + key, parent
    return key, parent


def _value(value: Any, names: Mapping[str, str], *, vocab: str | None, time: bool) -> str:
    """The canonical text of a value (rules 5-9, 14-18)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(repr(value))
    text = str(value).strip()
    if not text:
        return ""
    if time:
        return _time(text, vocab or "eventTime")
    for urn, uri in _CBV_URNS.items():
        if text.startswith(urn):
            return uri + text[len(urn) :]
    prefix, sep, rest = text.partition(":")
    if not sep and vocab in _VOCAB:
        return _VOCAB[vocab] + text
    if sep and prefix in names and not rest.startswith("//"):
        return names[prefix] + rest
    if _NUMBER.fullmatch(text):
        return _number(text)
    return canonical_gs1_uri(text) or text


def _number(text: str) -> str:
    # Rule 6: no trailing zeros, no "+", no exponent; exact decimal arithmetic, never a float.
    number = Decimal(text)
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


def _time(text: str, field: str) -> str:
    # Rules 8-9: UTC, "Z", milliseconds, a 4th decimal of 5-9 rounding the 3rd up.
    found = _TIME.fullmatch(text)
    if found is None:
        raise InvalidEvent(field, f"expected an ISO 8601 date-time with an offset, found {text!r}")
    base, fraction, zone = found.groups()
    at = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    millis = Decimal("0." + (fraction or "0")).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    at = at.astimezone(UTC) + timedelta(milliseconds=int(millis * 1000))
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
