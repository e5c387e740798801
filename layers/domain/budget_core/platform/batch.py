"""Powertools BatchProcessor for consumers that must see the whole batch before committing.

The record handler only stages records; when the batch ends, ``flush`` handles all staged records
at once (aggregation, transactions) and names those to retry. They are then reported as partial
failures, so Lambda retries from the lowest of them and never re-runs what committed before.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class RetryLater(Exception):
    """Marks a staged record that the flush could not finish; the stream redelivers it."""


class StagedBatchProcessor(BatchProcessor):
    def __init__(
        self,
        event_type: EventType,
        model: Any,
        flush: Callable[[list[Any]], Collection[str]],
        record_id: Callable[[Any], str],
    ) -> None:
        # A batch that failed whole (the store throttling everything) is still answered with its
        # failures, not an exception: Lambda then retries from the first record without bisecting.
        super().__init__(event_type=event_type, model=model, raise_on_entire_batch_failure=False)
        self._flush = flush
        self._record_id = record_id
        self._staged: list[Any] = []

    def stage(self, record: Any) -> None:
        self._staged.append(record)

    def _prepare(self) -> None:
        super()._prepare()
        self._staged = []

    def _clean(self) -> None:
        staged, self._staged = self._staged, []
        if staged:
            to_retry = set(self._flush(staged))
            for record in staged:
                if self._record_id(record) in to_retry:
                    error = RetryLater(self._record_id(record))
                    self.failure_handler(record=record, exception=(RetryLater, error, None))
        super()._clean()


def in_stream_order(processor: BatchProcessor, handle: Callable[[Any], None]) -> Callable[[Any], None]:
    """``handle`` for ``processor`` such that once a record of the batch failed the later ones fail
    too, unhandled: Lambda retries from the first failure, so records are handled in stream order
    (alerts keep theirs)."""

    def ordered(record: Any) -> None:
        if processor.fail_messages:
            raise RetryLater("an earlier record of this batch is retried first, so records keep their order")
        handle(record)

    return ordered
