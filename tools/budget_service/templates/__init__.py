"""The SAM template as data: its model, the checks CI runs on it, and what is provisioned from
it."""
