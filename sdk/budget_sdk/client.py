"""BudgetClient: ask "may I spend this?", hold it, settle or release it, and read where money went.

Every call carries a bearer token (``token``, or ``token_provider``, asked again after a 401).
Throttling (429), a busy service (5xx) and connection errors are retried with jittered backoff;
a reservation carries an idempotency key, the same on every retry, so a retried reserve never holds
twice. When the service cannot be reached at all, ``fail_mode`` decides: ``"closed"`` raises
``BudgetServiceUnavailable``; ``"open"`` allows the call (logged, and counted in ``stats``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, urlencode

from budget_sdk.events import build_event, money
from budget_sdk.http import HttpAnswer, backoff_seconds, send
from budget_sdk.validation import validate_event

log = logging.getLogger("budget_sdk")
FailMode = Literal["open", "closed"]
TokenProvider = Callable[[], str]


class BudgetError(Exception):
    """The service answered no (a 4xx other than a budget decision), with its error code."""

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details or []


class BudgetServiceUnavailable(Exception):
    """The service could not be reached or stayed busy through every retry (fail_mode closed)."""


@dataclass(frozen=True)
class BlockingPolicy:
    policy_id: str
    limit_usd: Decimal
    remaining_usd: Decimal


class BudgetExceeded(Exception):
    """A hard budget would be passed: nothing was held, and the call should not be made."""

    def __init__(self, message: str, blocking: list[BlockingPolicy]) -> None:
        super().__init__(message)
        self.blocking = blocking

    @property
    def blocking_policy_ids(self) -> list[str]:
        return [b.policy_id for b in self.blocking]


@dataclass(frozen=True)
class PolicyStanding:
    policy_id: str
    name: str
    enforcement: str
    limit_usd: Decimal
    spent_usd: Decimal | None
    reserved_usd: Decimal | None
    remaining_usd: Decimal | None
    blocking: bool


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    decision: str  # allow, deny, allow_soft_limit; "allow" too when the service was unreachable
    estimated_cost_usd: Decimal | None
    policies: list[PolicyStanding]
    blocking_policy_ids: list[str]
    failed_open: bool = False  # the service could not be reached and fail_mode is "open"


@dataclass(frozen=True)
class Hold:
    reservation_id: str | None  # None only when failed open: nothing is held
    amount_usd: Decimal
    expires_at: datetime | None
    policy_ids: list[str]
    failed_open: bool = False


@dataclass(frozen=True)
class Settled:
    reservation_id: str
    event_id: str
    cost_usd: Decimal | None  # None: unpriced
    unpriced: bool


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    token_refreshes: int = 0
    failed_open: int = 0
    denied: int = 0


@dataclass
class ClientCredentials:
    """A token provider for OAuth2 client credentials: a token from ``token_url``, kept until a
    minute before it expires, fetched again after ``invalidate()`` (BudgetClient calls it on a 401)."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None
    timeout_seconds: float = 10.0
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0

    def __call__(self) -> str:
        if self._token is None or time.monotonic() >= self._expires_at:
            self._fetch()
        assert self._token is not None
        return self._token

    def invalidate(self) -> None:
        self._token = None

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        form.update({k: v for k, v in (("scope", self.scope), ("audience", self.audience)) if v})
        answer = send(
            "POST",
            self.token_url,
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            self.timeout_seconds,
        )
        if answer.status != 200 or not isinstance(answer.body, dict) or "access_token" not in answer.body:
            raise BudgetError(
                answer.status, "token_request_failed", f"the token endpoint answered {answer.status}"
            )
        self._token = str(answer.body["access_token"])
        lifetime = float(answer.body.get("expires_in", 3600))
        self._expires_at = time.monotonic() + max(lifetime - 60, lifetime / 2)


