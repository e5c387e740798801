"""The sample events of events/ (the same files `sam local invoke -e` takes), shaped per use:
tests and the demo load them here, so there is one corpus."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"  # tools/budget_service/emulator -> root


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
    reservation_id: str | None = None,
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
    for name, value in (("policy_id", policy_id), ("reservation_id", reservation_id)):
        if value is not None:
            old_id = event["pathParameters"][name]
            event["pathParameters"][name] = value
            event["rawPath"] = event["rawPath"].replace(old_id, value)
            event["requestContext"]["http"]["path"] = event["rawPath"]
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    for header in drop_headers:
        event["headers"].pop(header, None)
    event["headers"].update(headers or {})
    return event


USAGE_SOURCES_DIR = EVENTS_DIR / "usage_ingest" / "sources"
SAMPLE_EPOCH = "2026-11-29T10:05:00+00:00"  # the "now" the sources were written for
SAMPLE_STREAM_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/budget-usage"


def usage_sources(include_poison: bool) -> list[tuple[str, bytes]]:
    """(file name, record data) of events/usage_ingest/sources, in name order."""
    found = []
    for path in sorted(USAGE_SOURCES_DIR.iterdir()):
        if path.name.startswith("9") and not include_poison:
            continue
        raw = path.read_bytes()
        if path.suffix == ".json":
            raw = json.dumps(json.loads(raw), separators=(",", ":")).encode()
        else:
            raw = raw.rstrip(b"\n")
        found.append((path.name, raw))
    return found


def kinesis_sample(include_poison: bool, shift: Any = None) -> dict[str, Any]:
    """Lambda's Kinesis event for the sources; ``shift`` (a timedelta) moves every timestamp."""
    from budget_service.emulator.kinesis_events import lambda_event

    records = []
    for index, (_, data) in enumerate(usage_sources(include_poison)):
        if shift is not None and data.startswith(b"{"):
            event = json.loads(data)
            moved = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) + shift
            event["timestamp"] = moved.isoformat().replace("+00:00", "Z")
            data = json.dumps(event, separators=(",", ":")).encode()
        partition = json.loads(data).get("tenant_id", "unknown") if data.startswith(b"{") else "unknown"
        records.append(
            {
                "Data": data,
                "PartitionKey": partition,
                "SequenceNumber": f"4963{index + 1:056d}",
                "ApproximateArrivalTimestamp": 1795947900.0 + index,
            }
        )
    return lambda_event(records, SAMPLE_STREAM_ARN, "eu-west-1")


def write_kinesis_samples(restamp: bool = False) -> list[Path]:
    """(Re)writes events/usage_ingest/kinesis_*.json from the sources (``restamp``: to now)."""
    shift = None
    if restamp:
        shift = datetime.now(UTC).replace(microsecond=0) - datetime.fromisoformat(SAMPLE_EPOCH)
    written = []
    for name, poison in (("kinesis_batch.json", False), ("kinesis_with_poison.json", True)):
        path = EVENTS_DIR / "usage_ingest" / name
        path.write_text(json.dumps(kinesis_sample(poison, shift), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
