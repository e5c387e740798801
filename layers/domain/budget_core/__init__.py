"""Shared code of the Budget Service functions, shipped as the DomainLayer.

- ``budget_core.domain``: models, rules and services; knows nothing of Lambda or AWS.
- ``budget_core.adapters``: DynamoDB and EventBridge implementations of the domain's ports.
- ``budget_core.platform``: settings, observability and the HTTP error mapping shared by handlers.
"""
