"""Checks: may I spend this? Checks, reservations, a policy's standing, counters seeded from the rollups."""
