"""Typed answers to the domain's reads, one module per audience; `TraceService` delegates to them.

lots       LotSummary, TraceGraph: a lot and its lineage
recalls    RecallReach: what a recall of a lot reaches (lots, holders, shipment lines)
journeys   Journey, ProvenEntry: the consumer's evidence bundle (checked by verify.js and trace/verify_journey.py)
parties    PartySummary, Anomaly: the public register of parties, refused events (a party's
           typed answer is PartySummary, not PartyPublic: that name is the API's wire model)
portal     Holding, Incoming, Shipment: a party's own view
reports    PriceRow, RecallNotice, EntryRecord: the regulator's reports and the home page's notices
events     LoggedEvent: the signed events themselves, by id, by time, by lineage; their EPCIS document

Each function takes the SQL engine (and the ledger's `Log` where it reads entries) and returns
frozen dataclasses; all SQL is in trace/store (lot_queries, party_queries, queries).
"""
