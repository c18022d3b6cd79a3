"""The domain rules at capture: may this event be recorded now, and what does recording it change?

    view      StateReader, the read-only state the rules need, and the state types it returns
    check     check_event (steps 1-7) and check_genesis; RULES, ROLES_FOR
    goods     steps 8-10: custody, quantities, clearance; TOLERANCE
    effects   effects(event, event_id) -> Effects, plain data; inherited_flags
    memory    MemoryState, the in-memory StateReader and the executable spec of applying Effects

`check_event(event, view, *, now)` returns None or raises `RuleViolation` with a code in `RULES`;
`effects(event, event_id)` then describes what accepting the event changes. Which kinds a rule
concerns is read from the kind registry, `farmtrace.trace.model.kinds`.

This package re-exports the public names of all five, so `from farmtrace.trace.rules import
check_event` reads well. `Received` is a received quantity (`service.Receipt` is the ledger's
receipt).
"""

from .check import RECEIVING_ROLES, ROLES_FOR, RULES, check_event, check_genesis
from .effects import (
    CertificateRecorded,
    Disposal,
    Effects,
    HoldingDelta,
    KeyAdded,
    KeyRevoked,
    LotFlag,
    NewLot,
    PartyChange,
    PartyRegistered,
    PartySuspended,
    Received,
    effects,
    inherited_flags,
)
from .goods import TOLERANCE
from .memory import MemoryState
from .view import FLAGS, PROPAGATED_FLAGS, KeyState, LotState, PartyState, StateReader, Transit

__all__ = [
    "FLAGS",
    "PROPAGATED_FLAGS",
    "RECEIVING_ROLES",
    "ROLES_FOR",
    "RULES",
    "TOLERANCE",
    "CertificateRecorded",
    "Disposal",
    "Effects",
    "HoldingDelta",
    "KeyAdded",
    "KeyRevoked",
    "KeyState",
    "LotFlag",
    "LotState",
    "MemoryState",
    "NewLot",
    "PartyChange",
    "PartyRegistered",
    "PartyState",
    "PartySuspended",
    "Received",
    "StateReader",
    "Transit",
    "check_event",
    "check_genesis",
    "effects",
    "inherited_flags",
]
