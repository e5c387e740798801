"""Policies made through the real API, for the tests that need some in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def create_policy(api: Callable[..., Any], **fields: Any) -> str:
    """A $10 monthly hard limit on team "research" unless ``fields`` say otherwise; returns its id."""
    body = {
        "name": "p",
        "scope": {"type": "team", "id": "research"},
        "period": "month",
        "limit_usd": "10",
        **fields,
    }
    response = api("create_policy", body=body)
    assert response.status == 201, response.body
    return str(response.body["policy_id"])
