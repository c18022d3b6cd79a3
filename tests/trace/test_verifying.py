"""trace/ingest/verifying.py: the same verdicts inline and on worker processes, and survival of a dead worker."""

from __future__ import annotations

import os
import signal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from farmtrace.trace.ingest import verifying
from farmtrace.trace.model.encoding import SIGNING_PREFIX


def _work(n: int) -> tuple[list[verifying.Work], list[bool]]:
    """n signatures: valid ones, a flipped bit, another key's, a key that is not a curve point, a short signature."""
    keys = [Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in range(3)]
    raw = [k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for k in keys]
    work, want = [], []
    for i in range(n):
        canonical = b'{"n":%d}' % i
        sig = keys[i % 3].sign(SIGNING_PREFIX + canonical)
        case = i % 5
        if case == 1:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        public = raw[(i + 1) % 3] if case == 2 else raw[i % 3]
        if case == 3 and i % 2:
            public = b"\xff" * 32  # not a valid encoding of a point
        if case == 4 and i % 3 == 0:
            sig = sig[:63]
        work.append((public, sig, canonical))
        want.append(case == 0 or (case == 3 and not i % 2) or (case == 4 and i % 3 != 0))
    return work, want


@pytest.fixture
def workers():
    def use(n):
        verifying.configure(n)

    yield use
    verifying.configure(None)


def test_inline_and_pooled_verdicts_agree(workers) -> None:
    work, want = _work(600)
    workers(0)
    assert verifying.verify_all(work) == want
    workers(2)
    assert verifying.verify_all(work) == want
    assert verifying.verify_all(work[:5]) == want[:5]  # a short run is verified inline
    assert verifying.verify_all([]) == []


def test_a_killed_worker_does_not_lose_verdicts(workers) -> None:
    work, want = _work(3 * verifying.CHUNK)
    workers(1)
    verifying.warm_up()
    assert verifying.verify_all(work) == want
    pool = verifying._pool
    assert pool is not None
    for pid in list(pool._processes):  # the worker dies (killed, out of memory)
        os.kill(pid, signal.SIGKILL)
    assert verifying.verify_all(work) == want
    assert verifying.verify_all(work) == want  # and a new pool serves the next run


def test_configure_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError):
        verifying.configure(-1)
