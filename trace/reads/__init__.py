"""Typed answers to the domain's reads, one module per audience; `TraceService` delegates to them.

lots       LotSummary, TraceGraph, RecallReach: a lot, its lineage, what a recall reaches
journeys   Journey, ProvenEntry: the consumer's evidence bundle (checked by verify.js and trace/verify_journey.py)
parties    PartySummary, Anomaly: the public register of parties, refused events
portal     Holding, Incoming, Shipment: a party's own view
reports    PriceRow, RecallNotice, EntryRecord: the regulator's reports and the home page's notices
events     the signed events themselves: by id, by time, by lineage; EPCIS documents of them

Each function takes the SQL engine (and the ledger's `Log` where it reads entries) and returns
frozen dataclasses; all SQL is in trace/store (lot_queries, party_queries, queries).
"""
