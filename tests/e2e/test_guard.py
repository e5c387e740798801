"""guard() with the real openai and anthropic packages, against a fake provider on loopback (the
providers' recorded response shapes, SSE streams included) and the local stack.

Golden costs at list prices (openai.com/api/pricing and anthropic.com/pricing, read 2026-12-03):
gpt-4o $2.50 / $1.25 cached / $10 per MTok; text-embedding-3-small $0.02; dall-e-3 standard
1024x1024 $0.04 an image; claude-sonnet-4-5 $3 / $0.30 cache read / $15 per MTok.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest

from budget_sdk import BudgetClient, BudgetExceeded, guard
from budget_sdk.providers.openai import chat_spec
from budget_service.emulator.fake_providers import FakeProviders
from tests.e2e.conftest import LocalStack

GPT_4O_CHAT = Decimal("0.00472")  # 176 new + 1,024 cached prompt tokens, 300 output
GPT_4O_RESPONSE = Decimal("0.01")  # 2,000 input, 500 output
EMBEDDING = Decimal("0.00016")  # 8,000 tokens
DALL_E_3 = Decimal("0.04")
SONNET_MESSAGE = Decimal("0.048")  # 1,000 new + 50,000 cache read, 2,000 output
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    fake = FakeProviders()
    yield fake
    fake.close()


class Tenant:
    def __init__(self, stack: LocalStack, providers: FakeProviders, limit: str = "100") -> None:
        self.id = f"guard-{uuid.uuid4().hex[:8]}"
        self.admin = stack.api(self.id)
        created = self.admin.post(
            "/v1/policies", {"name": "all", "scope": {"type": "tenant"}, "period": "day", "limit_usd": limit}
        )
        assert created.status == 201, created.body
        self.policy_id = created.body["policy_id"]
        self.budget = BudgetClient(stack.ready["api_url"], token=stack.token(self.id, "service"))
        self.providers = providers

    def openai(self, **scope: str) -> Any:
        return guard(
            openai.OpenAI(api_key="k", base_url=f"{self.providers.url}/v1", max_retries=0),
            self.budget,
            **scope,
        )

    def async_openai(self) -> Any:
        return guard(
            openai.AsyncOpenAI(api_key="k", base_url=f"{self.providers.url}/v1", max_retries=0), self.budget
        )

    def anthropic(self) -> Any:
        return guard(
            anthropic.Anthropic(api_key="k", base_url=self.providers.url, max_retries=0), self.budget
        )

    def status(self) -> tuple[Decimal, Decimal]:
        body = self.admin.get(f"/v1/policies/{self.policy_id}/status").body
        return Decimal(body["spent_usd"]), Decimal(body["reserved_usd"])


def test_every_guarded_call_answers_as_the_provider_and_costs_its_golden_figure(
    local_stack: LocalStack, providers: FakeProviders
) -> None:
    # Given a tenant with a budget, and guarded OpenAI and Anthropic clients
    tenant = Tenant(local_stack, providers)
    client, claude = tenant.openai(user_id="alice"), tenant.anthropic()
    # When each kind of call is made once
    chat = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=400)
    response = client.responses.create(model="gpt-4o", input="Say hello.", max_output_tokens=600)
    embedding = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    image = client.images.generate(model="dall-e-3", prompt="a cat", size="1024x1024", quality="standard")
    message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=2500, messages=MESSAGES)
    # Then each answer is the provider's own, unchanged
    assert isinstance(chat, openai.types.chat.ChatCompletion)
    assert chat.choices[0].message.content == "Hello from the fake provider."
    assert response.output_text == "Hello."
    assert embedding.data[0].embedding == [0.0, 0.1]
    assert image.data[0].url == "https://example.com/image.png"
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].text == "Hello from the fake provider."
    # And the spend is exactly the golden costs, with no hold left
    golden = GPT_4O_CHAT + GPT_4O_RESPONSE + EMBEDDING + DALL_E_3 + SONNET_MESSAGE
    assert tenant.status() == (golden, Decimal(0))
    summary = tenant.admin.get("/v1/usage/summary").body
    assert Decimal(summary["cost_usd"]) == golden
    assert summary["unpriced_events"] == 0


def test_a_hard_budget_stops_the_next_call_before_the_provider_sees_it(
    local_stack: LocalStack, providers: FakeProviders
) -> None:
    # Given a $0.05 hard budget, and a first Sonnet call that costs $0.048
    tenant = Tenant(local_stack, providers, limit="0.05")
    claude = tenant.anthropic()
    claude.messages.create(model="claude-sonnet-4-5", max_tokens=1000, messages=MESSAGES)
    seen = len(providers.calls)
    # When the next call is made, then it is refused before it reaches the provider
    with pytest.raises(BudgetExceeded) as refused:
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=1000, messages=MESSAGES)
    assert refused.value.blocking_policy_ids == [tenant.policy_id]
    assert len(providers.calls) == seen
    assert tenant.status() == (SONNET_MESSAGE, Decimal(0))


def test_streams_settle_with_the_usage_they_report(local_stack: LocalStack, providers: FakeProviders) -> None:
    tenant = Tenant(local_stack, providers)
    client, claude = tenant.openai(), tenant.anthropic()
    # When a chat, a response and a message are streamed to their end
    chunks = list(
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=400, stream=True)
    )
    events = list(client.responses.create(model="gpt-4o", input="hi", max_output_tokens=600, stream=True))
    parts = list(
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=2500, messages=MESSAGES, stream=True)
    )
    # Then the chunks are the provider's (OpenAI was asked for its usage), and each settled exactly
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "Hello from the fake provider."
    )
    assert providers.calls[-3]["body"]["stream_options"] == {"include_usage": True}
    assert events[-1].type == "response.completed"
    assert parts[-1].type == "message_stop"
    assert tenant.status() == (GPT_4O_CHAT + GPT_4O_RESPONSE + SONNET_MESSAGE, Decimal(0))


def _private_rates(tenant: Tenant, model: str) -> None:
    # a private model priced by the tenant: the partial settle of a broken stream has a known cost
    rates = {"input_mtok": "10", "output_mtok": "1000"}
    put = tenant.admin.call("PUT", "/v1/prices", {"provider": "openai", "model": model, "rates": rates})
    assert put.status == 201, put.body


def test_failed_cut_and_abandoned_calls_leave_no_hold(
    local_stack: LocalStack, providers: FakeProviders
) -> None:
    tenant = Tenant(local_stack, providers)
    _private_rates(tenant, "cut-model")
    client = tenant.openai()
    # When the provider fails, a stream drops mid-way, and a stream is abandoned after one chunk
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="fail-model", messages=MESSAGES, budget_estimate_usd="0.50")
    assert tenant.status() == (Decimal(0), Decimal(0))
    request = {"model": "cut-model", "messages": MESSAGES, "max_tokens": 100}
    # (the openai package ends a stream whose connection dropped as if it were complete, without
    # the usage chunk: the guard settles what it saw)
    streamed = list(client.chat.completions.create(**request, stream=True))
    assert len(streamed) == 2
    spent, reserved = tenant.status()
    # Then the failed call cost nothing, the cut stream cost what it streamed ("Hello", " from":
    # the prompt's bound at $10 and 10 streamed bytes at $1,000 per MTok), and no hold is left
    bound = chat_spec({**request}).estimate["input_tokens"]
    assert (spent, reserved) == (Decimal(bound * 10 + 10 * 1000) / 1_000_000, Decimal(0))
    abandoned = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=400, stream=True)
    next(abandoned)
    del abandoned
    gc.collect()
    assert tenant.status()[1] == Decimal(0)


def test_async_calls_and_a_cancelled_stream_settle_too(
    local_stack: LocalStack, providers: FakeProviders
) -> None:
    tenant = Tenant(local_stack, providers)
    client = tenant.async_openai()

    async def scenario() -> str:
        answer = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=400)
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, max_tokens=400, stream=True
        )
        async for _ in stream:
            pass

        async def read_one_then_wait() -> None:
            cancelled = await client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True, max_tokens=9
            )
            async for _ in cancelled:
                await asyncio.sleep(10)  # cancelled here, mid-stream

        task = asyncio.create_task(read_one_then_wait())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return str(answer.choices[0].message.content)

    assert asyncio.run(scenario()) == "Hello from the fake provider."
    spent, reserved = tenant.status()
    assert reserved == Decimal(0)
    assert spent > 2 * GPT_4O_CHAT  # the cancelled one settled what it had streamed


def test_a_per_call_scope_counts_under_that_scope(local_stack: LocalStack, providers: FakeProviders) -> None:
    tenant = Tenant(local_stack, providers)
    bob = tenant.admin.post(
        "/v1/policies",
        {"name": "bob", "scope": {"type": "user", "id": "bob"}, "period": "day", "limit_usd": "5"},
    ).body["policy_id"]
    client = tenant.openai(user_id="alice")
    client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=400, budget_scope={"user_id": "bob"}
    )
    client.with_budget_scope(user_id="bob").chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=400
    )
    assert tenant.admin.get(f"/v1/policies/{bob}/status").body["spent_usd"] == str(2 * GPT_4O_CHAT).rstrip(
        "0"
    )
