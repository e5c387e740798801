"""The buffered recorder: ``record_*`` appends and returns; a background thread batches and sends."""

from __future__ import annotations

import atexit
import json
import logging
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget_sdk.events import build_event
from budget_sdk.transports import Transport
from budget_sdk.validation import validate_event

log = logging.getLogger("budget_sdk")
MAX_RECORD_BYTES = 1_000_000  # Kinesis: 1 MiB per record, partition key included


@dataclass
class RecorderStats:
    recorded: int = 0
    sent: int = 0
    retried: int = 0  # sends that were tried again (a record can count more than once)
    refused: int = 0  # the service said no (an invalid event): not retried
    failed: int = 0  # gave up after max_attempts
    dropped: int = 0  # the buffer stayed full past max_block_seconds
    # why events were not sent, by reason (the service's refusal, "still rejected after ...")
    not_sent: dict[str, int] = field(default_factory=dict)
    last_failure: str | None = None

    def _not_sent(self, reason: str) -> None:
        key = reason[:200]
        self.not_sent[key] = self.not_sent.get(key, 0) + 1
        self.last_failure = reason


@dataclass
class _Pending:
    partition_key: str
    data: bytes
    event_id: str
    enqueued_at: float
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class _Config:
    max_batch_records: int
    max_batch_bytes: int
    max_age_seconds: float
    max_buffer_events: int
    max_block_seconds: float
    max_attempts: int
    base_backoff_seconds: float
    max_backoff_seconds: float


