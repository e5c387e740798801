"""A small HTTP client for the local API (stdlib only): the demo and the end-to-end tests use it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: Any


class ApiClient:
    def __init__(self, api_url: str, token: str | None, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpAnswer:
        url = self.api_url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
        if data is not None:
            request.add_header("content-type", "application/json")
        if self.token is not None:
            request.add_header("authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return _answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return _answer(error.code, dict(error.headers.items()), error.read())

    def get(self, path: str, **query: str) -> HttpAnswer:
        return self.call("GET", path, query=query or None)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> HttpAnswer:
        return self.call("POST", path, body=body, headers=headers)


def _answer(status: int, headers: dict[str, str], raw: bytes) -> HttpAnswer:
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return HttpAnswer(status, lowered, body)
