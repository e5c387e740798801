"""budget_sdk.litellm.BudgetCallback with LiteLLM itself, against a fake provider on loopback (the
providers' recorded response shapes, SSE included) and the local stack.

Golden costs at list prices (openai.com/api/pricing and anthropic.com/pricing, read 2026-12-03):
gpt-4o $2.50 / $1.25 cached / $10 per MTok; claude-sonnet-4-5 $3 / $0.30 cache read / $15 per MTok.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import litellm
import pytest
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth

from budget_sdk import BudgetClient, BudgetExceeded
from budget_sdk.litellm import BudgetCallback
from budget_service.emulator.fake_providers import FakeProviders
from tests.e2e.conftest import LocalStack, wait_for

GPT_4O_CHAT = Decimal("0.00472")  # 176 new + 1,024 cached prompt tokens, 300 output
SONNET_MESSAGE = Decimal("0.048")  # 1,000 new + 50,000 cache read, 2,000 output
MESSAGES = [{"role": "user", "content": "Say hello."}]


class CallsEnded(CustomLogger):  # type: ignore[misc]
    """Listed after the budget callback: LiteLLM runs callbacks in order, so once this one has seen
    a call end, the budget callback has finished with it."""

    def __init__(self) -> None:
        super().__init__()
        self.ended: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def event(self, call_id: str) -> threading.Event:
        with self._lock:
            return self.ended.setdefault(call_id, threading.Event())

    def _end(self, kwargs: dict[str, Any]) -> None:
        self.event(str(kwargs.get("litellm_call_id"))).set()

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._end(kwargs)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._end(kwargs)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._end(kwargs)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._end(kwargs)

    def wait(self, call_id: str) -> None:
        assert self.event(call_id).wait(30), f"LiteLLM never ended call {call_id}"


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    fake = FakeProviders()
    yield fake
    fake.close()


class Tenant:
    def __init__(self, stack: LocalStack, providers: FakeProviders, limit: str = "100") -> None:
        self.id = f"litellm-{uuid.uuid4().hex[:8]}"
        self.admin = stack.api(self.id)
        self.policy_id = self.policy({"type": "tenant"}, limit)
        self.budget = BudgetClient(stack.ready["api_url"], token=stack.token(self.id, "service"))
        # what a model neither the service nor LiteLLM prices is held at (the fake's failing model)
        self.callback = BudgetCallback(self.budget, unpriced_estimate_usd="0.01")
        self.ended = CallsEnded()
        self.providers = providers

    def policy(self, scope: dict[str, str], limit: str) -> str:
        created = self.admin.post(
            "/v1/policies", {"name": "cap", "scope": scope, "period": "day", "limit_usd": limit}
        )
        assert created.status == 201, created.body
        return str(created.body["policy_id"])

    def status(self, policy_id: str | None = None) -> tuple[Decimal, Decimal]:
        body = self.admin.get(f"/v1/policies/{policy_id or self.policy_id}/status").body
        return Decimal(body["spent_usd"]), Decimal(body["reserved_usd"])

    async def completed(self, call: dict[str, Any]) -> Any:
        """An async call, and its end in LiteLLM's logging (a task of this event loop)."""
        answer = await litellm.acompletion(**call)
        await self.ended_async(call)
        return answer

    async def ended_async(self, *calls: dict[str, Any]) -> None:
        for call in calls:
            await asyncio.to_thread(self.ended.wait, call["litellm_call_id"])

    def call(self, model: str, **options: Any) -> dict[str, Any]:
        """A call's arguments, aimed at the fake provider, with an id to wait for its end."""
        base = self.providers.url if model.startswith("anthropic/") else f"{self.providers.url}/v1"
        return {
            "model": model,
            "messages": MESSAGES,
            "api_base": base,
            "api_key": "k",
            "max_tokens": 2500,
            "litellm_call_id": str(uuid.uuid4()),
            **options,
        }


@pytest.fixture
def tenant(local_stack: LocalStack, providers: FakeProviders) -> Iterator[Tenant]:
    made = Tenant(local_stack, providers)
    litellm.callbacks = [made.callback, made.ended]
    yield made
    # LiteLLM copies callbacks into its success and failure lists on first use: take them out of all
    for callback in (made.callback, made.ended):
        litellm.logging_callback_manager.remove_callback_from_all_lists(callback)


def test_a_guarded_sync_call_is_settled_at_its_golden_cost_before_it_returns(tenant: Tenant) -> None:
    # Given LiteLLM's synchronous completion, guarded by the budget callback
    completion = tenant.callback.guarded(litellm.completion)
    # When an OpenAI and an Anthropic model are called through it
    chat = completion(**(first := tenant.call("openai/gpt-4o", max_tokens=400)))
    message = completion(**(second := tenant.call("anthropic/claude-sonnet-4-5")))
    # Then each answer is LiteLLM's, and the spend is exactly the golden costs the moment they return
    assert chat.choices[0].message.content == "Hello from the fake provider."
    assert message.choices[0].message.content == "Hello from the fake provider."
    assert tenant.status() == (GPT_4O_CHAT + SONNET_MESSAGE, Decimal(0))
    # And LiteLLM's own success events, arriving later, count nothing twice
    tenant.ended.wait(first["litellm_call_id"])
    tenant.ended.wait(second["litellm_call_id"])
    assert tenant.status() == (GPT_4O_CHAT + SONNET_MESSAGE, Decimal(0))
    assert (tenant.callback.stats.settled, tenant.callback.stats.recorded) == (2, 0)
    summary = tenant.admin.get("/v1/usage/summary").body
    assert summary["events"] == 2
    assert summary["unpriced_events"] == 0


