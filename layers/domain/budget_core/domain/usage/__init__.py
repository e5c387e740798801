"""Usage: the event, ingestion exactly once, pricing, and the queries over the rollups."""
