"""Policies: the model, the service that creates, edits and deletes them, which events they match."""
