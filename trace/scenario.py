# size: the scenario vocabulary, one named step per event kind, in one place by design (see below)
"""The scenario vocabulary: the parties of a story, their keys, and the wire form of every step.

Five builders tell stories to the ledger, each for its own purpose: the Changsha demo
(api/demo.py), the tests' step-by-step ledger (tests/trace/story.py), the console tests' city
(tests/web/console_support.py), the bench's volume (bench/trace_bench.py) and the consumer page
bench's copies of story 1 (bench/page_bench.py). They all say it in
these words, so a change to the event model (a field name, a detail shape) is made here, once. It
lives in the domain floor because it speaks only the domain's nouns and needs no SQL, HTTP or clock,
so the demo (api) and the tests and benches can all stand on it. Three nouns:

- an **actor** (`Actor`): a party's id, its place and its Ed25519 key, derived from a label where a
  story needs the same bytes every run (`derive_seed`, `Actor.derived`: "<party>/<generation>") or
  from a random seed (the demo). `PartyKey.from_seed(actor.party, actor.seed)` is the client's twin.
- a **step**: what a party says (kind, inputs, outputs, detail; optional price, sensors, documents),
  one named step per kind: `register`, `add_key`, `revoke_key`, `suspend`, `harvest`, `inspect`,
  `certify`, `ship`, `receive`, `split`/`merge`/`repack`/`slaughter` (transform), `sell`, `recall`,
  `destroy`, `quarantine`;
  `step` for any other. Lots are named by `ref` (an input following its heads), `out` and `animals`
  (live animals by their ear tags).
- an **event** (`event_wire`, `Actor.event`): a step said by an actor at a moment; `Actor.sign`
  turns it into the ledger entry and its event id, as `PartyKey.sign` does.

Nothing here checks a rule: `Event.from_wire` and the service do, and refuse a wrong scenario as
they would anyone's. Signing encodes with trace.model.canonical.wire_json instead of
`encode_event(Event.from_wire(wire))`: the steps build wire forms in the subset wire_json writes
exactly (ASCII keys, strings, lists), and parsing first makes the bench's generator three to four
times slower (about 430 µs against 50 µs for a 10-output repack). tests/trace/test_scenario.py
checks that both give the same bytes for every named step.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .clock import CST
from .model.canonical import wire_json
from .model.encoding import ENCODING_VERSION, encode_entry, event_id, signing_message
from .model.ids import key_id_for, party_id_type

__all__ = [
    "COMMITMENTS",
    "RAPID_TEST",
    "Actor",
    "SignedEntry",
    "add_key",
    "animals",
    "certify",
    "derive_seed",
    "destroy",
    "event_time",
    "event_wire",
    "harvest",
    "inspect",
    "key_record",
    "merge",
    "out",
    "party_record",
    "price",
    "quarantine",
    "recall",
    "receive",
    "ref",
    "register",
    "repack",
    "revoke_key",
    "sell",
    "ship",
    "slaughter",
    "split",
    "step",
    "suspend",
]

# The market test rooms' rapid pesticide test (速测卡法): an inspect step's detail without its reading.
RAPID_TEST = {
    "analyte": "有机磷和氨基甲酸酯类农药残留",
    "method": "GB/T 5009.199 速测卡法",
    "limit": "50",
    "unit": "%抑制率",
}
# What a producer promises on a 合格证 (the four commitments of the 承诺达标合格证).
COMMITMENTS = ("no_banned_substances", "withdrawal_period_observed", "residues_within_limits", "self_tested")


# --- actors and their keys ---------------------------------------------------------------------------


def derive_seed(label: str) -> bytes:
    """A deterministic 32-byte Ed25519 seed: SHA-256 of `label` (for tests and benches, never real keys)."""
    return hashlib.sha256(label.encode()).digest()


def key_record(public_key: bytes) -> dict[str, str]:
    """A public key as a PartyRecord lists it: {"key_id", "public_key" (standard base64)}."""
    return {"key_id": key_id_for(public_key), "public_key": base64.b64encode(public_key).decode()}


def party_record(
    party: str,
    *,
    name_zh: str,
    roles: Sequence[str],
    address: str,
    keys: Sequence[dict[str, str]],
    contact_commitment: str,
    name_en: str | None = None,
) -> dict[str, Any]:
    """The PartyRecord wire form a register step carries; `id_type` follows from the id's form."""
    record: dict[str, Any] = {
        "id": party,
        "id_type": party_id_type(party),
        "name_zh": name_zh,
        "roles": list(roles),
        "address": address,
        "keys": list(keys),
        "contact_commitment": contact_commitment,
    }
    if name_en is not None:
        record["name_en"] = name_en
    return record


