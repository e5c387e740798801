"""Policies on the BudgetTable, the tenant's configuration read, lifecycle events on EventBridge."""
