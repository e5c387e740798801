"""The Kinesis sample events of events/usage_ingest (what `sam local invoke -e` takes) through the
real handler, with the clock at the moment the samples were written for."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

import ingest_bootstrap
import usage_ingest_app
from budget_core.platform.settings import IngestSettings, settings_of
from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.emulator.sample_events import EVENTS_DIR, SAMPLE_EPOCH, kinesis_sample, load_event
from tests.support.aws import AwsResources
from tests.support.clocks import FixedClock
from tests.support.handlers import install_clock
from tests.support.ledger_reads import daily_rollup, usage_record
from tests.support.provider_samples import GOLDEN, SAMPLES
from tests.support.usage_stream import UsageStreamDriver


def test_the_committed_samples_are_built_from_the_current_sources() -> None:
    for name, poison in (("kinesis_batch.json", False), ("kinesis_with_poison.json", True)):
        committed = json.loads((EVENTS_DIR / "usage_ingest" / name).read_text())
        assert committed == kinesis_sample(poison), f"run `budget-service make-events` to rebuild {name}"


def test_the_poison_sample_commits_the_valid_records_and_dead_letters_the_rest(
    aws: AwsResources, fresh_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_bootstrap.install(
        ingest_bootstrap.IngestRoot(
            settings_of(IngestSettings), FixedClock(datetime.fromisoformat(SAMPLE_EPOCH))
        )
    )
    result = usage_ingest_app.handler(
        load_event("usage_ingest/kinesis_with_poison.json"), LocalLambdaContext()
    )
    assert result == {"batchItemFailures": []}
    # The five distinct events count once each (the producer retry of 000101 does not)
    rollup = daily_rollup(aws, "tenant-acme", "2026-11-29")
    assert (rollup["events"], rollup["unpriced_events"]) == (5, 1)
    assert rollup["images"] == 2
    assert Decimal(usage_record(aws, "tenant-acme", "gw-2026-11-29-000103")["cost_usd"]) == Decimal("0.240")
    assert Decimal(usage_record(aws, "tenant-acme", "batch-2026-11-29-embeddings")["cost_usd"]) == Decimal(
        "3.125"
    )
    # And the three poison records wait in the DLQ with their reasons
    reasons = sorted(letter["reason"] for letter in aws.dead_letters())
    assert len(reasons) == 3
    assert any("not a JSON object" in r for r in reasons)
    assert any("kind" in r and "input_tokens" in r for r in reasons)
    assert any("future" in r for r in reasons)


def test_recorded_provider_usage_samples_are_counted_at_their_list_prices(
    aws: AwsResources, fresh_handlers: None
) -> None:
    # Given every recorded provider response of events/usage_ingest/provider_usage on the stream,
    # arriving when they were recorded
    samples = [json.loads((SAMPLES / name).read_text()) for name in sorted(GOLDEN)]
    clock = FixedClock(datetime.fromisoformat(samples[0]["timestamp"]))
    install_clock(clock)
    stream = UsageStreamDriver(aws, clock=clock)
    # When the real handler takes them as one batch
    assert stream.deliver(samples) == {"batchItemFailures": []}
    # Then each is recorded at its golden figure, and nothing is dead-lettered
    assert aws.dead_letters() == []
    for name, sample in zip(sorted(GOLDEN), samples, strict=True):
        recorded = usage_record(aws, "tenant-acme", sample["event_id"])
        assert Decimal(recorded["cost_usd"]) == Decimal(GOLDEN[name][0]), name
