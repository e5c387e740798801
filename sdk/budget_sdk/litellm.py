"""``BudgetCallback``: budgets for calls made through LiteLLM, the SDK and the proxy, with no change
to the calls themselves.

    import litellm
    from budget_sdk.litellm import BudgetCallback

    budget_callback = BudgetCallback(budget, team_id="research")
    litellm.callbacks = [budget_callback]
    await litellm.acompletion(model="openai/gpt-4o", messages=[...], max_tokens=200)   # held, settled
    completion = budget_callback.guarded(litellm.completion)                             # sync: see below
    completion(model="anthropic/claude-sonnet-4-5", messages=[...], max_tokens=200)

Before a call, an upper bound of its cost (``budget_sdk.estimates``, as ``guard()`` makes it) is
reserved for the call's scope; a hard budget it would pass raises ``BudgetExceeded`` (also a
``litellm.BudgetExceededError``, which the proxy answers as a budget error) before the provider is
called. On success the hold is settled with the usage the response reports (the service prices
it); on failure the hold is released. LiteLLM's own ``response_cost`` is used only where the
service cannot price the model, or the response reports no usage.

Where the hold is placed:
- ``litellm.acompletion``, ``aembedding``, ``aimage_generation``, ``aresponses`` and the Router's
  async calls: LiteLLM's ``async_pre_call_deployment_hook``, which runs before every async call.
- The LiteLLM proxy: ``async_pre_call_hook``, with the scope taken from the virtual key (its
  user_id, team_id and the key's hash as api_key_id), never from the request, which a client writes.
- Synchronous ``litellm.completion`` and friends: LiteLLM gives callbacks no hook there that may
  stop a call (an exception in ``log_pre_api_call`` is logged and ignored), so wrap the function
  with ``budget_callback.guarded(...)``, which also settles at once rather than in LiteLLM's
  background logging thread. An unwrapped synchronous call is not held: its usage is still
  recorded on success, and counted in ``stats.unenforced``.

Per call (SDK): ``metadata={"budget_scope": {"user_id": ...}}`` overrides the scope and LiteLLM's
``user`` is the user_id when the scope names none. Each call is counted once whatever the path
(the event id is the LiteLLM call id, which the service deduplicates). A stream is settled by
LiteLLM's success event at its end; a stream abandoned before its end has its hold end at its ttl.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from typing import Any, TypeVar

import litellm
from litellm.exceptions import BudgetExceededError
from litellm.integrations.custom_logger import CustomLogger

from budget_sdk.client import AsyncBudgetClient, BudgetClient, BudgetError, BudgetExceeded, Hold
from budget_sdk.guard import SCOPE_FIELDS, SERVICE_TIERS, CallSpec
from budget_sdk.providers.anthropic import messages_spec
from budget_sdk.providers.openai import chat_spec, embeddings_spec, images_spec, responses_spec

log = logging.getLogger("budget_sdk")
F = TypeVar("F", bound=Callable[..., Any])
REMEMBERED_CALLS = 10_000  # finished call ids kept so that a late success event is not counted twice
TEN_PLACES = Decimal("0.0000000001")


class BudgetExceededInLiteLLM(BudgetExceeded, BudgetExceededError):
    """BudgetExceeded that LiteLLM and its proxy also know as their own budget error."""

    def __init__(self, denied: BudgetExceeded) -> None:
        first = denied.blocking[0] if denied.blocking else None
        limit = float(first.limit_usd) if first else 0.0
        spent = float(first.limit_usd - first.remaining_usd) if first else 0.0
        BudgetExceededError.__init__(
            self,
            current_cost=spent,
            max_budget=limit,
            message=str(denied),
            entity_type="budget_policy",
            entity_id=first.policy_id if first else None,
        )
        self.blocking = denied.blocking


@dataclass
class LiteLLMBudgetStats:
    calls: int = 0  # calls held before they were made
    denied: int = 0
    settled: int = 0
    recorded: int = 0  # usage sent with no hold to settle
    released: int = 0
    unenforced: int = 0  # synchronous calls made without guarded(): recorded, not held
    failed: int = 0  # usage or releases the service could not be told of (logged)


@dataclass
class _Held:
    spec: CallSpec
    scope: dict[str, str]
    hold: Hold
    priced_by_litellm: bool
    since: float


class BudgetCallback(CustomLogger):
    def __init__(
        self,
        budget: BudgetClient | AsyncBudgetClient,
        *,
        ttl_seconds: int = 600,
        unpriced_estimate_usd: Decimal | str | None = None,
        **scope: str,
    ) -> None:
        """``scope``: the default user_id, team_id, api_key_id and project_id of every call.
        ``unpriced_estimate_usd``: what to hold for a model neither the service nor LiteLLM can
        price (without it, such a call raises the service's BudgetError and is not made)."""
        super().__init__()
        unknown = set(scope) - set(SCOPE_FIELDS)
        if unknown:
            raise ValueError(f"scope takes {', '.join(SCOPE_FIELDS)}; not {', '.join(sorted(unknown))}")
        self.budget = budget._client if isinstance(budget, AsyncBudgetClient) else budget
        self.scope = {k: v for k, v in scope.items() if v is not None}
        self.ttl_seconds = ttl_seconds
        self.unpriced_estimate_usd = (
            Decimal(str(unpriced_estimate_usd)) if unpriced_estimate_usd is not None else None
        )
        self.stats = LiteLLMBudgetStats()
        self._held: dict[str, _Held] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    # -- before the call -------------------------------------------------------------------------

    def guarded(self, function: F) -> F:
        """``function`` (``litellm.completion``, ``embedding``, ``image_generation``, ``responses``
        or an async one) with the call held first; a returned answer settles at once."""
        call_type = function.__name__
        if asyncio.iscoroutinefunction(function):

            async def run_async(*args: Any, **kwargs: Any) -> Any:
                request = self._request_of(args, kwargs)
                await asyncio.to_thread(self.hold, call_type, request, self._sdk_scope(request))
                try:
                    response = await function(*args, **kwargs)
                except BaseException:
                    await asyncio.to_thread(self._release, request["litellm_call_id"])
                    raise
                await asyncio.to_thread(self._settle_now, call_type, request, response)
                return response

            return run_async  # type: ignore[return-value]

        def run(*args: Any, **kwargs: Any) -> Any:
            request = self._request_of(args, kwargs)
            self.hold(call_type, request, self._sdk_scope(request))
            try:
                response = function(*args, **kwargs)
            except BaseException:
                self._release(request["litellm_call_id"])
                raise
            self._settle_now(call_type, request, response)
            return response

        return run  # type: ignore[return-value]

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """Every async SDK and Router call, just before it is sent: hold it or raise."""
        if not kwargs.get("litellm_call_id"):
            return None
        await asyncio.to_thread(self.hold, _call_type_name(call_type), kwargs, self._sdk_scope(kwargs))
        return ask_for_stream_usage(kwargs)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        """The proxy, before it routes a request: the scope is the virtual key's."""
        data.setdefault("litellm_call_id", str(uuid.uuid4()))
        scope = dict(self.scope)
        for name, attribute in (("user_id", "user_id"), ("team_id", "team_id"), ("api_key_id", "token")):
            value = getattr(user_api_key_dict, attribute, None)
            if value:
                scope[name] = str(value)
        await asyncio.to_thread(self.hold, _call_type_name(call_type), data, scope)
        return ask_for_stream_usage(data)

    def hold(self, call_type: str, request: Mapping[str, Any], scope: Mapping[str, str]) -> Hold | None:
        """Reserves the call's upper bound for ``scope``; raises BudgetExceeded (nothing held) when
        a hard budget would be passed. None: a call of a kind that is not held (recorded after)."""
        call_id = str(request.get("litellm_call_id") or "")
        with self._lock:
            if call_id in self._held:  # the proxy's hook held it; the deployment hook runs again
                return self._held[call_id].hold
        spec = spec_of(call_type, request)
        if spec is None or not call_id:
            return None
        self.stats.calls += 1
        priced_by_litellm = False
        call = {
            "kind": spec.kind,
            "provider": spec.provider,
            "model": spec.model,
            "operation": spec.operation,
        }
        options: dict[str, Any] = {
            "ttl_seconds": self.ttl_seconds,
            # one key per hold: a call LiteLLM retries after a failure (which released its hold)
            # is held anew, not answered with the released reservation
            "idempotency_key": f"litellm-{call_id}-{uuid.uuid4().hex[:12]}",
            **call,
            **scope,
        }
        try:
            try:
                priced: dict[str, Any] = {"usage": spec.estimate}
                if spec.service_tier:
                    priced["service_tier"] = spec.service_tier
                hold = self.budget.reserve(**priced, **options)
            except BudgetError as refused:
                if not _unpriced(refused):
                    raise
                estimate = litellm_estimate(spec) or self.unpriced_estimate_usd
                if estimate is None:
                    raise
                priced_by_litellm = True
                hold = self.budget.reserve(estimate, **options)
        except BudgetExceeded as denied:
            self.stats.denied += 1
            raise BudgetExceededInLiteLLM(denied) from None
        with self._lock:
            self._forget_expired()
            self._held[call_id] = _Held(spec, dict(scope), hold, priced_by_litellm, time.monotonic())
        return hold

    # -- after the call --------------------------------------------------------------------------

    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._succeeded(kwargs, response_obj)

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        await asyncio.to_thread(self._succeeded, kwargs, response_obj)

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._release(str(kwargs.get("litellm_call_id") or ""))

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        await asyncio.to_thread(self._release, str(kwargs.get("litellm_call_id") or ""))

    def _settle_now(self, call_type: str, request: Mapping[str, Any], response: Any) -> None:
        if request.get("stream"):
            return  # LiteLLM's success event settles a stream at its end
        self._finish(
            str(request["litellm_call_id"]), call_type, request, response, _litellm_cost(response), None
        )

    def _succeeded(self, kwargs: Mapping[str, Any], response: Any) -> None:
        call_id = str(kwargs.get("litellm_call_id") or "")
        request = {**dict(kwargs.get("optional_params") or {}), **kwargs}
        provider = kwargs.get("custom_llm_provider")
        self._finish(
            call_id,
            _call_type_name(kwargs.get("call_type")),
            request,
            response,
            _decimal(kwargs.get("response_cost")),
            str(provider) if provider else None,
        )

    def _finish(
        self,
        call_id: str,
        call_type: str,
        request: Mapping[str, Any],
        response: Any,
        litellm_cost: Decimal | None,
        provider: str | None,
    ) -> None:
        """Counts the call once: settles its hold, or records it when nothing was held."""
        if not call_id:
            return
        with self._lock:
            if call_id in self._finished:
                return
            self._finished[call_id] = None
            while len(self._finished) > REMEMBERED_CALLS:
                self._finished.popitem(last=False)
            held = self._held.pop(call_id, None)
        spec = held.spec if held else spec_of(call_type, request)
        usage = usage_of_response(response, spec)
        event: dict[str, Any] = {"event_id": f"litellm-{call_id}"}
        if spec is not None:
            event.update(kind=spec.kind, provider=spec.provider, operation=spec.operation, model=spec.model)
        else:  # a kind of call this callback does not hold (speech, transcription...): LiteLLM's cost
            event.update(kind="llm", provider=provider, model=request.get("model"), operation=call_type)
        event["model"] = getattr(response, "model", None) or event["model"]
        tier = getattr(response, "service_tier", None)
        if tier in SERVICE_TIERS:
            event["service_tier"] = tier
        elif spec is not None and spec.service_tier:
            event["service_tier"] = spec.service_tier
        litellm_prices_it = (held is not None and held.priced_by_litellm) or usage is None or spec is None
        if litellm_prices_it and litellm_cost is not None:
            event["cost_usd"] = litellm_cost
        if usage is not None:
            event["usage"] = usage
        elif "cost_usd" not in event and spec is not None:
            event["usage"] = spec.estimate  # nothing reported: the bound it was held at
        try:
            if held is not None and held.hold.reservation_id is not None:
                self.budget.settle(held.hold.reservation_id, **event, **held.scope)
                self.stats.settled += 1
            else:
                scope = held.scope if held else self._sdk_scope(request)
                if held is None and spec is not None:
                    self.stats.unenforced += 1
                self.budget.record(**event, **scope)
                self.stats.recorded += 1
        except Exception:  # the provider answered: its answer is the caller's, whatever the budget says
            self.stats.failed += 1
            log.exception("the usage of LiteLLM call %s was not counted", call_id)

    def _release(self, call_id: str) -> None:
        with self._lock:
            held = self._held.pop(call_id, None)
        if held is None or held.hold.reservation_id is None:
            return
        try:
            self.budget.release(held.hold.reservation_id)
            self.stats.released += 1
        except Exception:
            self.stats.failed += 1
            log.exception(
                "releasing reservation %s failed: its hold ends at its ttl", held.hold.reservation_id
            )

    # -- helpers -----------------------------------------------------------------------------------

    def _sdk_scope(self, request: Mapping[str, Any]) -> dict[str, str]:
        scope = dict(self.scope)
        if request.get("user") and "user_id" not in scope:
            scope["user_id"] = str(request["user"])
        metadata = request.get("metadata") or (request.get("litellm_params") or {}).get("metadata") or {}
        overrides = metadata.get("budget_scope") if isinstance(metadata, Mapping) else None
        if isinstance(overrides, Mapping):
            unknown = set(overrides) - set(SCOPE_FIELDS)
            if unknown:
                raise ValueError(
                    f"budget_scope takes {', '.join(SCOPE_FIELDS)}; not {', '.join(sorted(unknown))}"
                )
            scope.update({k: str(v) for k, v in overrides.items() if v is not None})
        return scope

    @staticmethod
    def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("litellm_call_id", str(uuid.uuid4()))
        ask_for_stream_usage(kwargs)
        request = dict(kwargs)
        if args and "model" not in request:
            request["model"] = args[0]
        return request

    def _forget_expired(self) -> None:
        """Holds whose call never ended (an abandoned stream) are dropped once their ttl is over."""
        oldest = time.monotonic() - self.ttl_seconds
        for call_id in [c for c, h in self._held.items() if h.since < oldest]:
            del self._held[call_id]


# -- what a LiteLLM call is, what it may cost, what it used ------------------------------------------


def ask_for_stream_usage(request: dict[str, Any]) -> dict[str, Any]:
    """A stream settles with the usage the provider reports at its end, not LiteLLM's own count of
    the streamed text (which leaves out cached and reasoning tokens): ask for it."""
    if request.get("stream"):
        request["stream_options"] = {**(request.get("stream_options") or {}), "include_usage": True}
    return request


def spec_of(call_type: str, request: Mapping[str, Any]) -> CallSpec | None:
    """The call as the budget sees it, with the provider and model LiteLLM will call."""
    name = call_type[1:] if call_type.startswith("a") and call_type[1:] in _SPECS else call_type
    make = _SPECS.get(name)
    model = request.get("model")
    if make is None or not isinstance(model, str):
        return None
    kwargs = dict(request)
    spec = make(kwargs)
    provider, bare_model = _provider_and_model(model, request)
    if name == "completion" and "cache_control" in json.dumps(
        [request.get("messages"), request.get("tools")], default=str
    ):
        # Anthropic through LiteLLM: a cache write costs more than input, 1-hour writes the most
        prompt = int(spec.estimate["input_tokens"])
        spec.estimate.update(cache_write_tokens=prompt, cache_write_1h_tokens=prompt)
    return replace(spec, provider=provider or spec.provider, model=bare_model)


_SPECS: dict[str, Callable[[dict[str, Any]], CallSpec]] = {
    "completion": chat_spec,
    "embedding": embeddings_spec,
    "image_generation": images_spec,
    "responses": responses_spec,
    "anthropic_messages": messages_spec,
}


def _provider_and_model(model: str, request: Mapping[str, Any]) -> tuple[str | None, str]:
    try:
        bare, provider, _, _ = litellm.get_llm_provider(
            model=model,
            custom_llm_provider=request.get("custom_llm_provider"),
            api_base=request.get("api_base"),
        )
        return str(provider), str(bare)
    except Exception:  # LiteLLM itself will refuse the call; the budget names it as given
        return None, model


def usage_of_response(response: Any, spec: CallSpec | None) -> dict[str, Any] | None:
    """The usage a LiteLLM response reports, in the service's usage keys. LiteLLM reports every
    provider in OpenAI's shape: prompt tokens include cache reads and writes (Anthropic's too)."""
    if spec is not None and spec.kind == "image":
        reported = _dump(getattr(response, "usage", None))
        made = len(getattr(response, "data", None) or ()) or int(spec.estimate.get("images", 1))
        image = {k: v for k, v in spec.estimate.items() if k in ("image_size", "image_quality")}
        if reported and reported.get("input_tokens") is not None:  # gpt-image-1 reports tokens
            return {**_token_usage(reported), **image, "images": made}
        return {**image, "images": made}
    if spec is not None and spec.operation == "messages":  # Anthropic's own shape, unconverted
        raw = response.get("usage") if isinstance(response, Mapping) else getattr(response, "usage", None)
        return _anthropic_usage(_dump(raw) or {}) if raw is not None else None
    reported = _dump(getattr(response, "usage", None))
    return _token_usage(reported) if reported else None


def _anthropic_usage(u: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic's input_tokens leaves cache reads and writes out; the service's includes them."""
    read = int(u.get("cache_read_input_tokens") or 0)
    writes = int(u.get("cache_creation_input_tokens") or 0)
    by_ttl: Mapping[str, Any] = u.get("cache_creation") or {}
    five_minutes = int(by_ttl.get("ephemeral_5m_input_tokens") or 0)
    one_hour = int(by_ttl.get("ephemeral_1h_input_tokens") or 0)
    writes = max(writes, five_minutes + one_hour)
    usage = {
        "input_tokens": int(u.get("input_tokens") or 0) + read + writes,
        "output_tokens": int(u.get("output_tokens") or 0),
    }
    for key, value in (
        ("cache_read_tokens", read),
        ("cache_write_tokens", writes),
        ("cache_write_5m_tokens", five_minutes),
        ("cache_write_1h_tokens", one_hour),
    ):
        if value:
            usage[key] = value
    return usage


def _token_usage(u: Mapping[str, Any]) -> dict[str, Any]:
    chat = u.get("prompt_tokens") is not None
    prompt = int((u.get("prompt_tokens") if chat else u.get("input_tokens")) or 0)
    output = int((u.get("completion_tokens") if chat else u.get("output_tokens")) or 0)
    given = u.get("prompt_tokens_details") if chat else u.get("input_tokens_details")
    made = u.get("completion_tokens_details") if chat else u.get("output_tokens_details")
    inputs: Mapping[str, Any] = given or {}
    outputs: Mapping[str, Any] = made or {}
    usage: dict[str, int] = {"input_tokens": prompt, "output_tokens": output}
    cache_read = int(inputs.get("cached_tokens") or u.get("cache_read_input_tokens") or 0)
    writes = int(inputs.get("cache_creation_tokens") or u.get("cache_creation_input_tokens") or 0)
    by_ttl: Mapping[str, Any] = inputs.get("cache_creation_token_details") or {}
    five_minutes = int(by_ttl.get("ephemeral_5m_input_tokens") or 0)
    one_hour = int(by_ttl.get("ephemeral_1h_input_tokens") or 0)
    for key, value in (
        ("cache_read_tokens", cache_read),
        ("cache_write_tokens", max(writes, five_minutes + one_hour)),
        ("cache_write_5m_tokens", five_minutes),
        ("cache_write_1h_tokens", one_hour),
        ("input_audio_tokens", int(inputs.get("audio_tokens") or 0)),
        ("input_image_tokens", int(inputs.get("image_tokens") or 0)),
        ("output_audio_tokens", int(outputs.get("audio_tokens") or 0)),
        ("output_image_tokens", int(outputs.get("image_tokens") or 0)),
    ):
        if value:
            usage[key] = value
    return usage


def litellm_estimate(spec: CallSpec) -> Decimal | None:
    """LiteLLM's price of the call's upper bound, for a model the service cannot price."""
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=spec.model or "",
            custom_llm_provider=spec.provider,
            prompt_tokens=int(spec.estimate.get("input_tokens", 0)),
            completion_tokens=int(spec.estimate.get("output_tokens", 0)),
        )
    except Exception:
        return None
    total = Decimal(str(prompt_cost)) + Decimal(str(completion_cost))
    return total.quantize(TEN_PLACES, rounding=ROUND_CEILING) if total > 0 else None


def _litellm_cost(response: Any) -> Decimal | None:
    hidden = getattr(response, "_hidden_params", None) or {}
    return _decimal(hidden.get("response_cost")) if isinstance(hidden, Mapping) else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except Exception:
        return None
    return amount.quantize(TEN_PLACES, rounding=ROUND_CEILING) if amount.is_finite() and amount >= 0 else None


def _dump(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    if hasattr(usage, "model_dump"):
        dumped: dict[str, Any] = usage.model_dump(exclude_none=True)
        return dumped
    return dict(usage) if isinstance(usage, Mapping) else None


def _unpriced(refused: BudgetError) -> bool:
    return refused.status == 422 and any(
        isinstance(d, Mapping) and d.get("field") == "model" for d in refused.details
    )


def _call_type_name(call_type: Any) -> str:
    return str(getattr(call_type, "value", call_type) or "")
