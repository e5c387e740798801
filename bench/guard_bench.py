"""What guard() and the LiteLLM callback add to each call, printed as JSON (run: `make bench`).

- Budget Service round trips per guarded call (target 2: reserve, then settle), counted by the
  BudgetClient against the local stack.
- Latency: the same OpenAI chat call through the real ``openai`` client against the fake provider
  on loopback, guarded and unguarded, interleaved; medians, the guarded one as a ratio to the bare
  call and in ms added (mostly the two round trips to the local stack, itself moto on loopback).
- CPU of the guard's own work per call (estimate, event, bookkeeping; target < 1 ms): the calling
  thread's CPU time of guarded calls with an in-memory budget that answers at once, minus that of unguarded
  calls, both against the same in-process fake provider. The same for ``BudgetCallback`` around
  ``litellm.completion``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's prices from the package
MESSAGES = [{"role": "user", "content": "Say hello in one short sentence, please."}]


class InstantBudget:
    """The BudgetClient's interface, answered in memory: what is left is the guard's own CPU."""

    def __init__(self) -> None:
        from budget_sdk import Hold, Settled

        self._hold, self._settled = Hold, Settled

    def reserve(self, estimated_cost_usd: Any = None, **options: Any) -> Any:
        expires = datetime.now(UTC) + timedelta(minutes=10)
        return self._hold(f"res_{uuid.uuid4().hex[:28]}", Decimal("0.01"), expires, ["pol_1"])

    def settle(self, reservation_id: str, **event: Any) -> Any:
        return self._settled(reservation_id, "evt", Decimal("0.00472"), False)

    def release(self, reservation_id: str) -> None:
        return None

    def record(self, **event: Any) -> str:
        return "evt"


def _median_seconds(work: Callable[[], Any], samples: int) -> float:
    timings = []
    for _ in range(samples):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def _cpu_ms_per_call(work: Callable[[], Any], calls: int) -> float:
    """CPU of the calling thread only: the fake provider's and the stack's threads are left out."""
    start = time.thread_time()
    for _ in range(calls):
        work()
    return (time.thread_time() - start) * 1000 / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="calls per measurement")
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):  # the stack's functions print their metrics
        report = _measure(args.calls)
    print(json.dumps(report, indent=2))
    return 0


def _measure(calls: int) -> dict[str, Any]:
    sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "sdk")]

    import openai

    from budget_sdk import BudgetClient, guard
    from budget_service.emulator.fake_providers import FakeProviders
    from budget_service.local.api_client import ApiClient
    from budget_service.local.stack import LocalConfig, LocalStack, free_port
    from budget_service.local.tokens import make_token

    providers = FakeProviders()
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as state:
        stack = LocalStack(
            LocalConfig(api_port=free_port(), aws_port=free_port(), state_dir=Path(state)), log=lambda _: None
        )
        ready = stack.start()
        try:
            admin = ApiClient(
                ready["api_url"], make_token(Path(state), "bench", ("admin",), "budget-service")
            )
            created = admin.post(
                "/v1/policies",
                {"name": "cap", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "100000"},
            )
            assert created.status == 201, created.body
            token = make_token(Path(state), "bench", ("service",), "budget-service")
            budget = BudgetClient(ready["api_url"], token=token)
            bare = openai.OpenAI(api_key="k", base_url=f"{providers.url}/v1", max_retries=0)
            guarded = guard(bare, budget, user_id="bench")
            instant = guard(bare, InstantBudget(), user_id="bench")  # type: ignore[arg-type]

            def call(client: Any) -> Callable[[], Any]:
                return lambda: client.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, max_tokens=100
                )

            for client in (bare, guarded, instant):  # warm: connections, caches, first imports
                for _ in range(5):
                    call(client)()
            before = budget.stats.requests
            samples = max(20, calls // 4)
            latency = {"bare": 1e9, "guarded": 1e9}
            for _ in range(2):  # interleaved, the better median of each
                latency["bare"] = min(latency["bare"], _median_seconds(call(bare), samples))
                latency["guarded"] = min(latency["guarded"], _median_seconds(call(guarded), samples))
            round_trips = (budget.stats.requests - before) / (2 * samples)
            cpu = {"bare": 1e9, "guarded": 1e9}
            for _ in range(2):
                cpu["bare"] = min(cpu["bare"], _cpu_ms_per_call(call(bare), calls))
                cpu["guarded"] = min(cpu["guarded"], _cpu_ms_per_call(call(instant), calls))
            litellm_cpu = _litellm_cpu_ms(providers.url, calls)
        finally:
            stack.stop()
            providers.close()

    guard_cpu = cpu["guarded"] - cpu["bare"]
    report = {
        "benchmark": "guarded provider calls",
        "calls_per_measurement": calls,
        "budget_round_trips_per_guarded_call": round(round_trips, 2),
        "latency_ms": {
            "unguarded_median": round(latency["bare"] * 1000, 3),
            "guarded_median": round(latency["guarded"] * 1000, 3),
            "added_by_guard": round((latency["guarded"] - latency["bare"]) * 1000, 3),
        },
        "guarded_latency_ratio_to_unguarded": round(latency["guarded"] / latency["bare"], 2),
        "cpu_ms_per_call": {
            "unguarded": round(cpu["bare"], 3),
            "guard_own_work": round(guard_cpu, 3),
            "litellm_callback_own_work": round(litellm_cpu, 3),
        },
        "targets": {"budget_round_trips_per_guarded_call": 2, "guard_cpu_ms_per_call": 1.0},
    }
    report["within_targets"] = {
        "budget_round_trips_per_guarded_call": round_trips <= 2,
        "guard_cpu_ms_per_call": guard_cpu < 1.0,
    }
    return report


def _litellm_cpu_ms(provider_url: str, calls: int) -> float:
    """CPU of BudgetCallback per litellm.completion: with it (an instant budget) minus without."""
    import litellm

    from budget_sdk.litellm import BudgetCallback

    callback = BudgetCallback(InstantBudget())  # type: ignore[arg-type]
    completion = callback.guarded(litellm.completion)
    request = {
        "model": "openai/gpt-4o",
        "messages": MESSAGES,
        "max_tokens": 100,
        "api_base": f"{provider_url}/v1",
        "api_key": "k",
    }

    def bare() -> Any:
        return litellm.completion(**request)

    def held() -> Any:
        return completion(**request)

    for work in (bare, held):
        for _ in range(5):
            work()
    best = {"bare": 1e9, "held": 1e9}
    for _ in range(3):
        best["bare"] = min(best["bare"], _cpu_ms_per_call(bare, calls))
        best["held"] = min(best["held"], _cpu_ms_per_call(held, calls))
    return best["held"] - best["bare"]


if __name__ == "__main__":
    raise SystemExit(main())
