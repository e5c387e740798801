"""How buffered events leave the process: Kinesis PutRecords, or the service's HTTP API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class SendResult:
    """Indexes (into the batch sent) to try again later, and those refused for good with why."""

    retry: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


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
        except Exception:  # network, throttling, expired credentials: all worth another try
            return SendResult(retry=list(range(len(records))))
        return SendResult(retry=[i for i, r in enumerate(response["Records"]) if r.get("ErrorCode")])


class HttpTransport:
    """``POST /v1/usage`` with a service token; the tenant comes from the token."""

    max_records = 500
    max_bytes = 5 * 1024 * 1024

    def __init__(self, api_url: str, token: str, timeout_seconds: float = 10.0) -> None:
        self._url = api_url.rstrip("/") + "/v1/usage"
        self._token = token
        self._timeout = timeout_seconds

    def send(self, records: list[tuple[str, bytes]]) -> SendResult:
        body = b'{"events":[' + b",".join(data for _, data in records) + b"]}"
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own API
            self._url,
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            # an expired token (401/403) or a busy service is worth another try; the rest is refused
            if error.code in (401, 403, 408, 429, 500, 502, 503, 504):
                return SendResult(retry=list(range(len(records))))
            reason = error.read().decode(errors="replace")[:500]
            return SendResult(refused=dict.fromkeys(range(len(records)), f"HTTP {error.code}: {reason}"))
        except (urllib.error.URLError, TimeoutError, OSError):
            return SendResult(retry=list(range(len(records))))
        result = SendResult()
        for failure in answer.get("failed", []):
            index = int(failure["index"])
            if failure.get("code") == "stream_unavailable":
                result.retry.append(index)
            else:
                result.refused[index] = str(failure.get("message"))
        return result