@dataclass(frozen=True, slots=True)
class SignedEntry:
    """A signed event: the ledger entry (trace.model.encoding's format) and the event id."""

    entry: bytes
    event_id: str


@dataclass(frozen=True)
class Actor:
    """A party in a scenario: its id, the place it acts from (`name`, `address`), and its key.

    Build it with `from_seed` or `derived`. `address` None leaves it out of the event's location."""

    party: str
    name: str
    address: str | None
    seed: bytes = field(repr=False)
    key: Ed25519PrivateKey = field(init=False, repr=False, compare=False)
    public_key: bytes = field(init=False, repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "public_key", public)
        object.__setattr__(self, "key_id", key_id_for(public))

    @classmethod
    def from_seed(cls, party: str, seed: bytes, *, name: str, address: str | None = None) -> Actor:
        return cls(party, name, address, seed)

    @classmethod
    def derived(cls, party: str, *, name: str, address: str | None = None, generation: int = 0) -> Actor:
        """The actor whose key is derived from "<party>/<generation>" (`derive_seed`)."""
        return cls(party, name, address, derive_seed(f"{party}/{generation}"))

    def key_record(self) -> dict[str, str]:
        return key_record(self.public_key)

    def location(self) -> dict[str, str]:
        """The event's location: {"name"} and, if known, "address"."""
        return {"name": self.name} if self.address is None else {"name": self.name, "address": self.address}

    def record(
        self,
        *,
        roles: Sequence[str],
        contact_commitment: str,
        name_en: str | None = None,
        address: str | None = None,
    ) -> dict[str, Any]:
        """This party's PartyRecord with its one key (`address` defaults to the actor's)."""
        where = address if address is not None else self.address
        if where is None:
            raise ValueError(f"party {self.party}: a party record needs an address")
        return party_record(
            self.party,
            name_zh=self.name,
            roles=roles,
            address=where,
            keys=[self.key_record()],
            contact_commitment=contact_commitment,
            name_en=name_en,
        )

    def event(self, step: dict[str, Any], *, at: datetime | str) -> dict[str, Any]:
        """The wire form of `step` said by this party at `at`, from its own location."""
        return event_wire(step, party=self.party, key_id=self.key_id, at=at, location=self.location())

    def sign(self, wire: dict[str, Any]) -> SignedEntry:
        """Sign an event's wire form (party and key_id are set to this key's): the entry and the event id."""
        canonical = wire_json({"v": ENCODING_VERSION, **wire, "party": self.party, "key_id": self.key_id})
        return SignedEntry(
            encode_entry(canonical, self.key.sign(signing_message(canonical))), event_id(canonical)
        )

    def say(self, step: dict[str, Any], *, at: datetime | str) -> SignedEntry:
        """`sign(event(step, at=at))`."""
        return self.sign(self.event(step, at=at))


# --- events and lots ---------------------------------------------------------------------------------


def event_time(at: datetime | str) -> str:
    """An event_time: `at` in China Standard Time, to the second ("2026-11-20T06:00:00+08:00")."""
    if isinstance(at, str):
        return at
    return at.astimezone(CST).isoformat(timespec="seconds")


def event_wire(
    step: dict[str, Any], *, party: str, key_id: str, at: datetime | str, location: dict[str, str]
) -> dict[str, Any]:
    """The wire form of an event: `step` (kind, lots, detail, ...) said by `party` with key `key_id`."""
    return {**step, "event_time": event_time(at), "party": party, "key_id": key_id, "location": location}


