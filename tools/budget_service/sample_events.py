"""The sample events of events/ (the same files `sam local invoke -e` takes), shaped per use:
tests and the demo load them here, so there is one corpus."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"  # tools/budget_service -> root


@cache
def _read(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(_read(name))


_UNSET: Any = object()


def api_event(
    name: str,
    *,
    tenant: str | None = "tenant-acme",
    roles: Any = _UNSET,
    body: Any = _UNSET,
    raw_body: str | None = None,
    policy_id: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    drop_headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event from ``events/policy_api/<name>.json`` with the claims, body,
    path id, query and headers a test needs."""
    event = load_event(f"policy_api/{name}.json")
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    if tenant is None:
        claims.pop("tenant_id", None)
    else:
        claims["tenant_id"] = tenant
    if roles is None:
        claims.pop("roles", None)
    elif roles is not _UNSET:
        claims["roles"] = roles
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not _UNSET:
        event["body"] = json.dumps(body)
    if policy_id is not None:
        old_id = event["pathParameters"]["policy_id"]
        event["pathParameters"]["policy_id"] = policy_id
        for key in ("rawPath",):
            event[key] = event[key].replace(old_id, policy_id)
        event["requestContext"]["http"]["path"] = event["rawPath"]
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    for header in drop_headers:
        event["headers"].pop(header, None)
    event["headers"].update(headers or {})
    return event
