"""farmtrace.ledger: an append-only, tamper-evident log of opaque entries.

The log is an RFC 9162 Merkle tree with signed checkpoints in the C2SP tlog-checkpoint and
signed-note formats. It knows nothing of farms or HTTP: its maths (`merkle`, `note`,
`checkpoint`) is pure, and storage is passed in (`store`, `sqlstore`).
"""
