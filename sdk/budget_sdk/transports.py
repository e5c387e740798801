"""How buffered events leave the process: Kinesis PutRecords, or the service's HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from budget_sdk.http import HttpAnswer, send


@dataclass
class SendResult:
    """Indexes (into the batch sent) to try again later, and those refused for good with why."""

    retry: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    retry_reasons: dict[int, str] = field(default_factory=dict)  # why each retry was needed

    def retry_all(self, indexes: range | list[int], reason: str) -> SendResult:
        for index in indexes:
            self.retry.append(index)
            self.retry_reasons[index] = reason
        return self


class Transport(Protocol):
    max_records: int
    max_bytes: int

    def send(self, records: list[tuple[str, bytes]]) -> SendResult:
        """``records`` are (partition key, JSON bytes) pairs."""


class KinesisTransport:
    """PutRecords: at most 500 records and 5 MiB per call, partition key = tenant."""

    max_records = 500
    max_bytes = 5 * 1024 * 1024

    def __init__(self, stream_name: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("kinesis")
        self._client = client
        self._stream = stream_name

    def send(self, records: list[tuple[str, bytes]]) -> SendResult:
        try:
            response = self._client.put_records(
                StreamName=self._stream,
                Records=[{"PartitionKey": key, "Data": data} for key, data in records],
            )
        except Exception as error:  # network, throttling, expired credentials: all worth another try
            return SendResult().retry_all(range(len(records)), f"{type(error).__name__}: {error}"[:300])
        result = SendResult()
        for index, record in enumerate(response["Records"]):
            if record.get("ErrorCode"):
                result.retry_all([index], f"{record['ErrorCode']}: {record.get('ErrorMessage', '')}"[:300])
        return result


API_BODY_LIMIT = 256 * 1024  # POST /v1/usage refuses a larger body (413)


class HttpTransport:
    """``POST /v1/usage`` with a service token; the tenant comes from the token.

    Batches stay under the API's body limit (256 KiB); a batch the API still finds too large (413)
    is split in halves and each sent again. ``token_provider`` is asked again after a 401."""

    max_records = 500
    max_bytes = API_BODY_LIMIT  # the recorder's hint; the body is checked again with its commas

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        timeout_seconds: float = 10.0,
        *,
        token_provider: Callable[[], str] | None = None,
    ) -> None:
        if (token is None) == (token_provider is None):
            raise ValueError("give token or token_provider (one of them)")
        self._url = api_url.rstrip("/") + "/v1/usage"
        self._token = token
        self._provider = token_provider
        self._timeout = timeout_seconds

    def send(self, records: list[tuple[str, bytes]]) -> SendResult:
        result = SendResult()
        self._send(records, 0, result)
        return result

    def _send(self, records: list[tuple[str, bytes]], offset: int, result: SendResult) -> None:
        indexes = range(offset, offset + len(records))
        body_bytes = sum(len(data) + 1 for _, data in records) + len(b'{"events":[]}')
        if body_bytes > API_BODY_LIMIT and len(records) > 1:
            self._split(records, offset, result)
            return
        answer = self._post(records)
        if answer.status == 401 and self._provider is not None:
            invalidate = getattr(self._provider, "invalidate", None)
            if callable(invalidate):
                invalidate()
            self._token = None
            answer = self._post(records)
        if answer.status == 413 and len(records) > 1:
            self._split(records, offset, result)
            return
        if answer.status in (200, 202, 207):
            for failure in (answer.body or {}).get("failed", []):
                index = offset + int(failure["index"])
                if failure.get("code") == "stream_unavailable":
                    result.retry_all([index], "the usage stream was unavailable")
                else:
                    result.refused[index] = str(failure.get("message"))
            return
        reason = _reason(answer)
        if answer.retryable:
            result.retry_all(indexes, reason)
        else:  # 400, a 401 with no new token to ask for, 403, 413 of one event, 422: no retry helps
            result.refused.update(dict.fromkeys(indexes, reason))

    def _split(self, records: list[tuple[str, bytes]], offset: int, result: SendResult) -> None:
        middle = len(records) // 2
        self._send(records[:middle], offset, result)
        self._send(records[middle:], offset + middle, result)

    def _post(self, records: list[tuple[str, bytes]]) -> HttpAnswer:
        if self._token is None:
            assert self._provider is not None
            self._token = self._provider()
        body = b'{"events":[' + b",".join(data for _, data in records) + b"]}"
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        return send("POST", self._url, body, headers, self._timeout)


def _reason(answer: HttpAnswer) -> str:
    if answer.status == 0:
        return f"no answer: {answer.failure}"
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    detail = error.get("message") or str(answer.body)[:300]
    hint = (
        " (the token expired or is not valid: give HttpTransport a token_provider)"
        if answer.status == 401
        else ""
    )
    return f"HTTP {answer.status} {error.get('code', '')}: {detail}{hint}".strip()[:500]
