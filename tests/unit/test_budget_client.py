"""BudgetClient against a scripted HTTP server on loopback: retries, token refresh, fail modes and
what the service's answers become. (Against the real service: tests/e2e/test_budget_client.py.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from budget_sdk import (
    AsyncBudgetClient,
    BudgetClient,
    BudgetError,
    BudgetExceeded,
    BudgetServiceUnavailable,
    ClientCredentials,
)
from tests.support.scripted_http import ScriptedServer

CHECK_ALLOWED = {
    "allowed": True,
    "decision": "allow",
    "estimated_cost_usd": "0.10",
    "policies": [],
    "blocking_policy_ids": [],
}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def _client(url: str, **options: Any) -> BudgetClient:
    return BudgetClient(
        url, **{"token": "t0", "base_backoff_seconds": 0.001, "sleep": lambda _: None, **options}
    )


def test_a_busy_service_is_retried_and_a_reserve_keeps_its_idempotency_key(server: ScriptedServer) -> None:
    # Given a service throttled once and then briefly unavailable
    held = {
        "reservation_id": "res_" + "a" * 28,
        "amount_usd": "0.50",
        "expires_at": "2026-12-03T10:05:00+00:00",
    }
    server.then(429, Retry_After="0").then(503).then(201, {**held, "policy_ids": ["pol_1"]})
    # When a reservation is asked for
    hold = _client(server.url).reserve("0.50", user_id="alice", ttl_seconds=300)
    # Then it is held on the third try, every try carrying the same idempotency key
    assert (hold.reservation_id, hold.amount_usd, hold.policy_ids) == (
        held["reservation_id"],
        Decimal("0.50"),
        ["pol_1"],
    )
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert len(server.requests) == 3
    assert len(keys) == 1
    assert json.loads(server.requests[0]["body"]) == {
        "user_id": "alice",
        "estimated_cost_usd": "0.50",
        "ttl_seconds": 300,
    }


def test_a_hard_budget_in_the_way_raises_budget_exceeded_with_what_remains(server: ScriptedServer) -> None:
    details = [{"policy_id": "pol_team", "limit_usd": "10.00", "remaining_usd": "0.04"}]
    server.then(
        409, {"error": {"code": "budget_exceeded", "message": "would pass a hard limit", "details": details}}
    )
    with pytest.raises(BudgetExceeded) as raised:
        _client(server.url).reserve("0.05", team_id="research")
    assert raised.value.blocking_policy_ids == ["pol_team"]
    assert raised.value.blocking[0].remaining_usd == Decimal("0.04")
    assert len(server.requests) == 1  # a decision is not retried


def test_an_expired_token_is_asked_for_again_once(server: ScriptedServer) -> None:
    # Given a token provider, and a service that refuses the first token
    tokens = iter(["old", "new"])
    server.then(401, {"error": {"code": "unauthenticated", "message": "expired"}}).then(200, CHECK_ALLOWED)
    client = _client(server.url, token=None, token_provider=lambda: next(tokens))
    # When a check is made, then the provider is asked again and the check goes through
    assert client.check("0.10").allowed is True
    assert [r["headers"]["Authorization"] for r in server.requests] == ["Bearer old", "Bearer new"]
    assert client.stats.token_refreshes == 1


def test_a_token_refused_twice_is_an_error_that_says_so(server: ScriptedServer) -> None:
    refused = {"error": {"code": "unauthenticated", "message": "bad signature"}}
    server.then(401, refused).then(401, refused)
    with pytest.raises(BudgetError) as raised:
        _client(server.url, token=None, token_provider=lambda: "t").check("0.10")
    assert (raised.value.status, raised.value.code) == (401, "unauthenticated")


def test_an_unreachable_service_fails_closed_or_open_as_configured() -> None:
    # Given nothing listening where the service should be
    closed = _client("http://127.0.0.1:9", max_attempts=2)
    opened = _client("http://127.0.0.1:9", max_attempts=2, fail_mode="open")
    # Then a closed client raises, naming why; an open one allows, says so and counts it
    with pytest.raises(BudgetServiceUnavailable, match="after 2 attempts"):
        closed.check("0.10")
    check = opened.check("0.10", user_id="alice")
    hold = opened.reserve("0.10")
    assert (check.allowed, check.failed_open, hold.failed_open, hold.reservation_id) == (
        True,
        True,
        True,
        None,
    )
    assert opened.stats.failed_open == 2
    # And a settle never fails open: its usage would be lost
    with pytest.raises(BudgetServiceUnavailable):
        opened.settle("res_" + "b" * 28, kind="custom", cost_usd="0.10")


def test_a_refused_request_is_an_error_naming_the_field_and_is_not_retried(server: ScriptedServer) -> None:
    server.then(
        422, {"error": {"code": "validation_failed", "message": "bad", "details": [{"field": "usage"}]}}
    )
    with pytest.raises(BudgetError) as raised:
        _client(server.url).check(usage={"input_tokens": -1})
    assert raised.value.details == [{"field": "usage"}]
    assert len(server.requests) == 1


def test_money_never_travels_as_a_float(server: ScriptedServer) -> None:
    with pytest.raises(TypeError, match="float"):
        _client(server.url).check(0.1)  # type: ignore[arg-type]
    assert server.requests == []


def test_policies_are_read_page_by_page(server: ScriptedServer) -> None:
    server.then(200, {"items": [{"policy_id": "p1"}], "next_token": "n1"}).then(
        200, {"items": [{"policy_id": "p2"}]}
    )
    assert [p["policy_id"] for p in _client(server.url).policies()] == ["p1", "p2"]
    assert "next_token=n1" in server.requests[1]["path"]


def test_the_async_client_answers_the_same(server: ScriptedServer) -> None:
    server.then(200, CHECK_ALLOWED)
    client = AsyncBudgetClient(server.url, token="t")
    result = asyncio.run(client.check("0.10"))
    assert (result.allowed, result.estimated_cost_usd) == (True, Decimal("0.10"))


def test_client_credentials_fetch_a_token_keep_it_and_fetch_again_after_invalidate(
    server: ScriptedServer,
) -> None:
    server.then(200, {"access_token": "a1", "expires_in": 3600}).then(
        200, {"access_token": "a2", "expires_in": 3600}
    )
    credentials = ClientCredentials(f"{server.url}/oauth2/token", "client", "secret", scope="budget/service")
    assert (credentials(), credentials()) == ("a1", "a1")
    credentials.invalidate()
    assert credentials() == "a2"
    form = server.requests[0]["body"].decode()
    assert "grant_type=client_credentials" in form
    assert "scope=budget%2Fservice" in form


def test_record_sends_one_checked_event_and_raises_what_the_service_refuses(server: ScriptedServer) -> None:
    # Given a service that accepts one event and then refuses one
    server.then(202, {"accepted": 1, "failed": []})
    server.then(
        202, {"accepted": 0, "failed": [{"index": 0, "event_id": "e2", "code": "x", "message": "no"}]}
    )
    client = _client(server.url)
    # When usage is recorded with no reservation
    event_id = client.record(
        kind="llm", provider="openai", model="gpt-4o", usage={"input_tokens": 5}, user_id="a"
    )
    # Then one event went out, with an id, a zoned timestamp and no tenant (the token's)
    sent = json.loads(server.requests[0]["body"])["events"]
    assert [e["event_id"] for e in sent] == [event_id]
    assert sent[0]["timestamp"].endswith("+00:00")
    assert "tenant_id" not in sent[0]
    # And an event the service refuses raises, and one its rules refuse never leaves the process
    with pytest.raises(BudgetError, match="no"):
        client.record(event_id="e2", kind="llm", provider="openai", model="gpt-4o")
    with pytest.raises(ValueError, match=r"usage\.cache_read_tokens"):
        client.record(
            kind="llm", provider="openai", model="m", usage={"input_tokens": 1, "cache_read_tokens": 2}
        )
    assert len(server.requests) == 2
