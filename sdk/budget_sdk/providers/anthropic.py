"""Anthropic: messages, sync, async and streamed (``create(stream=True)``)."""

from __future__ import annotations

import json
from typing import Any

from budget_sdk.estimates import messages_tokens, output_cap, text_tokens
from budget_sdk.guard import CallSpec, Guard, Guarded, usage_of
from budget_sdk.providers.proxy import Proxy, guarded_method, is_async_client
from budget_sdk.streams import StreamUsage


def messages_spec(kwargs: dict[str, Any]) -> CallSpec:
    model = kwargs.get("model")
    prompt = messages_tokens(kwargs.get("messages"), model) + text_tokens(kwargs.get("system"))
    prompt += text_tokens(kwargs.get("tools"))
    estimate: dict[str, Any] = {"input_tokens": prompt, "output_tokens": output_cap(kwargs, "max_tokens")}
    if "cache_control" in json.dumps([kwargs.get(k) for k in ("system", "messages", "tools")], default=str):
        # a cache write costs more than input, 1-hour writes the most: bound the prompt as one
        estimate.update(cache_write_tokens=prompt, cache_write_1h_tokens=prompt)
    return CallSpec("anthropic", "llm", "messages", model, "default", estimate)


def settle_message(call: Guarded, response: Any, kwargs: dict[str, Any]) -> None:
    call.settle(usage_of(response), getattr(response, "model", None))


def observe_message_event(event: Any, usage: StreamUsage) -> None:
    kind = getattr(event, "type", "")
    if kind == "message_start":
        message = getattr(event, "message", None)
        usage.model = getattr(message, "model", None) or usage.model
        usage.extra["start"] = usage_of(message) or {}
    elif kind == "content_block_delta":
        delta = getattr(event, "delta", None)
        usage.saw_text(getattr(delta, "text", None) or getattr(delta, "partial_json", None))
    elif kind == "message_delta":
        # the final counts: message_delta's usage adds the output to what message_start reported
        usage.provider_usage = {**usage.extra.get("start", {}), **(usage_of(event) or {})}


def guard_anthropic(client: Any, guard: Guard) -> GuardedAnthropic:
    return GuardedAnthropic(client, guard)


class GuardedAnthropic(Proxy):
    def __init__(self, client: Any, guard: Guard) -> None:
        create = guarded_method(
            client.messages.create,
            guard,
            messages_spec,
            settle_message,
            observe_message_event,
            None,
            is_async_client(client),
        )
        super().__init__(client, {"messages": Proxy(client.messages, {"create": create})})
        self.budget_guard = guard

    def with_budget_scope(self, **scope: str) -> GuardedAnthropic:
        return GuardedAnthropic(self._target, self.budget_guard.with_scope(**scope))
