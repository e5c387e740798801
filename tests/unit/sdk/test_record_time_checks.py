"""What the recorder refuses at record time (the service's rules, named), and how HttpTransport
keeps to the API's limits and tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from budget_core.domain.usage.units import USAGE_KEY_ANCESTORS
from budget_sdk import BudgetRecorder, HttpTransport
from budget_sdk.usage_keys import USAGE_KEY_ANCESTORS as SDK_USAGE_KEYS
from tests.support.scripted_http import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def _recorder(server: ScriptedServer, **options: object) -> BudgetRecorder:
    transport = HttpTransport(server.url, **{"token": "t", **options})  # type: ignore[arg-type]
    return BudgetRecorder(transport, flush_at_exit=False, base_backoff_seconds=0.001, max_attempts=2)


def test_the_sdks_usage_keys_are_the_services() -> None:
    assert SDK_USAGE_KEYS == USAGE_KEY_ANCESTORS


@pytest.mark.parametrize(
    ("call", "field"),
    [
        # Anthropic's raw usage: input_tokens leaves the 50,000 cache reads out
        (
            {"input_tokens": 1_000, "output_tokens": 10, "cache_read_tokens": 50_000},
            "usage.cache_read_tokens",
        ),
        (
            {"input_tokens": 10, "output_tokens": 10, "usage": {"cache_write_1h_tokens": 5}},
            "usage.cache_write_1h_tokens",
        ),
        ({"input_tokens": 10, "output_tokens": 10, "usage": {"input_words": 5}}, "usage.input_words"),
        ({"input_tokens": 10, "output_tokens": 10, "user_id": "has spaces"}, "user_id"),
        ({"input_tokens": 10, "output_tokens": 10, "service_tier": "turbo"}, "service_tier"),
        ({"input_tokens": -1, "output_tokens": 10}, "usage.input_tokens"),
    ],
)
def test_an_event_the_service_would_refuse_is_refused_when_recorded_naming_the_field(
    server: ScriptedServer, call: dict[str, object], field: str
) -> None:
    recorder = _recorder(server)
    with pytest.raises(ValueError, match=f"^{field}"):
        recorder.record_llm_usage(provider="anthropic", model="claude-sonnet-4-5", **call)  # type: ignore[arg-type]
    assert recorder.stats.recorded == 0
    assert recorder.close(timeout=1)
    assert server.requests == []


def test_batches_stay_under_the_apis_body_limit_and_a_413_is_split(server: ScriptedServer) -> None:
    # Given 500 events with metadata (~300 KB in all, over the API's 256 KiB)
    for _ in range(10):
        server.then(202, {"accepted": 1, "failed": []})
    server.script.insert(0, (413, {"error": {"code": "payload_too_large", "message": "too large"}}, {}))
    recorder = _recorder(server)
    metadata = {f"k{i}": "v" * 30 for i in range(15)}
    for _ in range(500):
        recorder.record_usage(cost_usd="0.01", user_id="alice", metadata=metadata)
    # When they are flushed (the first body answered 413)
    assert recorder.close(timeout=10)
    # Then every body kept under 256 KiB, the refused one was split, and all 500 were sent
    assert all(len(r["body"]) <= 256 * 1024 for r in server.requests)
    assert len(server.requests) >= 3
    sent = sum(len(json.loads(r["body"])["events"]) for r in server.requests[1:])
    assert sent == 500
    assert (recorder.stats.sent, recorder.stats.refused, recorder.stats.failed) == (500, 0, 0)


def test_an_expired_token_is_asked_for_again_and_a_fixed_one_says_why_it_failed(
    server: ScriptedServer,
) -> None:
    expired = {"error": {"code": "unauthenticated", "message": "token expired"}}
    # Given a provider whose first token has expired
    tokens = iter(["old", "new"])
    server.then(401, expired).then(202, {"accepted": 1, "failed": []})
    with_provider = _recorder(server, token=None, token_provider=lambda: next(tokens))
    with_provider.record_usage(cost_usd="0.01")
    assert with_provider.close(timeout=5)
    assert with_provider.stats.sent == 1
    assert [r["headers"]["Authorization"] for r in server.requests] == ["Bearer old", "Bearer new"]
    # Given a fixed token that has expired: the event is not sent, and the stats say it was the 401
    server.then(401, expired)
    fixed = _recorder(server)
    fixed.record_usage(cost_usd="0.01")
    assert fixed.close(timeout=5)
    assert fixed.stats.refused == 1
    assert fixed.stats.last_failure is not None
    assert fixed.stats.last_failure.startswith("HTTP 401 unauthenticated: token expired")
    assert "token_provider" in fixed.stats.last_failure


def test_a_providers_own_usage_object_is_sent_as_provider_usage(server: ScriptedServer) -> None:
    # Given Anthropic's raw usage, whose input_tokens leaves the cache reads out
    server.then(202, {"accepted": 1, "failed": []})
    raw = {"input_tokens": 1_000, "cache_read_input_tokens": 50_000, "output_tokens": 2_000}
    recorder = _recorder(server)
    # When it is recorded as the provider's usage object
    recorder.record_usage(kind="llm", provider="anthropic", model="claude-sonnet-4-5", provider_usage=raw)
    recorder.close()
    # Then it travels as provider_usage (read by the service with Anthropic's conventions), unconverted
    (sent,) = json.loads(server.requests[0]["body"])["events"]
    assert sent["provider_usage"] == raw
    assert "usage" not in sent
    # And usage given twice is refused at once
    with pytest.raises(ValueError, match="usage or provider_usage"):
        recorder.record_usage(
            kind="llm", provider="anthropic", model="m", provider_usage=raw, usage={"input_tokens": 1}
        )
