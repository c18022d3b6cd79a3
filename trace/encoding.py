"""Transitional: moved to farmtrace.trace.model.encoding; this module re-exports it for old imports.

`V1_FIELDS` is now `farmtrace.trace.model.event.EVENT_FIELDS`, the one wire field list.
"""

from .model.encoding import (
    ENCODING_VERSION,
    ENTRY_HEADER,
    SIGNATURE_SIZE,
    SIGNING_PREFIX,
    SignedEvent,
    decode_entry,
    decode_event,
    encode_entry,
    encode_event,
    event_id,
    sign_event,
    signing_message,
    split_entry,
    verify_signed_event,
)
from .model.event import EVENT_FIELDS as V1_FIELDS

__all__ = [
    "ENCODING_VERSION",
    "ENTRY_HEADER",
    "SIGNATURE_SIZE",
    "SIGNING_PREFIX",
    "V1_FIELDS",
    "SignedEvent",
    "decode_entry",
    "decode_event",
    "encode_entry",
    "encode_event",
    "event_id",
    "sign_event",
    "signing_message",
    "split_entry",
    "verify_signed_event",
]
