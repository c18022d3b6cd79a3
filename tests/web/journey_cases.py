"""The shared tampering cases: each is run through Python (trace/verify_journey.py) and JavaScript
(web/static/verify.js), which must agree on the verdict and on every failure, in order.

A case turns a genuine journey (what GET /lots/{code}/journey answers) into the journey a verifier
is handed, and says which log key the verifier pins and which reason codes it must report. The
journeys come from the demo (api/demo.py): story 1's bag XF-BAG-0001 (10 events: harvest, inspect,
certify, ship, receive, split, ship, receive, repack, sell) and the recalled chilli box XF-LJ-002.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from farmtrace.ledger.note import Signer

Journey = dict[str, Any]
OTHER_LOG_KEY = Signer.from_seed("farmtrace.local/log", bytes(32)).verifier.key_string()


@dataclass(frozen=True)
class Case:
    name: str
    expect: list[str]  # the reason codes, in the order both verifiers report them
    mutate: Callable[[Journey, dict[str, Journey]], None] = lambda j, _: None
    journey: str = "bag"  # which genuine journey to start from: "bag" or "recalled"
    pinned: str | None = None  # the log key to pin (None: the genuine one)
    note: str = field(default="", compare=False)


def _entry(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["entry"])


def _set_entry(item: dict[str, Any], entry: bytes) -> None:
    item["entry"] = base64.b64encode(entry).decode()


def _flip_b64(text: str, byte: int = 0, bit: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[byte] ^= 1 << bit
    return base64.b64encode(bytes(raw)).decode()


def _edit_quantity(j: Journey, _: Any) -> None:
    # The harvest's "500" becomes "600": still canonical JSON, so only the signature, the leaf and
    # the next event's hash link can tell.
    item = j["events"][0]
    entry = _entry(item)
    at = entry.index(b'"quantity":"500"') + len(b'"quantity":"')
    _set_entry(item, entry[:at] + b"6" + entry[at + 1 :])


def _flip_signature(j: Journey, _: Any) -> None:
    item = j["events"][2]
    header, canonical, sig, _end = _entry(item).split(b"\n")
    _set_entry(item, b"\n".join([header, canonical, _flip_b64(sig.decode(), 5).encode(), b""]))


def _drop_inspection(j: Journey, _: Any) -> None:
    del j["events"][1]


def _flip_proof(j: Journey, _: Any) -> None:
    j["events"][3]["proof"][0] = _flip_b64(j["events"][3]["proof"][0], 31, 7)


def _flip_checkpoint_signature(j: Journey, _: Any) -> None:
    text, _, sigs = j["checkpoint"].rpartition("\n\n")
    first, *rest = sigs.split("\n")
    name, sig = first.rsplit(" ", 1)
    j["checkpoint"] = text + "\n\n" + "\n".join([f"{name} {_flip_b64(sig, 10)}", *rest])


def _inspector_key(j: Journey) -> str:
    inspect = next(e for e in j["events"] if e["kind"] == "inspect")
    return inspect["event"]["key_id"]


def _unregister_key(j: Journey, _: Any) -> None:
    j["keys"][_inspector_key(j)]["registered_in"] = None


def _drop_key(j: Journey, _: Any) -> None:
    del j["keys"][_inspector_key(j)]


def _swap_registration(j: Journey, _: Any) -> None:
    kid = _inspector_key(j)
    other = next(k for k in sorted(j["keys"]) if k != kid)
    j["keys"][kid]["registered_in"] = copy.deepcopy(j["keys"][other]["registered_in"])


def _flip_registration_proof(j: Journey, _: Any) -> None:
    reg = j["keys"][_inspector_key(j)]["registered_in"]
    reg["proof"][-1] = _flip_b64(reg["proof"][-1], 0)


def _swap_order(j: Journey, _: Any) -> None:
    j["events"][3], j["events"][4] = j["events"][4], j["events"][3]


def _add_unrelated(j: Journey, genuine: dict[str, Journey]) -> None:
    # An event from another lot's history (the chilli harvest), genuinely signed and proven, put
    # in its place in ledger order.
    j["events"].append(copy.deepcopy(genuine["recalled"]["events"][0]))
    j["events"].sort(key=lambda e: e["index"])
    j["keys"].update(copy.deepcopy(genuine["recalled"]["keys"]))


def _garbage_entry(j: Journey, _: Any) -> None:
    _set_entry(j["events"][4], b"not a farmtrace entry")


def _lone_surrogate(j: Journey, _: Any) -> None:
    # The receipt's place name made to start with an escaped lone surrogate (\ud800). A JSON reader
    # accepts it and JSON.stringify writes the escape back unchanged, so only RFC 8785's rule that
    # the data be I-JSON (§3.1; RFC 7493 §2.1: no lone surrogates) makes the entry malformed.
    item = j["events"][4]
    entry = _entry(item)
    at = entry.index(b'"name":"') + len(b'"name":"')
    _set_entry(item, entry[:at] + b"\\ud800" + entry[at:])


def _other_lot(j: Journey, _: Any) -> None:
    j["lot"] = "XF-BAG-0002"  # a sibling bag's page handed this bag's chain


def _unknown_lot(j: Journey, _: Any) -> None:
    j["lot"] = "XF-BAG-9999"


def _no_events(j: Journey, _: Any) -> None:
    del j["events"]


def _garbage_checkpoint(j: Journey, _: Any) -> None:
    j["checkpoint"] = "farmtrace.local/log\nnot a checkpoint\n"


def _wrong_leaf(j: Journey, _: Any) -> None:
    j["events"][6]["leaf_hash"] = _flip_b64(j["events"][6]["leaf_hash"], 0)


CASES = [
    Case("untouched", []),
    Case("untouched recalled lot", [], journey="recalled"),
    Case(
        "entry byte changed (harvest 500 kg -> 600 kg)",
        ["signature.invalid", "inclusion.leaf", "chain.follows"],
        _edit_quantity,
    ),
    Case("signature bit flipped", ["signature.invalid", "inclusion.leaf"], _flip_signature),
    Case(
        "event dropped from the chain (the inspection)",
        ["chain.follows", "chain.hidden_tail"],
        _drop_inspection,
    ),
    Case("proof hash flipped", ["inclusion.invalid"], _flip_proof),
    Case("leaf hash flipped", ["inclusion.leaf"], _wrong_leaf),
    Case("checkpoint signature flipped", ["checkpoint.signature"], _flip_checkpoint_signature),
    Case("checkpoint garbage", ["checkpoint.malformed"], _garbage_checkpoint),
    Case("wrong log key pinned", ["log_key.mismatch", "checkpoint.signature"], pinned=OTHER_LOG_KEY),
    Case("key not registered", ["key.not_registered"], _unregister_key),
    Case("key missing", ["key.unknown"], _drop_key),
    Case("key registered by another party's entry", ["key.registration"], _swap_registration),
    Case("key registration proof flipped", ["key.registration_proof"], _flip_registration_proof),
    Case(
        "events out of order",
        ["chain.order", "chain.follows", "chain.follows", "chain.follows"],
        _swap_order,
    ),
    Case("unrelated event added", ["chain.unrelated", "index.missing"], _add_unrelated),
    Case(
        "entry replaced by garbage",
        ["entry.malformed", "inclusion.leaf", "chain.follows", "chain.hidden_tail"],
        _garbage_entry,
    ),
    Case(
        "entry with a lone surrogate (canonical to JSON.stringify, not to RFC 8785)",
        ["entry.malformed", "inclusion.leaf", "chain.follows", "chain.hidden_tail"],
        _lone_surrogate,
    ),
    # XF-BAG-0002 comes from the same repack, so its lineage is complete; the bag's sale is not its.
    Case("chain handed to a sibling lot", ["chain.unrelated", "index.missing"], _other_lot),
    Case(
        "chain handed to a lot it never made",
        ["chain.no_creation"] + ["chain.unrelated"] * 10 + ["index.missing"],
        _unknown_lot,
    ),
    Case("no events at all", ["journey.malformed"], _no_events),
]


def build(case: Case, genuine: dict[str, Journey], log_key: str) -> tuple[Journey, str]:
    """The journey and the pinned key a verifier gets for `case`."""
    journey = copy.deepcopy(genuine[case.journey])
    case.mutate(journey, genuine)
    return journey, case.pinned or log_key
