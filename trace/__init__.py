"""farmtrace.trace: the domain of the traceability ledger — parties, lots, events, rules and lineage.

This package's pure core turns what a party signs into exact bytes and back (`model`, its
`encoding` and the kind registry `model.kinds`), decides whether an event may be recorded (`rules`,
against the read-only `rules.StateReader` that the SQL repository and the in-memory
`rules.MemoryState` both implement), describes what accepting it changes (`rules.effects`),
walks a lot's history through splits and merges (`lineage`) and exports it as GS1 EPCIS 2.0
(`epcis`). None of it touches SQL, HTTP, files or the clock: time is passed in.
"""
