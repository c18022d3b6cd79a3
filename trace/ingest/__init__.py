"""farmtrace.trace.ingest: the write path, from signed ledger entries to receipts.

    record     Recorder.record_many: decode -> keys -> verify -> runs -> receipts; Receipt
               Recorder.project_many: the same for entries already logged (the replay audit)
    runs       Run, the ledger's `select` hook deciding and applying a run of events in one transaction
    verifying  Ed25519 verification of many events on worker processes
    speed      HAZMAT: every performance trick of the write path (patches on the plain model), measured

The bulk SQL applier the runs drive is trace/store/bulk.py. Performance work is allowed in this
package only, and patches on other modules only in `speed`.
"""