def step(
    kind: str,
    *,
    detail: dict[str, Any],
    inputs: Sequence[dict[str, Any]] = (),
    outputs: Sequence[dict[str, Any]] = (),
    price: dict[str, str] | None = None,
    sensors: Sequence[dict[str, str]] | None = None,
    documents: Sequence[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Any step: what a party says, without who, when and where (`event_wire` adds those)."""
    said: dict[str, Any] = {"kind": kind, "inputs": list(inputs), "outputs": list(outputs), "detail": detail}
    if price is not None:
        said["price"] = price
    if sensors is not None:
        said["sensors"] = list(sensors)
    if documents is not None:
        said["documents"] = list(documents)
    return said


def ref(lot: str, quantity: str, unit: str = "kg", *, follows: Sequence[str] | None = None) -> dict[str, Any]:
    """An input: `quantity` of `lot`, following the lot's head events (omitted: the recorder fills them)."""
    if follows is None:
        return {"lot": lot, "quantity": quantity, "unit": unit}
    return {"lot": lot, "quantity": quantity, "unit": unit, "follows": list(follows)}


def out(lot: str, quantity: str, product: dict[str, str], unit: str = "kg") -> dict[str, Any]:
    """An output: a new lot of `quantity` of `product` ({"name_zh", ...})."""
    return {"lot": lot, "quantity": quantity, "unit": unit, "product": product}


def animals(
    lot: str, ear_tags: Sequence[str], product: dict[str, str], *, live_weight: str | None = None
) -> dict[str, Any]:
    """An output of live animals: one head per ear tag, and optionally their total live weight in kg."""
    said = {**out(lot, str(len(ear_tags)), product, unit="head"), "ear_tags": list(ear_tags)}
    return said if live_weight is None else {**said, "live_weight": live_weight}


def price(amount: str, stage: str, *, unit: str = "kg", currency: str = "CNY") -> dict[str, str]:
    """A price per `unit` at `stage` (production, wholesale or retail)."""
    return {"amount": amount, "currency": currency, "unit": unit, "stage": stage}


# --- the named steps, one per kind ---------------------------------------------------------------------


def register(record: dict[str, Any]) -> dict[str, Any]:
    """party.register (said by a regulator, or by the first regulator of itself: the genesis)."""
    return step("party.register", detail={"party": record})


def add_key(party: str, key: dict[str, str]) -> dict[str, Any]:
    """party.key_add: `key` ({"key_id", "public_key"}, `key_record`) becomes one of `party`'s keys."""
    return step("party.key_add", detail={"party_id": party, **key})


def revoke_key(party: str, key_id: str, *, reason: str) -> dict[str, Any]:
    return step("party.key_revoke", detail={"party_id": party, "key_id": key_id, "reason": reason})


def suspend(party: str, *, reason: str) -> dict[str, Any]:
    return step("party.suspend", detail={"party_id": party, "reason": reason})


def harvest(
    outputs: Sequence[dict[str, Any]],
    *,
    origin: dict[str, str],
    price: dict[str, str] | None = None,
    documents: Sequence[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """harvest: new lots (`out`) from the field `origin` (a location: {"name", "address"?, "geo"?})."""
    return step("harvest", outputs=outputs, detail={"origin": origin}, price=price, documents=documents)


def inspect(
    inputs: Sequence[dict[str, Any]],
    *,
    value: str,
    result: str,
    report_no: str,
    test: dict[str, str] = RAPID_TEST,
    documents: Sequence[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """inspect: a test of the input lot; `result` "pass" or "fail", `value` against `test`'s limit."""
    detail = {**test, "value": value, "result": result, "report_no": report_no}
    return step("inspect", inputs=inputs, detail=detail, documents=documents)


def certify(
    inputs: Sequence[dict[str, Any]],
    *,
    certificate_no: str,
    product_name: str,
    origin: str,
    contact: str,
    commitments: Sequence[str] = COMMITMENTS,
) -> dict[str, Any]:
    """certify: the producer's 合格证 for the input lot."""
    detail = {
        "certificate_no": certificate_no,
        "product_name": product_name,
        "origin": origin,
        "commitments": list(commitments),
        "contact": contact,
    }
    return step("certify", inputs=inputs, detail=detail)


def ship(
    inputs: Sequence[dict[str, Any]],
    *,
    destination: str,
    price: dict[str, str] | None = None,
    sensors: Sequence[dict[str, str]] | None = None,
    documents: Sequence[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """ship: the inputs leave for party `destination` (a sale between parties carries its price)."""
    return step(
        "ship",
        inputs=inputs,
        detail={"destination": destination},
        price=price,
        sensors=sensors,
        documents=documents,
    )


def receive(
    inputs: Sequence[dict[str, Any]],
    *,
    source: str,
    ship_event: str,
    result: str = "accepted",
    certificate_no: str | None = None,
    inspection_event: str | None = None,
    certificate_source: str | None = None,
    note: str | None = None,
    sensors: Sequence[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """receive: the inputs of `ship_event` arrive from `source`, with the market-entry check (入市查验)."""
    check = {"result": result, "certificate_no": certificate_no, "inspection_event": inspection_event}
    check |= {"certificate_source": certificate_source, "note": note}
    check = {name: given for name, given in check.items() if given is not None}  # the fields said
    detail = {"source": source, "ship_event": ship_event, "entry_check": check}
    return step("receive", inputs=inputs, detail=detail, sensors=sensors)


def split(inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """transform (split): one lot becomes several."""
    return step("transform", inputs=inputs, outputs=outputs, detail={"type": "split"})


def merge(inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """transform (merge): several lots become one."""
    return step("transform", inputs=inputs, outputs=outputs, detail={"type": "merge"})


def repack(inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """transform (repack): a lot goes into packs (each output a pack)."""
    return step("transform", inputs=inputs, outputs=outputs, detail={"type": "repack"})


def slaughter(
    inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]], *, live_weight: str, certificate_no: str
) -> dict[str, Any]:
    """transform (slaughter): live animals (head) become carcasses and cuts (kg), with the animals' live
    weight (kg) and the slaughterhouse's 肉品品质检验合格证 number."""
    detail = {"type": "slaughter", "live_weight": live_weight, "certificate_no": certificate_no}
    return step("transform", inputs=inputs, outputs=outputs, detail=detail)


def quarantine(
    inputs: Sequence[dict[str, Any]],
    *,
    form: str,
    certificate_no: str,
    owner: str,
    species: str,
    origin: str,
    destination: str,
    official_vet: str,
    valid_days: str = "1",
    ear_tags: Sequence[str] | None = None,
    purpose: str | None = None,
    product_name: str | None = None,
    **carriage: str,
) -> dict[str, Any]:
    """quarantine: an official veterinarian's 动物检疫合格证明 for the input lot (`form` animal_a,
    animal_b, product_a, product_b); `carriage` any of carrier, transport, vehicle, disinfection,
    marks, note."""
    detail: dict[str, Any] = {
        "form": form,
        "certificate_no": certificate_no,
        "owner": owner,
        "species": species,
        "origin": origin,
        "destination": destination,
        "valid_days": valid_days,
        "official_vet": official_vet,
    }
    said = {"ear_tags": list(ear_tags) if ear_tags is not None else None, "purpose": purpose}
    said |= {"product_name": product_name, **carriage}
    detail |= {name: given for name, given in said.items() if given is not None}
    return step("quarantine", inputs=inputs, detail=detail)


def sell(inputs: Sequence[dict[str, Any]], *, price: dict[str, str]) -> dict[str, Any]:
    """sell: the inputs leave the chain, to consumers (retail) or to a canteen (wholesale)."""
    return step("sell", inputs=inputs, detail={}, price=price)


def recall(inputs: Sequence[dict[str, Any]], *, reason: str, instructions: str) -> dict[str, Any]:
    """recall (a regulator's): the inputs and every lot made from them."""
    return step("recall", inputs=inputs, detail={"reason": reason, "instructions": instructions})


def destroy(inputs: Sequence[dict[str, Any]], *, reason: str, holder: str | None = None) -> dict[str, Any]:
    """destroy: the holder's, or a regulator's naming the `holder`."""
    detail = {"reason": reason} if holder is None else {"reason": reason, "holder": holder}
    return step("destroy", inputs=inputs, detail=detail)
