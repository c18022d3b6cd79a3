"""The scenario vocabulary (trace/scenario.py): golden bytes, deterministic keys, and every named step
parsed, re-encoded and verified by the product's own decoder, verifier and service."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from farmtrace.client import PartyKey
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.trace import scenario as sc
from farmtrace.trace.clock import CST
from farmtrace.trace.errors import InvalidEvent, RuleViolation, SignatureRefused
from farmtrace.trace.model.encoding import decode_entry, encode_event, verify_signed_event
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.ids import uscc_check_char
from farmtrace.trace.model.kinds import KINDS
from farmtrace.trace.service import TraceService

# The golden event of tests/trace/test_encoding.py (checked by hand there), signed with the
# RFC 8032 §7.1 TEST 1 key: the vocabulary must say it byte for byte.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
GOLDEN_ENTRY = (
    b"farmtrace/entry/v1\n"
    b'{"detail":{"origin":{"name":"3\xe5\x8f\xb7\xe5\x9c\xb0"}},"event_time":"2026-11-20T08:30:00+08:00",'
    b'"inputs":[],"key_id":"21fe31dfa154a261","kind":"harvest",'
    b'"location":{"name":"\xe5\xae\x81\xe4\xb9\xa1\xe5\x90\x88\xe4\xbd\x9c\xe7\xa4\xbe"},'
    b'"outputs":[{"lot":"NX-001","product":{"name_zh":"\xe5\x8c\x85\xe8\x8f\x9c"},"quantity":"500","unit":"kg"}],'
    b'"party":"91350100M000100Y43","v":1}\n'
    b"jvMV37LKlR5M8/KM4ogsaw9FPtxek1zBNOxZMbuLkddiV7ETyv2MfS9W+/bae6/xGPWWXqn53dALpvctCmlSBQ==\n"
)
GOLDEN_ID = "7bae5fc259dc86a29f0c2602cddde46e6bf6f3062303e187d7c8f07b37443f06"
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=CST)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


REGULATOR = sc.Actor.derived(_uscc("11430100MB1234567"), name="长沙市市场监督管理局", address="湖南省长沙市")
COOP = sc.Actor.derived(_uscc("93430124MA4L12345"), name="宁乡蔬菜合作社", address="湖南省长沙市宁乡市")
STATION = sc.Actor.derived(_uscc("12430124MB5678901"), name="农残快检室", address="湖南省长沙市")
MARKET = sc.Actor.derived(_uscc("91430100MA4L22222"), name="批发市场", address="湖南省长沙市芙蓉区")
SHOP = sc.Actor.derived(_uscc("91430100MA4L33333"), name="超市", address="湖南省长沙市")
FARM = sc.Actor.derived("F430124-000123", name="张记家庭农场", address="湖南省长沙市宁乡市")
ROLES = {REGULATOR: ["regulator"], COOP: ["producer"], STATION: ["inspector"], MARKET: ["wholesaler"],
         SHOP: ["retailer"], FARM: ["producer"]}  # fmt: skip
CABBAGE = {"name_zh": "包菜", "category": "蔬菜"}
H1 = "1" * 64


def test_the_golden_event_byte_for_byte() -> None:
    coop = sc.Actor.from_seed("91350100M000100Y43", RFC8032_SECRET, name="宁乡合作社")
    harvest = sc.harvest([sc.out("NX-001", "500", {"name_zh": "包菜"})], origin={"name": "3号地"})
    signed = coop.say(harvest, at=datetime(2026, 11, 20, 0, 30, tzinfo=CST) + timedelta(hours=8))
    assert signed.entry == GOLDEN_ENTRY
    assert signed.event_id == GOLDEN_ID


def test_golden_wire_of_a_receive() -> None:
    step = sc.receive(
        [sc.ref("M-01", "10", follows=[H1])], source=MARKET.party, ship_event=H1, certificate_no="HGZ-1"
    )
    assert SHOP.event(step, at=T0) == {
        "kind": "receive",
        "event_time": "2026-11-20T06:00:00+08:00",
        "party": SHOP.party,
        "key_id": SHOP.key_id,
        "location": {"name": "超市", "address": "湖南省长沙市"},
        "inputs": [{"lot": "M-01", "quantity": "10", "unit": "kg", "follows": [H1]}],
        "outputs": [],
        "detail": {
            "source": MARKET.party,
            "ship_event": H1,
            "entry_check": {"result": "accepted", "certificate_no": "HGZ-1"},
        },
    }


def test_derived_keys_are_sha256_of_party_and_generation() -> None:
    for generation in (0, 1, 7):
        seed = hashlib.sha256(f"{COOP.party}/{generation}".encode()).digest()
        public = (
            Ed25519PrivateKey.from_private_bytes(seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        actor = sc.Actor.derived(COOP.party, name="x", generation=generation)
        assert actor.public_key == public
        assert actor.key_id == hashlib.sha256(public).hexdigest()[:16]
    assert sc.Actor.derived(COOP.party, name="x") == sc.Actor.derived(COOP.party, name="x")
    assert (
        sc.Actor.derived(COOP.party, name="x").key_id
        != sc.Actor.derived(COOP.party, name="x", generation=1).key_id
    )
    # The client acts as the same party with the same key.
    assert PartyKey.from_seed(COOP.party, COOP.seed).key_id == COOP.key_id


def _every_step() -> list[tuple[sc.Actor, dict]]:
    ref = sc.ref("NX-1", "500", follows=[H1])
    return [
        (REGULATOR, sc.register(FARM.record(roles=["producer"], contact_commitment=H1))),
        (
            REGULATOR,
            sc.add_key(COOP.party, sc.Actor.derived(COOP.party, name="x", generation=1).key_record()),
        ),
        (REGULATOR, sc.revoke_key(COOP.party, COOP.key_id, reason="手机丢失")),
        (REGULATOR, sc.suspend(SHOP.party, reason="违规")),
        (
            COOP,
            sc.harvest(
                [sc.out("NX-1", "500", CABBAGE)],
                origin={"name": "3号地", "geo": "28.2,112.5"},
                price=sc.price("1.2", "production"),
                documents=[{"type": "planting_record", "id": "P-1"}],
            ),
        ),
        (STATION, sc.inspect([ref], value="12.5", result="pass", report_no="KJ-1")),
        (COOP, sc.certify([ref], certificate_no="HGZ-1", product_name="包菜", origin="宁乡", contact="刘")),
        (
            COOP,
            sc.ship(
                [ref],
                destination=MARKET.party,
                price=sc.price("2", "wholesale"),
                sensors=[
                    {"type": "temperature", "value": "4.5", "unit": "Cel", "time": "2026-11-20T06:00:00Z"}
                ],
            ),
        ),
        (MARKET, sc.receive([ref], source=COOP.party, ship_event=H1, inspection_event=H1, note="查验")),
        (
            MARKET,
            sc.receive(
                [ref], source=COOP.party, ship_event=H1, certificate_no="P", certificate_source="paper"
            ),
        ),
        (MARKET, sc.split([ref], [sc.out("M-1", "250", CABBAGE), sc.out("M-2", "250", CABBAGE)])),
        (MARKET, sc.merge([ref, sc.ref("NX-2", "10", follows=[H1])], [sc.out("X-1", "510", CABBAGE)])),
        (
            SHOP,
            sc.repack([ref], [sc.out(f"B-{i}", "1", CABBAGE | {"gtin": "6901234567892"}) for i in range(5)]),
        ),
        (SHOP, sc.sell([sc.ref("B-1", "1", "jin", follows=[H1])], price=sc.price("3", "retail", unit="jin"))),
        (
            COOP,
            sc.harvest(
                [sc.animals("PIG-1", ["143018200000001", "143018200000002"], {"name_zh": "生猪"}, live_weight="230")],
                origin={"name": "花猪场"},
            ),
        ),
        (
            STATION,
            sc.quarantine(
                [sc.ref("PIG-1", "2", "head", follows=[H1])], form="animal_b", certificate_no="Q-1", owner="花猪场",
                species="猪", origin="宁乡", destination="屠宰厂", official_vet="王", purpose="屠宰",
                ear_tags=["143018200000001", "143018200000002"], vehicle="湘A·1",
            ),
        ),
        (
            MARKET,
            sc.slaughter(
                [sc.ref("PIG-1", "2", "head", follows=[H1])], [sc.out("P-1", "170", {"name_zh": "白条肉"})],
                live_weight="230", certificate_no="RP-1",
            ),
        ),
        (REGULATOR, sc.recall([ref], reason="农残超标", instructions="请停止销售")),
        (MARKET, sc.step("recall_ack", detail={"recall_event": H1, "lot": "NX-1"})),
        (COOP, sc.step("label_activate", detail={"lot": "NX-1", "gtin": "6901234567892", "serials": ["R1-0001"]})),
        (REGULATOR, sc.destroy([ref], reason="recalled", holder=MARKET.party)),
        (COOP, sc.destroy([ref], reason="农残超标")),
    ]


def test_every_kind_has_a_named_step() -> None:
    assert {s["kind"] for _, s in _every_step()} == set(KINDS)


@pytest.mark.parametrize("n", range(len(_every_step())))
def test_every_step_is_the_models_wire_form_and_verifies(n: int) -> None:
    actor, step = _every_step()[n]
    wire = actor.event(step, at=T0)
    signed = actor.sign(wire)
    decoded = decode_entry(signed.entry)  # strict: re-encodes and compares the bytes
    assert decoded.event.to_wire() == wire  # every field name and shape is the model's
    assert decoded.canonical == encode_event(Event.from_wire(wire))
    assert decoded.id == signed.event_id
    verify_signed_event(decoded, actor.public_key)
    with pytest.raises(SignatureRefused):
        verify_signed_event(decoded, COOP.public_key if actor is not COOP else SHOP.public_key)


def test_a_flipped_byte_is_refused() -> None:
    signed = COOP.say(sc.harvest([sc.out("NX-1", "500", CABBAGE)], origin={"name": "3号地"}), at=T0)
    at = signed.entry.index(b"NX-1")
    tampered = signed.entry[:at] + b"NY-1" + signed.entry[at + 4 :]
    decoded = decode_entry(tampered)
    with pytest.raises(SignatureRefused):
        verify_signed_event(decoded, COOP.public_key)
    with pytest.raises(InvalidEvent):
        decode_entry(signed.entry.replace(b'"500"', b'"500.0"'))  # not canonical any more


def test_sign_sets_the_actors_party_and_key() -> None:
    wire = SHOP.event(sc.sell([sc.ref("B-1", "1", follows=[H1])], price=sc.price("3", "retail")), at=T0)
    decoded = decode_entry(COOP.sign(wire).entry)
    assert (decoded.event.party, decoded.event.key_id) == (COOP.party, COOP.key_id)


def test_a_record_needs_an_address() -> None:
    with pytest.raises(ValueError, match="address"):
        sc.Actor.derived(COOP.party, name="x").record(roles=["producer"], contact_commitment=H1)


def test_a_story_told_in_these_words_is_recorded_by_the_service(sqlite_url: str) -> None:
    """The real service checks every signature and every rule, and refuses what the rules forbid."""
    store = SqlStore.from_url(sqlite_url, create=True)
    service = TraceService(Log(store, Signer.from_seed("test.local/log", b"\x01" * 32)), store.engine,
                           clock=lambda: T0 + timedelta(days=1))  # fmt: skip
    service.create_tables()
    try:
        at = iter(T0 + timedelta(minutes=i) for i in range(100))
        for actor in (REGULATOR, COOP, STATION, MARKET, SHOP):  # the regulator's own: the genesis
            signed = REGULATOR.say(
                sc.register(actor.record(roles=ROLES[actor], contact_commitment=H1)), at=next(at)
            )
            (service.record if actor is not REGULATOR else service.record_genesis)(signed.entry)
        heads: dict[str, str] = {}

        def say(actor: sc.Actor, step: dict) -> str:
            signed = actor.say(step, at=next(at))
            assert service.record(signed.entry).event_id == signed.event_id
            for lot in step["inputs"] + step["outputs"]:
                heads[lot["lot"]] = signed.event_id
            return signed.event_id

        def ref(lot: str, qty: str) -> dict:
            return sc.ref(lot, qty, follows=[heads[lot]])

        say(COOP, sc.harvest([sc.out("NX-1", "500", CABBAGE)], origin={"name": "3号地"}, price=sc.price("1.2", "production")))  # fmt: skip
        say(STATION, sc.inspect([ref("NX-1", "500")], value="12.5", result="pass", report_no="KJ-1"))
        say(COOP, sc.certify([ref("NX-1", "500")], certificate_no="HGZ-1", product_name="包菜", origin="宁乡", contact="刘"))  # fmt: skip
        shipped = say(COOP, sc.ship([ref("NX-1", "500")], destination=MARKET.party))
        say(
            MARKET,
            sc.receive([ref("NX-1", "500")], source=COOP.party, ship_event=shipped, certificate_no="HGZ-1"),
        )
        say(MARKET, sc.split([ref("NX-1", "500")], [sc.out(f"M-{i}", "50", CABBAGE) for i in range(10)]))
        with pytest.raises(RuleViolation) as refused:
            service.record(
                SHOP.say(sc.sell([ref("M-1", "50")], price=sc.price("3", "retail")), at=next(at)).entry
            )
        assert refused.value.rule == "custody"
        with pytest.raises(SignatureRefused):  # signed by the shop, claiming to be the market
            wire = MARKET.event(sc.sell([ref("M-1", "50")], price=sc.price("3", "wholesale")), at=next(at))
            forged = SHOP.sign(wire).entry.replace(SHOP.party.encode(), MARKET.party.encode())
            service.record(forged.replace(SHOP.key_id.encode(), MARKET.key_id.encode()))
        say(MARKET, sc.sell([ref("M-1", "50")], price=sc.price("3", "wholesale")))
        assert service.lot_summary("M-1").head == heads["M-1"]
    finally:
        service.log.close(close_store=True)