class BudgetRecorder:
    def __init__(
        self,
        transport: Transport,
        tenant_id: str | None = None,
        *,
        max_batch_records: int | None = None,
        max_batch_bytes: int | None = None,
        max_age_seconds: float = 1.0,
        max_buffer_events: int = 100_000,
        max_block_seconds: float = 0.05,
        max_attempts: int = 8,
        base_backoff_seconds: float = 0.1,
        max_backoff_seconds: float = 5.0,
        flush_at_exit: bool = True,
        on_give_up: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._tenant_id = tenant_id
        self._config = _Config(
            max_batch_records=min(max_batch_records or transport.max_records, transport.max_records),
            max_batch_bytes=min(max_batch_bytes or transport.max_bytes, transport.max_bytes),
            max_age_seconds=max_age_seconds,
            max_buffer_events=max_buffer_events,
            max_block_seconds=max_block_seconds,
            max_attempts=max_attempts,
            base_backoff_seconds=base_backoff_seconds,
            max_backoff_seconds=max_backoff_seconds,
        )
        self._on_give_up = on_give_up
        self._clock = clock
        self._buffer: deque[_Pending] = deque()
        self._buffered_bytes = 0
        self._in_flight = 0
        self._flush_requested = False
        self._closing = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self.stats = RecorderStats()
        if flush_at_exit:
            reference = weakref.ref(self)
            atexit.register(lambda: (recorder := reference()) is not None and recorder.close())

    # -- recording -------------------------------------------------------------------------------

    def record_llm_usage(
        self,
        *,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        operation: str | None = None,
        usage: Mapping[str, int | Decimal | str] | None = None,
        **attributes: Any,
    ) -> str:
        """An LLM call; ``input_tokens`` includes cache reads and writes, ``output_tokens`` reasoning.

        ``usage``: any other usage key of the service's v1.1 (``cache_write_1h_tokens``,
        ``input_audio_tokens``, ``output_reasoning_tokens``, ``audio_seconds``...), a part always
        included in its total; ``service_tier`` (an attribute) prices the call at that tier."""
        counted: dict[str, Any] = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read_tokens or None,
            "cache_write_tokens": cache_write_tokens or None,
        }
        for key, value in (usage or {}).items():
            if key in counted:
                raise ValueError(f"usage[{key!r}] repeats the {key} argument")
            counted[key] = str(value) if isinstance(value, Decimal) else value
        usage = counted
        return self.record_usage(
            kind="llm", provider=provider, model=model, operation=operation, usage=usage, **attributes
        )

    def record_image_usage(
        self,
        *,
        provider: str,
        model: str,
        images: int,
        image_size: str | None = None,
        image_quality: str | None = None,
        operation: str | None = "images.generate",
        **attributes: Any,
    ) -> str:
        usage = {"images": images, "image_size": image_size, "image_quality": image_quality}
        return self.record_usage(
            kind="image", provider=provider, model=model, operation=operation, usage=usage, **attributes
        )

    def record_usage(
        self,
        *,
        kind: str = "custom",
        event_id: str | None = None,
        timestamp: datetime | None = None,
        cost_usd: Decimal | str | int | None = None,
        tenant_id: str | None = None,
        **fields: Any,
    ) -> str:
        """Any usage event; returns its ``event_id``. Never waits on the network."""
        event = build_event(
            kind=kind,
            tenant_id=tenant_id or self._tenant_id,
            event_id=event_id,
            timestamp=timestamp,
            cost_usd=cost_usd,
            **fields,
        )
        validate_event(event)
        data = json.dumps(event, separators=(",", ":")).encode()
        if len(data) > MAX_RECORD_BYTES:
            raise ValueError(
                f"usage event of {len(data)} bytes: a stream record holds at most {MAX_RECORD_BYTES}"
            )
        pending = _Pending(str(event.get("tenant_id") or "anonymous"), data, event["event_id"], self._clock())
        with self._condition:
            if self._closing:
                raise RuntimeError("the recorder is closed")
            deadline = self._clock() + self._config.max_block_seconds
            while len(self._buffer) >= self._config.max_buffer_events:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    self.stats.dropped += 1
                    self.stats._not_sent("the buffer stayed full")
                    log.error("budget usage buffer full: event %s dropped", pending.event_id)
                    return pending.event_id
                self._condition.wait(remaining)
            self._buffer.append(pending)
            self._buffered_bytes += len(pending.data)
            self.stats.recorded += 1
            self._ensure_thread()
            # cheap test on the caller's thread; ages are the flusher's business
            if (
                len(self._buffer) >= self._config.max_batch_records
                or self._buffered_bytes >= self._config.max_batch_bytes
                or len(self._buffer) == 1
            ):
                self._condition.notify_all()
        return pending.event_id

    # -- flushing ---------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything buffered now; True when all of it was sent (or given up on)."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._condition:
            self._flush_requested = True
            self._ensure_thread()
            self._condition.notify_all()
            while self._buffer or self._in_flight:
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    return False
                self._condition.wait(remaining if remaining is not None else 0.1)
            self._flush_requested = False
            return True

    def close(self, timeout: float = 10.0) -> bool:
        done = self.flush(timeout)
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if not done:
            log.error("budget recorder closed with %d events unsent", len(self._buffer))
        return done

    def __enter__(self) -> BudgetRecorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the sending thread -------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="budget-sdk-flusher", daemon=True)
            self._thread.start()

    def _batch_ready(self, now: float) -> bool:
        sendable = [p for p in self._buffer if p.not_before <= now]
        if not sendable:
            return False
        if self._flush_requested or self._closing:
            return True
        if (
            len(sendable) >= self._config.max_batch_records
            or self._buffered_bytes >= self._config.max_batch_bytes
        ):
            return True
        return now - sendable[0].enqueued_at >= self._config.max_age_seconds

    def _next_wake(self, now: float) -> float:
        times = [p.not_before for p in self._buffer if p.not_before > now]
        sendable = [p.enqueued_at for p in self._buffer if p.not_before <= now]
        if sendable:
            times.append(min(sendable) + self._config.max_age_seconds)
        return max(0.001, min(times) - now) if times else 0.5

    def _take_batch(self, now: float) -> list[_Pending]:
        batch: list[_Pending] = []
        size = 0
        kept: deque[_Pending] = deque()
        while self._buffer:
            pending = self._buffer.popleft()
            fits = (
                len(batch) < self._config.max_batch_records
                and size + len(pending.data) <= self._config.max_batch_bytes
            )
            if pending.not_before <= now and (fits or not batch):
                batch.append(pending)
                size += len(pending.data)
            else:
                kept.append(pending)
        self._buffer = kept
        self._buffered_bytes -= size
        return batch

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._batch_ready(self._clock()):
                    if self._closing and not self._buffer:
                        return
                    self._condition.wait(self._next_wake(self._clock()))
                batch = self._take_batch(self._clock())
                self._in_flight += len(batch)
            try:
                result = self._transport.send([(p.partition_key, p.data) for p in batch])
            except Exception as error:  # a transport bug must not kill the thread
                log.exception("budget usage transport failed")
                from budget_sdk.transports import SendResult

                result = SendResult(retry=list(range(len(batch))))
                del error
            self._settle(batch, result.retry, result.refused, result.retry_reasons)

    def _settle(
        self, batch: list[_Pending], retry: list[int], refused: dict[int, str], retry_reasons: dict[int, str]
    ) -> None:
        now = self._clock()
        jitter = random.uniform(0.5, 1.5)  # noqa: S311 - one draw per batch keeps its retries together
        with self._condition:
            retry_set = set(retry)
            requeue: list[_Pending] = []
            for index, pending in enumerate(batch):
                if index in refused:
                    self.stats.refused += 1
                    self._give_up(pending, refused[index])
                elif index in retry_set:
                    pending.attempts += 1
                    if pending.attempts >= self._config.max_attempts:
                        self.stats.failed += 1
                        why = retry_reasons.get(index, "no answer")
                        self._give_up(pending, f"still not accepted after {pending.attempts} attempts: {why}")
                        continue
                    self.stats.retried += 1
                    backoff = min(
                        self._config.max_backoff_seconds,
                        self._config.base_backoff_seconds * 2 ** (pending.attempts - 1),
                    )
                    pending.not_before = now + backoff * jitter
                    requeue.append(pending)
                else:
                    self.stats.sent += 1
            for pending in reversed(requeue):
                self._buffer.appendleft(pending)
                self._buffered_bytes += len(pending.data)
            self._in_flight -= len(batch)
            self._condition.notify_all()

    def _give_up(self, pending: _Pending, reason: str) -> None:
        self.stats._not_sent(reason)
        log.error("budget usage event %s not delivered: %s", pending.event_id, reason)
        if self._on_give_up is not None:
            self._on_give_up(pending.event_id, reason)