class BudgetClient:
    def __init__(
        self,
        api_url: str,
        *,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        fail_mode: FailMode = "closed",
        timeout_seconds: float = 5.0,
        max_attempts: int = 4,
        base_backoff_seconds: float = 0.1,
        max_backoff_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (token is None) == (token_provider is None):
            raise ValueError("give token or token_provider (one of them)")
        if fail_mode not in ("open", "closed"):
            raise ValueError("fail_mode is 'open' or 'closed'")
        self.api_url = api_url.rstrip("/")
        self.fail_mode: FailMode = fail_mode
        self.stats = ClientStats()
        self._token = token
        self._provider = token_provider
        self._timeout = timeout_seconds
        self._attempts = max(1, max_attempts)
        self._base = base_backoff_seconds
        self._cap = max_backoff_seconds
        self._sleep = sleep

    # -- pre-flight --------------------------------------------------------------------------

    def check(self, estimated_cost_usd: Decimal | str | None = None, **call: Any) -> CheckResult:
        """May this call spend? ``call``: the scope (user_id, team_id, api_key_id, project_id) and
        what is called (provider, model, kind, operation, usage, service_tier)."""
        body = _call_body(estimated_cost_usd, call)
        answer = self._request("POST", "/v1/budget/check", body, may_fail_open=True)
        if answer is None:
            return CheckResult(
                True, "allow", _decimal(body.get("estimated_cost_usd")), [], [], failed_open=True
            )
        result = answer.body
        if not result["allowed"]:
            self.stats.denied += 1
        return CheckResult(
            allowed=bool(result["allowed"]),
            decision=str(result["decision"]),
            estimated_cost_usd=_decimal(result.get("estimated_cost_usd")),
            policies=[_standing(p) for p in result.get("policies", [])],
            blocking_policy_ids=list(result.get("blocking_policy_ids", [])),
        )

    def reserve(
        self,
        estimated_cost_usd: Decimal | str | None = None,
        *,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
        **call: Any,
    ) -> Hold:
        """Holds the estimate against every hard budget the call falls under, or raises
        BudgetExceeded (nothing held). The idempotency key is the same on every retry."""
        body = _call_body(estimated_cost_usd, call)
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        key = idempotency_key or f"sdk-{uuid.uuid4()}"
        answer = self._request(
            "POST", "/v1/reservations", body, headers={"Idempotency-Key": key}, may_fail_open=True
        )
        if answer is None:
            return Hold(
                None, _decimal(body.get("estimated_cost_usd")) or Decimal(0), None, [], failed_open=True
            )
        held = answer.body
        return Hold(
            reservation_id=str(held["reservation_id"]),
            amount_usd=Decimal(held["amount_usd"]),
            expires_at=datetime.fromisoformat(held["expires_at"]),
            policy_ids=list(held.get("policy_ids", [])),
        )

    def settle(self, reservation_id: str, **event: Any) -> Settled:
        """Counts the call's actual usage and removes its hold in one step (the next check sees
        the real spend). ``event``: a usage event's fields (kind, provider, model, usage or
        provider_usage + api_flavor, cost_usd, the scope...); tenant and reservation are implied."""
        body = {k: v for k, v in event.items() if v is not None}
        if "cost_usd" in body:
            body["cost_usd"] = money(body["cost_usd"])
        answer = self._request("POST", f"/v1/reservations/{quote(reservation_id, safe='')}/settle", body)
        assert answer is not None
        settled = answer.body
        return Settled(
            reservation_id=str(settled["reservation_id"]),
            event_id=str(settled["event_id"]),
            cost_usd=_decimal(settled.get("cost_usd")),
            unpriced=bool(settled["unpriced"]),
        )

    def release(self, reservation_id: str) -> None:
        """Gives the hold back (a call that was not made, or failed before it cost anything)."""
        self._request("DELETE", f"/v1/reservations/{quote(reservation_id, safe='')}")

    def record(self, **event: Any) -> str:
        """Sends one usage event now (``POST /v1/usage``) and answers its event_id; for usage with no
        reservation to settle. Checked first with the service's rules (ValueError naming the field);
        an event the service refuses raises BudgetError. Many events: BudgetRecorder batches them."""
        built = build_event(
            tenant_id=None,
            event_id=event.pop("event_id", None),
            timestamp=event.pop("timestamp", None),
            **event,
        )
        validate_event(built)
        answer = self._request("POST", "/v1/usage", {"events": [built]})
        assert answer is not None
        for failure in answer.body.get("failed", []):
            raise BudgetError(422, str(failure.get("code")), str(failure.get("message")), [failure])
        return str(built["event_id"])

    # -- reads ---------------------------------------------------------------------------------

    def policies(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_token: str | None = None
        while True:
            page = self._get("/v1/policies", {"next_token": next_token, "limit": 100})
            items.extend(page.get("items", []))
            next_token = page.get("next_token")
            if not next_token:
                return items

    def status(self, policy_id: str) -> dict[str, Any]:
        return self._get(f"/v1/policies/{quote(policy_id, safe='')}/status")

    def summary(self, **query: Any) -> dict[str, Any]:
        return self._get("/v1/usage/summary", query)

    def trend(self, **query: Any) -> dict[str, Any]:
        return self._get("/v1/usage/trend", query)

    def alerts(self, **query: Any) -> dict[str, Any]:
        return self._get("/v1/alerts", query)

    # -- the one request path --------------------------------------------------------------------

    def _get(self, path: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        wanted = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        answer = self._request("GET", path + (f"?{urlencode(wanted)}" if wanted else ""))
        assert answer is not None
        return dict(answer.body)

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        may_fail_open: bool = False,
    ) -> HttpAnswer | None:
        """The answer (2xx), None when failing open, or raises what the answer means."""
        data = json.dumps(body, default=str).encode() if body is not None else None
        refreshed = False
        attempt = 0
        while True:
            sent = {
                "Authorization": f"Bearer {self._bearer()}",
                "Accept": "application/json",
                **(headers or {}),
            }
            if data is not None:
                sent["Content-Type"] = "application/json"
            self.stats.requests += 1
            answer = send(method, self.api_url + path, data, sent, self._timeout)
            if answer.status == 401 and self._provider is not None and not refreshed:
                refreshed = True  # an expired token: ask the provider once more, then try again
                self._refresh_token()
                continue
            if 200 <= answer.status < 300:
                return answer
            if not answer.retryable:
                raise _refusal(answer)
            attempt += 1
            if attempt >= self._attempts:
                self._unreachable(method, path, answer, may_fail_open)
                return None
            self.stats.retries += 1
            self._sleep(backoff_seconds(attempt - 1, self._base, self._cap, answer.retry_after()))

    def _unreachable(self, method: str, path: str, answer: HttpAnswer, may_fail_open: bool) -> None:
        """Fails open (logged and counted) where the caller may, else raises."""
        why = answer.failure or f"HTTP {answer.status}"
        if may_fail_open and self.fail_mode == "open":
            self.stats.failed_open += 1
            log.warning(
                "budget service unreachable (%s) for %s %s: allowing the call (fail_mode open)",
                why,
                method,
                path,
            )
            return
        raise BudgetServiceUnavailable(f"{method} {path}: {why} after {self._attempts} attempts")

    def _bearer(self) -> str:
        if self._token is None:
            assert self._provider is not None
            self._token = self._provider()
        return self._token

    def _refresh_token(self) -> None:
        self.stats.token_refreshes += 1
        invalidate = getattr(self._provider, "invalidate", None)
        if callable(invalidate):
            invalidate()
        self._token = None


class AsyncBudgetClient:
    """The same client for asyncio code: each call runs the blocking client in a worker thread, so
    the event loop is never blocked by the service."""

    def __init__(self, api_url: str, **options: Any) -> None:
        self._client = BudgetClient(api_url, **options)

    @property
    def stats(self) -> ClientStats:
        return self._client.stats

    @property
    def fail_mode(self) -> FailMode:
        return self._client.fail_mode

    async def check(self, estimated_cost_usd: Decimal | str | None = None, **call: Any) -> CheckResult:
        return await asyncio.to_thread(self._client.check, estimated_cost_usd, **call)

    async def reserve(self, estimated_cost_usd: Decimal | str | None = None, **options: Any) -> Hold:
        return await asyncio.to_thread(self._client.reserve, estimated_cost_usd, **options)

    async def settle(self, reservation_id: str, **event: Any) -> Settled:
        return await asyncio.to_thread(self._client.settle, reservation_id, **event)

    async def release(self, reservation_id: str) -> None:
        await asyncio.to_thread(self._client.release, reservation_id)

    async def record(self, **event: Any) -> str:
        return await asyncio.to_thread(self._client.record, **event)

    async def policies(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._client.policies)

    async def status(self, policy_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._client.status, policy_id)

    async def summary(self, **query: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._client.summary, **query)

    async def trend(self, **query: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._client.trend, **query)

    async def alerts(self, **query: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._client.alerts, **query)


def _call_body(estimated_cost_usd: Decimal | str | None, call: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in call.items() if v is not None}
    if estimated_cost_usd is not None:
        body["estimated_cost_usd"] = money(estimated_cost_usd)
    return body


def _refusal(answer: HttpAnswer) -> Exception:
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    code = str(error.get("code", "http_error"))
    message = str(error.get("message", answer.body))
    details = error.get("details") or []
    if code == "budget_exceeded":
        blocking = [
            BlockingPolicy(str(d["policy_id"]), Decimal(d["limit_usd"]), Decimal(d["remaining_usd"]))
            for d in details
            if isinstance(d, dict) and "policy_id" in d
        ]
        return BudgetExceeded(message, blocking)
    return BudgetError(answer.status, code, message, details)


def _standing(policy: Mapping[str, Any]) -> PolicyStanding:
    return PolicyStanding(
        policy_id=str(policy["policy_id"]),
        name=str(policy.get("name", "")),
        enforcement=str(policy.get("enforcement", "")),
        limit_usd=Decimal(policy["limit_usd"]),
        spent_usd=_decimal(policy.get("spent_usd")),
        reserved_usd=_decimal(policy.get("reserved_usd")),
        remaining_usd=_decimal(policy.get("remaining_usd")),
        blocking=bool(policy.get("blocking")),
    )


def _decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _query_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
