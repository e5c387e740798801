"""The producer SDK's buffer: flushes by count, size and age, retries what the stream rejects,
gives up loudly, never loses an event silently. The transport is a fake of the SDK's own interface."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from budget_sdk import BudgetRecorder, SendResult


@dataclass
class FakeTransport:
    max_records: int = 500
    max_bytes: int = 5 * 1024 * 1024
    batches: list[list[dict]] = field(default_factory=list)
    answers: list[SendResult] = field(default_factory=list)  # consumed one per send
    gate: threading.Event | None = None

    def send(self, records: list[tuple[str, bytes]]) -> SendResult:
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append([json.loads(data) for _, data in records])
        return self.answers.pop(0) if self.answers else SendResult()

    def delivered_ids(self) -> list[str]:
        return [event["event_id"] for batch in self.batches for event in batch]


def _recorder(transport: FakeTransport, **options: object) -> BudgetRecorder:
    defaults: dict[str, object] = {
        "max_age_seconds": 60.0,
        "flush_at_exit": False,
        "base_backoff_seconds": 0.001,
    }
    return BudgetRecorder(transport, tenant_id="tenant-acme", **{**defaults, **options})


def test_a_full_batch_is_sent_without_waiting_for_age_or_flush() -> None:
    transport = FakeTransport(max_records=3)
    recorder = _recorder(transport)
    ids = [recorder.record_usage(cost_usd="1") for _ in range(6)]
    # no flush(): two full batches leave on their own
    assert recorder.flush(timeout=5)
    assert [len(b) for b in transport.batches] == [3, 3]
    assert transport.delivered_ids() == ids


def test_batches_respect_the_byte_limit() -> None:
    transport = FakeTransport(max_bytes=600)
    recorder = _recorder(transport)
    for _ in range(5):
        recorder.record_usage(cost_usd="1", metadata={"note": "x" * 150})
    assert recorder.flush(timeout=5)
    assert len(transport.batches) >= 2
    for batch in transport.batches:
        assert sum(len(json.dumps(e, separators=(",", ":"))) for e in batch) <= 600


def test_an_old_enough_event_is_sent_on_its_own() -> None:
    transport = FakeTransport()
    recorder = _recorder(transport, max_age_seconds=0.01)
    event_id = recorder.record_usage(cost_usd="1")
    done = threading.Event()

    def wait_for_delivery() -> None:
        while event_id not in transport.delivered_ids():
            done.wait(0.01)
        done.set()

    threading.Thread(target=wait_for_delivery, daemon=True).start()
    assert done.wait(5), "the aged event was never sent"


def test_records_the_stream_rejects_are_sent_again_until_accepted() -> None:
    transport = FakeTransport(answers=[SendResult(retry=[1, 2]), SendResult(retry=[0])])
    recorder = _recorder(transport)
    ids = [recorder.record_usage(cost_usd="1") for _ in range(3)]
    assert recorder.flush(timeout=5)
    assert [len(b) for b in transport.batches] == [3, 2, 1]
    assert sorted(set(transport.delivered_ids())) == sorted(ids)
    assert (recorder.stats.sent, recorder.stats.retried, recorder.stats.failed) == (3, 3, 0)


def test_an_event_that_keeps_failing_is_given_up_loudly() -> None:
    transport = FakeTransport(answers=[SendResult(retry=[0], retry_reasons={0: "HTTP 503: busy"})] * 3)
    given_up: list[tuple[str, str]] = []
    recorder = _recorder(transport, max_attempts=3, on_give_up=lambda i, why: given_up.append((i, why)))
    event_id = recorder.record_usage(cost_usd="1")
    assert recorder.flush(timeout=5)
    assert recorder.stats.failed == 1
    # and the reason says what the last answer was, in the callback and in the stats
    assert given_up == [(event_id, "still not accepted after 3 attempts: HTTP 503: busy")]
    assert recorder.stats.not_sent == {"still not accepted after 3 attempts: HTTP 503: busy": 1}


def test_an_event_the_service_refuses_is_not_retried() -> None:
    transport = FakeTransport(answers=[SendResult(refused={0: "kind: invalid"})])
    given_up: list[tuple[str, str]] = []
    recorder = _recorder(transport, on_give_up=lambda i, why: given_up.append((i, why)))
    recorder.record_usage(cost_usd="1")
    assert recorder.flush(timeout=5)
    assert len(transport.batches) == 1
    assert recorder.stats.refused == 1
    assert given_up[0][1] == "kind: invalid"


def test_a_full_buffer_counts_what_it_drops_instead_of_blocking_the_caller() -> None:
    gate = threading.Event()
    transport = FakeTransport(max_records=1, gate=gate)  # the network hangs
    recorder = _recorder(transport, max_buffer_events=2, max_block_seconds=0.01)
    for _ in range(6):
        recorder.record_usage(cost_usd="1")
    assert recorder.stats.dropped >= 3
    gate.set()
    assert recorder.flush(timeout=5)
    assert recorder.stats.recorded + recorder.stats.dropped == 6
    assert recorder.stats.sent == recorder.stats.recorded


def test_llm_and_image_helpers_build_usage_events_v1() -> None:
    transport = FakeTransport()
    recorder = _recorder(transport)
    recorder.record_llm_usage(
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        output_tokens=350,
        cache_read_tokens=800,
        user_id="alice",
        team_id="research",
        event_id="e-1",
    )
    recorder.record_image_usage(
        provider="openai",
        model="dall-e-3",
        images=2,
        image_size="1024x1024",
        image_quality="hd",
        project_id="p1",
        cost_usd=Decimal("0.16"),
    )
    assert recorder.flush(timeout=5)
    llm, image = transport.batches[0]
    assert llm["event_id"] == "e-1"
    assert (llm["tenant_id"], llm["kind"], llm["usage"]) == (
        "tenant-acme",
        "llm",
        {"input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 800},
    )
    assert llm["timestamp"].endswith("+00:00")
    assert (image["kind"], image["operation"], image["cost_usd"]) == ("image", "images.generate", "0.16")
    assert image["event_id"].startswith("evt_")


def test_money_must_not_be_a_float() -> None:
    recorder = _recorder(FakeTransport())
    with pytest.raises(TypeError, match="float"):
        recorder.record_usage(cost_usd=0.1)  # type: ignore[arg-type]


def test_made_event_ids_are_unique_and_ordered_by_time() -> None:
    recorder = _recorder(FakeTransport())
    ids = [recorder.record_usage(cost_usd="0") for _ in range(200)]
    assert len(set(ids)) == 200
    assert [i[:16] for i in ids] == sorted(i[:16] for i in ids)


def test_the_buffer_is_flushed_when_the_program_exits(tmp_path: Path) -> None:
    # Given a program that records and exits without closing the recorder
    out = tmp_path / "sent.jsonl"
    program = textwrap.dedent(f"""
        import json
        from budget_sdk import BudgetRecorder, SendResult

        class FileTransport:
            max_records, max_bytes = 500, 5 * 1024 * 1024
            def send(self, records):
                with open({str(out)!r}, "a") as f:
                    for _, data in records:
                        f.write(data.decode() + "\\n")
                return SendResult()

        recorder = BudgetRecorder(FileTransport(), tenant_id="t", max_age_seconds=3600)
        for i in range(5):
            recorder.record_usage(cost_usd="1", event_id=f"exit-{{i}}")
    """)
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
    # Then everything it recorded was sent at exit
    sent = [json.loads(line)["event_id"] for line in out.read_text().splitlines()]
    assert sent == [f"exit-{i}" for i in range(5)]


def test_an_event_too_large_for_a_stream_record_is_refused_when_recorded() -> None:
    transport = FakeTransport()
    recorder = _recorder(transport)
    with pytest.raises(ValueError, match="at most"):
        recorder.record_usage(cost_usd="1", metadata={"blob": "x" * 1_100_000})
    recorder.record_usage(cost_usd="1")
    assert recorder.flush(timeout=5)
    assert recorder.stats.sent == 1