def test_an_async_call_past_a_hard_budget_is_refused_before_the_provider_sees_it(tenant: Tenant) -> None:
    # Given a $0.05 hard budget on user bob, and bob's first Sonnet call ($0.048) through acompletion
    bob = tenant.policy({"type": "user", "id": "bob"}, "0.05")
    sonnet = "anthropic/claude-sonnet-4-5"

    async def calls() -> tuple[BudgetExceeded, int, int]:
        await tenant.completed(tenant.call(sonnet, max_tokens=1000, user="bob"))
        seen = len(tenant.providers.calls)
        # When bob calls again
        with pytest.raises(BudgetExceeded) as refused:
            await litellm.acompletion(**tenant.call(sonnet, max_tokens=1000, user="bob"))
        after = len(tenant.providers.calls)
        # (and a per-call scope puts the same call on another user, who has no cap)
        carol = {"budget_scope": {"user_id": "carol"}}
        await tenant.completed(tenant.call(sonnet, max_tokens=1000, user="bob", metadata=carol))
        return refused.value, seen, after

    refused, seen, after = asyncio.run(calls())
    # Then LiteLLM raised the budget's refusal and the provider saw nothing of it
    assert isinstance(refused, litellm.BudgetExceededError)  # the proxy answers it as a budget error
    assert refused.blocking_policy_ids == [bob]
    assert after == seen
    # And only bob's own call counts on bob; both count on the tenant
    assert tenant.status(bob) == (SONNET_MESSAGE, Decimal(0))
    assert tenant.status() == (SONNET_MESSAGE * 2, Decimal(0))
    assert tenant.callback.stats.denied == 1


def test_a_failed_call_releases_its_hold_and_a_stream_settles_at_its_end(tenant: Tenant) -> None:
    # Given a call the provider fails, and a streamed one
    failing = tenant.call("openai/fail-model", num_retries=0)
    streamed = tenant.call("openai/gpt-4o", max_tokens=400, stream=True)

    async def calls() -> str:
        with pytest.raises(litellm.InternalServerError):
            await litellm.acompletion(**failing)
        text = ""
        async for chunk in await litellm.acompletion(**streamed):
            text += chunk.choices[0].delta.content or ""
        await tenant.ended_async(failing, streamed)
        return text

    # When both are made
    text = asyncio.run(calls())
    # Then the failure left no hold, and the stream was settled with the usage it reported
    assert text == "Hello from the fake provider."
    assert tenant.status() == (GPT_4O_CHAT, Decimal(0))
    assert (tenant.callback.stats.released, tenant.callback.stats.settled) == (1, 1)


def test_the_proxy_hook_holds_for_the_virtual_key_never_for_what_the_request_claims(tenant: Tenant) -> None:
    # Given a $0.01 hard cap on alice, and a proxy request on alice's key that claims to be mallory
    alice = tenant.policy({"type": "user", "id": "alice"}, "0.01")
    key = UserAPIKeyAuth(api_key="sk-alice", user_id="alice", team_id="research")
    data = tenant.call("openai/gpt-4o", max_tokens=400, metadata={"budget_scope": {"user_id": "mallory"}})
    data.pop("litellm_call_id")  # the proxy's request: the hook gives it an id

    async def proxied() -> tuple[dict[str, Any], Decimal]:
        routed = await tenant.callback.async_pre_call_hook(key, None, data, "acompletion")
        held = tenant.status(alice)[1]
        await tenant.completed(routed)  # what the proxy then does with the request
        return routed, held

    # When the proxy runs the hook and routes the request
    routed, held = asyncio.run(proxied())
    # Then the hold sat on alice (once, though the deployment hook ran too) and settled to the golden cost
    assert held > 0
    assert routed["litellm_call_id"]
    assert tenant.callback.stats.calls == 1  # one hold, though LiteLLM's deployment hook ran too
    assert tenant.status(alice) == (GPT_4O_CHAT, Decimal(0))
    # And alice's next call, past her cap once held ($0.00472 + at most 600 output tokens), is refused
    again = tenant.call("openai/gpt-4o", max_tokens=600)
    again.pop("litellm_call_id")
    with pytest.raises(litellm.BudgetExceededError):
        asyncio.run(tenant.callback.async_pre_call_hook(key, None, again, "acompletion"))


def test_a_model_only_litellm_can_price_is_held_and_counted_at_litellms_cost(tenant: Tenant) -> None:
    # Given a private model the service has no price for, priced in LiteLLM's own model map
    litellm.register_model(
        {
            "budget-private-model": {
                "input_cost_per_token": 1e-6,
                "output_cost_per_token": 2e-6,
                "litellm_provider": "openai",
                "mode": "chat",
            }
        }
    )
    call = tenant.call("openai/budget-private-model", max_tokens=400)
    # When it is called through acompletion
    asyncio.run(tenant.completed(call))
    # Then it was held and counted at LiteLLM's cost (1,200 in at $1, 300 out at $2 per MTok), not unpriced
    assert tenant.status() == (Decimal("0.0018"), Decimal(0))
    assert tenant.admin.get("/v1/usage/summary").body["unpriced_events"] == 0


def test_an_unguarded_sync_call_is_not_held_but_still_counted(tenant: Tenant) -> None:
    # Given LiteLLM's synchronous completion used directly, where no callback can stop a call
    call = tenant.call("openai/gpt-4o", max_tokens=400)
    # When it is made
    litellm.completion(**call)
    tenant.ended.wait(call["litellm_call_id"])
    # Then its usage is recorded (through the stream: counted within seconds) at its golden cost,
    # and counted as not enforced
    assert wait_for(lambda: tenant.status() == (GPT_4O_CHAT, Decimal(0)))
    assert (tenant.callback.stats.unenforced, tenant.callback.stats.recorded) == (1, 1)
