"""trace/store: the trace tables and every SQL statement over them; nothing else in trace speaks SQL.

    tables       the SQLModel tables (the projection of the ledger, and what stays off it)
    rows         each table's columns and row shapes, defined once for both appliers; in_chunks
    sql_state    Repository: the StateReader over SQL and apply(Effects), the reference applier
    bulk         BatchState: the bulk overlay, the reference's fast twin; driver: its SQL writer
    applications the enrolment desk's rows; audit_runs: the full audits' rows
    queries, lot_queries, party_queries   the read side's statements (trace/reads/)
    compare      the replay audit's row-by-row comparison; transfer: rows between databases
"""
