"""Usage: the ledger (events and counters in one transaction), rollups, the stream, dead letters."""
