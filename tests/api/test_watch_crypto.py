"""Web Push's cryptography (trace/web_push.py) against RFC 8291 Appendix A and two oracles: http_ece
(an independent aes128gcm implementation) decrypts what we encrypt, and pyca/cryptography checks the
VAPID JWT's ES256 signature (RFC 8292, RFC 7515)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.web_push import (
    MAX_PLAINTEXT,
    VapidKey,
    b64url,
    check_auth,
    check_p256dh,
    encrypt_message,
    unb64url,
)

# RFC 8291 Appendix A, its line breaks removed.
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6"
    "PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def _private(text: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(unb64url(text), "big"), ec.SECP256R1())


def test_rfc_8291_appendix_a_byte_for_byte():
    sender = _private(AS_PRIVATE)
    assert b64url(VapidKey(sender).public_key) == AS_PUBLIC
    body = encrypt_message(
        PLAINTEXT, p256dh=unb64url(UA_PUBLIC), auth=unb64url(AUTH), salt=unb64url(SALT), sender=sender
    )
    assert b64url(body) == BODY


def test_http_ece_decrypts_what_we_encrypt():
    ua = ec.generate_private_key(ec.SECP256R1())
    ua_public = VapidKey(ua).public_key
    auth = bytes(range(16))
    for plaintext in (b"", PLAINTEXT, "召回：青菜".encode() * 100, b"x" * MAX_PLAINTEXT):
        body = encrypt_message(plaintext, p256dh=ua_public, auth=auth)
        assert http_ece.decrypt(body, private_key=ua, auth_secret=auth, version="aes128gcm") == plaintext
    # The RFC's own body, decrypted by the oracle with the user agent's key: the vector is read right.
    assert (
        http_ece.decrypt(unb64url(BODY), private_key=_private(UA_PRIVATE), auth_secret=unb64url(AUTH))
        == PLAINTEXT
    )
    with pytest.raises(ValueError, match="at most 3993"):
        encrypt_message(b"x" * (MAX_PLAINTEXT + 1), p256dh=ua_public, auth=auth)


def check_vapid(header: str, *, public_key: bytes, endpoint_origin: str, now: datetime) -> dict:
    """What a push service checks of `Authorization: vapid t=…, k=…` (RFC 8292 §2-3); returns the claims."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert unb64url(fields["k"]) == public_key
    head, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(head)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    assert len(raw) == 64
    verifier = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    verifier.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    body = json.loads(unb64url(claims))
    assert body["aud"] == endpoint_origin
    assert now.timestamp() < body["exp"] <= now.timestamp() + 24 * 3600
    return body


def test_vapid_authorization_verifies_and_names_the_origin(tmp_path):
    key = VapidKey.load_or_create(tmp_path / "keys" / "push.key")
    assert VapidKey.load_or_create(tmp_path / "keys" / "push.key").public_key == key.public_key  # kept
    assert oct((tmp_path / "keys" / "push.key").stat().st_mode & 0o777) == "0o600"
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    header = key.authorization(
        "https://push.example.net:8443/wpush/v2/abc?x=1", sub="mailto:ops@example.org", at=now
    )
    claims = check_vapid(
        header, public_key=key.public_key, endpoint_origin="https://push.example.net:8443", now=now
    )
    assert claims["sub"] == "mailto:ops@example.org"
    tampered = header.replace("t=", "t=x", 1)
    with pytest.raises(Exception):  # noqa: B017 - any failure of the check is a refusal
        check_vapid(
            tampered, public_key=key.public_key, endpoint_origin="https://push.example.net:8443", now=now
        )
    (tmp_path / "bad.key").write_bytes(b"not a key")
    with pytest.raises(ValueError):
        VapidKey.load_or_create(tmp_path / "bad.key")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "base64url"),
        ("BCVx+sr7N", "base64url"),
        (b64url(b"\x04" + b"\x00" * 64), "not on the P-256 curve"),
        (b64url(b"\x02" + b"\x00" * 32), "65-byte"),
        (b64url(unb64url(UA_PUBLIC) + b"\x00"), "65-byte"),
        (UA_PUBLIC[:-1] + "9", "base64url"),
    ],
)
def test_bad_p256dh_keys_are_refused(text, message):
    with pytest.raises(InvalidEvent, match=message) as caught:
        check_p256dh(text)
    assert caught.value.field == "subscription.keys.p256dh"


def test_auth_secrets_are_16_bytes():
    assert check_auth(AUTH) == unb64url(AUTH)
    for bad in (b64url(bytes(15)), b64url(bytes(17)), "not base64!", 7):
        with pytest.raises(InvalidEvent) as caught:
            check_auth(bad)
        assert caught.value.field == "subscription.keys.auth"
