"""Checks: counters and holds on the BudgetTable, reservations and their settlement."""
