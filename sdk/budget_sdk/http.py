"""One JSON request over HTTP (standard library only), and the retry rule every caller shares."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

# Worth another try: throttled, or the service (or its gateway) briefly unable to answer.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpAnswer:
    status: int  # 0: no answer (connection refused or reset, timeout, DNS)
    headers: dict[str, str]
    body: Any
    failure: str | None = None  # why there was no answer

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status in RETRYABLE_STATUSES

    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return max(float(value), 0.0) if value is not None else None
        except ValueError:
            return None


def send(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> HttpAnswer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - the operator's API
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return _answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return _answer(error.code, dict(error.headers.items()), error.read())
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return HttpAnswer(0, {}, None, failure=f"{type(error).__name__}: {error}")


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Full jitter (a random wait up to base x 2^attempt, at most ``cap``), so that clients that
    failed together do not retry together; a server's Retry-After is the floor, within the cap."""
    jittered = random.uniform(0, min(cap, base * 2**attempt))  # noqa: S311 - not cryptographic
    return min(cap, max(jittered, retry_after or 0.0))


def _answer(status: int, headers: dict[str, str], raw: bytes) -> HttpAnswer:
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return HttpAnswer(status, lowered, body)
