"""The demo's last step: budgets where the calls are made. A guarded OpenAI client and a LiteLLM
call, against the fake provider on loopback, each capped by a $0.05 hard budget: calls go through
until the next one could pass the cap, which is refused before the provider sees it."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rich.console import Console

from budget_service.emulator.fake_providers import FakeProviders
from budget_service.local.api_client import ApiClient

CAP = "0.05"
MESSAGES = [{"role": "user", "content": "Say hello."}]
Check = Callable[[str, bool, str], None]


def show_guarded_calls(
    api_url: str, admin: ApiClient, service_token: str, console: Console, check: Check
) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's prices from the package
    import litellm
    import openai

    from budget_sdk import BudgetClient, BudgetExceeded, guard
    from budget_sdk.litellm import BudgetCallback

    budget = BudgetClient(api_url, token=service_token)
    providers = FakeProviders()
    try:
        caps: dict[str, str] = {}
        for user in ("openai-app", "litellm-app"):
            created = admin.post(
                "/v1/policies",
                {
                    "name": f"{user}: hard cap",
                    "scope": {"type": "user", "id": user},
                    "period": "day",
                    "limit_usd": CAP,
                },
            )
            check(f"a ${CAP} hard daily cap for user {user}", created.status == 201, f"HTTP {created.status}")
            caps[user] = str(created.body.get("policy_id"))
        client = guard(openai.OpenAI(api_key="k", base_url=f"{providers.url}/v1", max_retries=0), budget,
                       user_id="openai-app")  # fmt: skip
        _until_refused(
            "guard(openai.OpenAI(...))",
            lambda: client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=400),
            BudgetExceeded, providers, admin, caps["openai-app"], console, check,
        )  # fmt: skip
        completion = BudgetCallback(budget, user_id="litellm-app").guarded(litellm.completion)
        _until_refused(
            "LiteLLM + BudgetCallback",
            lambda: completion(model="anthropic/claude-sonnet-4-5", messages=MESSAGES, max_tokens=1000,
                               api_base=providers.url, api_key="k"),
            BudgetExceeded, providers, admin, caps["litellm-app"], console, check,
        )  # fmt: skip
    finally:
        providers.close()


def _until_refused(
    name: str,
    call: Callable[[], Any],
    refusal: type[Exception],
    providers: FakeProviders,
    admin: ApiClient,
    policy_id: str,
    console: Console,
    check: Check,
) -> None:
    made = 0
    refused = False
    for _ in range(30):
        seen = len(providers.calls)
        try:
            call()
            made += 1
        except refusal as error:
            refused = len(providers.calls) == seen
            console.print(f"  {name}: call {made + 1} refused before the provider saw it: {error}")
            break
    status = admin.get(f"/v1/policies/{policy_id}/status").body
    spent, reserved = Decimal(status["spent_usd"]), Decimal(status["reserved_usd"])
    console.print(
        f"  {name}: {made} call{'s' if made != 1 else ''} made, ${spent} spent of ${CAP},"
        f" ${reserved} still held"
    )
    check(
        f"{name}: capped at ${CAP}, refused before the provider, nothing left held",
        refused and made > 0 and spent <= Decimal(CAP) and reserved == 0,
        f"{made} calls, ${spent}",
    )
