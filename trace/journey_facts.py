"""The facts a lot's page may present as verified, computed from a checked journey.

    journey_facts(journey, report) -> dict   the facts, in the JSON shape of docs/journey-facts.md

The twin of web/static/facts.js (`FarmtraceFacts.factsOf`): the same rules and the same answer, key
for key, so tests/web/test_journey_facts.py runs both over the same genuine and tampered journeys and
compares them exactly. `farmtrace verify-lot` prints these facts after its checks.

`report` is what `check_journey` (trace/verify_journey.py) answered for `journey`; only its failures
are read. Nothing the server says about an event is used (neither its decoded `event` copy nor
`kind`, `party_name`, `product`, `quantity`, `status` or `recalls`): every fact is read from the
bytes of a ledger entry the check proved. An event is proven when

- no failure concerns the journey as a whole (shape, log key, checkpoint: without a trusted
  checkpoint nothing is proven in the log),
- no failure is pinned to its ledger index, and its entry parsed,
- its signing key failed no check of its own (step 3: the key's id, registration or proof);

and it is a fact only when it names a lot of the lineage rebuilt from proven events alone: the lot,
the inputs of the proven event that created it, and so on back to the fields. A party's name is a
fact only from a proven key's party.register entry.

The answer is a plain JSON object (not a dataclass) on purpose: it is the wire both twins produce
and the tests compare; `verified` is true only when every check passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .journey_entries import decode_b64, is_index, parse_entry
from .verify_journey import JourneyReport

__all__ = ["GLOBAL_REASONS", "KEY_REASONS", "journey_facts", "proven_events"]

# Failures that leave no trusted checkpoint (or no journey): nothing at all is proven.
GLOBAL_REASONS = frozenset(
    {"journey.malformed", "log_key.mismatch", "checkpoint.malformed", "checkpoint.signature"}
)

# Failures of a key itself (step 3): no event it signed, and no registration it carries, is proven.
KEY_REASONS = frozenset({"key.id", "key.not_registered", "key.registration", "key.registration_proof"})

_TEST_FIELDS = ("analyte", "method", "value", "limit", "unit", "result", "report_no")
_CERTIFICATE_FIELDS = ("certificate_no", "product_name", "origin", "commitments")


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _signed_event(entry_text: Any) -> dict[str, Any] | None:
    entry = decode_b64(entry_text)
    parsed = parse_entry(entry) if entry is not None else None
    return parsed.event if parsed is not None else None


def _bad(report: JourneyReport) -> tuple[bool, set[int | None], set[str]]:
    return (
        any(f.reason in GLOBAL_REASONS for f in report.failures),
        {f.index for f in report.failures},
        {f.key for f in report.failures if f.reason in KEY_REASONS},
    )


def proven_events(journey: Mapping[str, Any], report: JourneyReport) -> list[tuple[int, dict[str, Any]]]:
    """(ledger index, signed event) of every event whose own checks all passed, in the journey's order."""
    whole, bad_index, bad_key = _bad(report)
    events = journey.get("events") if isinstance(journey, Mapping) else None
    if whole or not isinstance(events, list):
        return []
    out = []
    for item in events:
        if not isinstance(item, dict) or not is_index(item.get("index")) or item["index"] in bad_index:
            continue
        ev = _signed_event(item.get("entry"))
        if ev is not None and ev["key_id"] not in bad_key:
            out.append((item["index"], ev))
    return out


def _registrations(journey: Mapping[str, Any], report: JourneyReport) -> dict[str, dict[str, Any]]:
    """Party id -> the party record of a proven key's party.register entry."""
    whole, _, bad_key = _bad(report)
    keys = journey.get("keys") if isinstance(journey, Mapping) else None
    out: dict[str, dict[str, Any]] = {}
    if whole or not isinstance(keys, dict):
        return out
    for kid in sorted(keys):
        k = keys[kid]
        if kid in bad_key or not isinstance(k, dict) or not isinstance(k.get("registered_in"), dict):
            continue
        ev = _signed_event(k["registered_in"].get("entry"))
        record = (
            _get(ev.get("detail"), "party") if ev is not None and ev["kind"] == "party.register" else None
        )
        if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"] == k.get("party"):
            out.setdefault(record["id"], record)
    return out


def _lineage(target: str | None, events: list[tuple[int, dict[str, Any]]]) -> tuple[set[str], dict[str, Any]]:
    creator: dict[str, dict[str, Any]] = {}
    for _, ev in events:
        for o in ev["outputs"]:
            if isinstance(o, dict) and o["lot"] not in creator:
                creator[o["lot"]] = ev
    lineage: set[str] = set()
    queue = [target]
    while queue:
        code = queue.pop(0)
        if code in lineage:
            continue
        lineage.add(code)
        if code in creator:
            queue.extend(r["lot"] for r in creator[code]["inputs"] if isinstance(r, dict))
    return lineage, creator


