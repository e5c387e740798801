"""Guarded provider clients: which calls are paid, what each may cost, and where its usage is."""
