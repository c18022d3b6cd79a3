"""farmtrace.trace.model: the pure event model — what a party signs, and its exact bytes.

    reader     the strict JSON reader (`Obj`), `parse_time`, the field checks, and `wire_form`: a class
               declares each field once and gets its KEYS, parse and to_wire from the declaration
    values     Location, Product, LotRef, LotOut, Price, Sensor, Document, KeyRecord, PartyRecord
    details    the kind-specific `*Detail` classes
    kinds      the kind registry: KIND_REGISTRY, KINDS, LOT_KINDS, PARTY_KINDS
    event      Event, EVENT_FIELDS (the one wire field list), the shape and price rules
    encoding   canonical bytes, event ids, signatures, ledger entries (`split_entry`)
    canonical  RFC 8785 bytes of a wire form
    ids        lot codes, party ids, GTINs, GLNs, key ids
    units      units of measure and decimal quantities

Plain dataclasses and plain parsers: the write path's speed work patches them at run time from one
place, trace/ingest/speed.py.

Nothing here touches SQL, HTTP, files or the clock. Whether an event may be recorded, and what it
changes, is `farmtrace.trace.rules`.

Adding an event kind (a checklist; the tests named fail until each step is done):

1. details.py: its `*Detail` class, its fields declared once under `@wire_form` (reader.py's
   `text_field`, `decimal_field`, `value_field`, ...), in `__all__`.
2. kinds.py: its `KindSpec` in `_SPECS` (detail class, roles, shape, label key, the rule flags).
   KINDS, DETAIL_TYPES, rules.ROLES_FOR and the shape and price rules follow from it.
3. rules/check.py, rules/effects.py: any check or effect its flags do not express (they dispatch
   on the detail's class); rules.RULES if it brings a new refusal.
4. tests/trace/story.py: a sample wire form (test_samples_cover_every_kind); tests/trace/test_rules.py
   cases for its rules.
5. Above this package: its name under `label_key` in web's catalogues, its line on the consumer page
   and in the portal, trace/epcis.py (its EPCIS event type) and trace/exports.py (its columns).
6. Only a new top-level field changes the bytes: that is a new encoding version with its own field
   list (event.EVENT_FIELDS), never an edit of version 1's.
"""