def _refs(items: Any, lineage: set[str] | None) -> list[dict[str, Any]]:
    """The lots of `items` on the lineage (else, or with no lineage given, all of them), as {lot,
    quantity, unit} and, for live animals, their signed `ear_tags` and `live_weight`."""
    every = [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []
    chosen = [r for r in every if lineage is not None and r.get("lot") in lineage] or every
    out = []
    for r in chosen:
        ref = {"lot": r.get("lot"), "quantity": r.get("quantity"), "unit": r.get("unit")}
        # Live animals' ear tags and live weight (values.LotOut), only where the entry signs them.
        ref.update({k: r[k] for k in ("ear_tags", "live_weight") if k in r})
        out.append(ref)
    return out


def journey_facts(journey: Mapping[str, Any], report: JourneyReport) -> dict[str, Any]:
    """The facts of `journey` given `report` (see the module docstring and docs/journey-facts.md)."""
    target = (
        journey.get("lot") if isinstance(journey, Mapping) and isinstance(journey.get("lot"), str) else None
    )
    proven = proven_events(journey, report)
    lineage, creator = _lineage(target, proven)
    events = [(at, ev) for at, ev in proven if any(r["lot"] in lineage for r in ev["inputs"] + ev["outputs"])]
    used = {at for at, _ in events}
    given = journey.get("events") if isinstance(journey, Mapping) else None
    indexes = [
        item["index"] if isinstance(item, dict) and is_index(item.get("index")) else None
        for item in (given if isinstance(given, list) else [])
    ]
    facts: dict[str, Any] = {
        "lot": target,
        "verified": report.ok,
        "proven": [at for at, _ in events],
        "unproven": [at for at in indexes if at not in used],
        "lineage": sorted(x for x in lineage if x is not None),
        "product": None,
        "quantity": None,
        "origins": [],
        "tests": [],
        "certificates": [],
        "prices": [],
        "readings": [],
        "recalls": [],
        "hands": [],
        "parties": {},
        "status": {"recalled": False, "failed": False, "rejected": False},
        "steps": [],
    }
    if target in creator:
        out = next(o for o in creator[target]["outputs"] if isinstance(o, dict) and o["lot"] == target)
        facts["product"] = out["product"] if isinstance(out.get("product"), dict) else None
        facts["quantity"] = {"quantity": out.get("quantity"), "unit": out.get("unit")}
    for at, ev in events:
        _add_event(facts, at, ev, lineage)
    known = _registrations(journey, report)
    for pid in facts["hands"]:
        if pid in known:
            r = known[pid]
            facts["parties"][pid] = {k: r.get(k) for k in ("name_zh", "name_en", "roles", "address")}
    return facts


def _add_event(facts: dict[str, Any], at: int, ev: dict[str, Any], lineage: set[str]) -> None:
    """Add proven event `ev` (at ledger index `at`) to `facts`: its step, hands, and what it states."""
    detail = ev["detail"] if isinstance(ev.get("detail"), dict) else {}
    ins, outs = _refs(ev["inputs"], lineage), _refs(ev["outputs"], lineage)
    first = ins[0]["lot"] if ins else None
    kind, party, time = ev["kind"], ev["party"], ev.get("event_time")

    def hand(pid: Any) -> None:
        if isinstance(pid, str) and pid and pid not in facts["hands"]:
            facts["hands"].append(pid)

    hand(party)
    if kind == "ship":
        hand(detail.get("destination"))
    if kind == "receive":
        hand(detail.get("source"))
    if kind == "harvest":
        facts["origins"].append(
            {
                "index": at,
                "party": party,
                "lots": [o["lot"] for o in outs],
                "origin": detail.get("origin"),
                "location": ev.get("location"),
                "time": time,
            }
        )
    elif kind == "inspect":
        test = {"index": at, "party": party, "lot": first, "time": time}
        test.update({k: detail.get(k) for k in _TEST_FIELDS})
        facts["tests"].append(test)
        if test["result"] == "fail":
            facts["status"]["failed"] = True
    elif kind == "certify":
        cert = {"index": at, "party": party, "lot": first, "time": time}
        cert.update({k: detail.get(k) for k in _CERTIFICATE_FIELDS})
        facts["certificates"].append(cert)
    elif kind == "recall":
        facts["recalls"].append(
            {
                "index": at,
                "party": party,
                "lot": first,
                "time": time,
                "reason": detail.get("reason"),
                "instructions": detail.get("instructions"),
            }
        )
        facts["status"]["recalled"] = True
    elif kind == "receive" and _get(detail.get("entry_check"), "result") == "rejected":
        facts["status"]["rejected"] = True
    if isinstance(ev.get("price"), dict):
        facts["prices"].append({"index": at, "party": party, "kind": kind, "price": ev["price"]})
    if isinstance(ev.get("sensors"), list) and ev["sensors"]:
        # The cold chain's readings, as signed (docs/alerts.md): the page judges them by the threshold.
        facts["readings"].append(
            {"index": at, "party": party, "kind": kind, "time": time, "sensors": ev["sensors"]}
        )
    facts["steps"].append(
        {
            "index": at,
            "kind": kind,
            "party": party,
            "time": time,
            "location": ev.get("location"),
            "inputs": _refs(ev["inputs"], None),
            "outputs": _refs(ev["outputs"], None),
            "detail": detail,
            "price": ev.get("price"),
        }
    )
