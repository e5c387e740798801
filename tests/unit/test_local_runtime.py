"""The local runner's own parts against fakes of its own interfaces: the HTTP API gateway and the
event source mapping (retries, partial batch responses, bisect, the on-failure destination)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from budget_service.emulator.table_stream_events import StreamFilter
from budget_service.local.event_sources import EventSourceMapping, MappingConfig, schedule_seconds
from budget_service.local.functions import FunctionSpec, LocalFunction
from budget_service.local.http_gateway import LocalHttpApi, Route, template_routes
from budget_service.local.tokens import TokenVerifier, gateway_claims, make_token
from budget_service.templates.model import load_template


def _function(handler: Any) -> LocalFunction:
    spec = FunctionSpec("Fn", "functions/x", "x.handler", {}, {}, timeout_seconds=3, memory_mb=128)
    return LocalFunction(spec, handler)


@pytest.fixture
def gateway(tmp_path: Path) -> tuple[LocalHttpApi, list[dict[str, Any]], Path]:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        if event["rawPath"].endswith("/boom"):
            raise RuntimeError("the handler broke")
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok": true}'}

    routes = [r for r in template_routes(load_template()) if r.function_id == "PolicyApiFunction"]
    functions = {"PolicyApiFunction": _function(handler)}
    api = LocalHttpApi(routes, functions, TokenVerifier(tmp_path, ["budget-service"]), port=0)
    return api, seen, tmp_path


def test_a_request_becomes_a_payload_2_event_with_the_verified_claims(
    gateway: tuple[LocalHttpApi, list[dict[str, Any]], Path],
) -> None:
    api, seen, state = gateway
    token = make_token(state, "acme", ["admin", "viewer"], "budget-service")
    status, _, body = api.answer(
        "GET", "/v1/policies/pol_1?limit=5&limit=6", {"Authorization": f"Bearer {token}"}, b"", "10.0.0.1"
    )
    assert (status, json.loads(body)) == (200, {"ok": True})
    (event,) = seen
    assert event["routeKey"] == "GET /v1/policies/{policy_id}"
    assert event["pathParameters"] == {"policy_id": "pol_1"}
    assert event["queryStringParameters"] == {"limit": "5,6"}
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert (claims["tenant_id"], claims["roles"]) == ("acme", "[admin viewer]")


def test_unknown_routes_bad_tokens_and_a_raising_handler_get_api_gateway_answers(
    gateway: tuple[LocalHttpApi, list[dict[str, Any]], Path],
) -> None:
    api, _, state = gateway
    good = {"authorization": f"Bearer {make_token(state, 'acme', ['admin'], 'budget-service')}"}
    expired = {"authorization": f"Bearer {make_token(state, 'acme', ['admin'], 'budget-service', -5)}"}
    other_audience = {"authorization": f"Bearer {make_token(state, 'acme', ['admin'], 'elsewhere')}"}
    assert api.answer("GET", "/v1/nowhere", good, b"", "ip")[0] == 404
    assert api.answer("PUT", "/v1/policies", good, b"", "ip")[0] == 404
    assert api.answer("GET", "/v1/policies", expired, b"", "ip")[0] == 401
    assert api.answer("GET", "/v1/policies", other_audience, b"", "ip")[0] == 401
    assert api.answer("GET", "/v1/policies", {}, b"", "ip")[0] == 401
    # A handler that raises: 500 like API Gateway, and the next request is served
    api.routes.append(Route("GET", "/v1/boom", "PolicyApiFunction", re.compile("^/v1/boom$")))
    status, _, body = api.answer("GET", "/v1/boom", good, b"", "ip")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert api.answer("GET", "/v1/policies", good, b"", "ip")[0] == 200


def test_list_claims_are_flattened_like_api_gateway_does() -> None:
    assert gateway_claims({"roles": ["a", "b"], "exp": 5}) == {"roles": "[a b]", "exp": "5"}


class ListSource:
    arn = "arn:aws:kinesis:local:1:stream/s"
    kind = "Kinesis"

    def __init__(self, count: int) -> None:
        self.records = [{"kinesis": {"sequenceNumber": str(n)}, "n": n} for n in range(1, count + 1)]

    def shards(self) -> list[str]:
        return ["shard-0"]

    def read(self, shard_id: str, limit: int) -> list[dict[str, Any]]:
        taken, self.records = self.records[:limit], self.records[limit:]
        return taken

    def sequence_number(self, record: dict[str, Any]) -> str:
        return str(record["kinesis"]["sequenceNumber"])


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.sent.append(json.loads(MessageBody))


def _mapping(handler: Any, source: ListSource, queue: RecordingQueue, **config: Any) -> EventSourceMapping:
    settings = {
        "batch_size": 10,
        "window_seconds": 0.0,
        "bisect": False,
        "max_retries": 2,
        "report_item_failures": True,
        "filter": StreamFilter(),
        "on_failure_arn": "dlq-arn",
        **config,
    }
    return EventSourceMapping(
        "Fn.Stream", source, _function(handler), MappingConfig(**settings), queue, {"dlq-arn": "dlq-url"},
        log=lambda line: None,
    )  # fmt: skip


def test_a_partial_failure_is_retried_from_the_lowest_failed_record() -> None:
    batches: list[list[int]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        numbers = [r["n"] for r in event["Records"]]
        batches.append(numbers)
        return {"batchItemFailures": [{"itemIdentifier": "4"}] if len(batches) == 1 else []}

    source, queue = ListSource(6), RecordingQueue()
    mapping = _mapping(handler, source, queue)
    mapping._deliver("shard-0", source.read("shard-0", 10))
    assert batches == [[1, 2, 3, 4, 5, 6], [4, 5, 6]]
    assert queue.sent == []


def test_a_function_error_bisects_and_a_record_that_keeps_failing_goes_to_the_destination() -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if any(r["n"] == 3 for r in event["Records"]):
            raise ValueError("poison")
        return {"batchItemFailures": []}

    source, queue = ListSource(4), RecordingQueue()
    mapping = _mapping(handler, source, queue, bisect=True, max_retries=1)
    mapping._deliver("shard-0", source.read("shard-0", 10))
    (letter,) = queue.sent
    info = letter["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("3", "3", 1)
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_schedules_are_read_from_rate_expressions() -> None:
    assert schedule_seconds("rate(5 minutes)") == 300
    assert schedule_seconds("rate(1 hour)") == 3600
    with pytest.raises(ValueError, match="rate"):
        schedule_seconds("cron(0 12 * * ? *)")
