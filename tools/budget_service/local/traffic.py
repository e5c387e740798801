"""Realistic usage for the local stack: tenants with teams and users, a mix of chat models and image
calls, quiet stretches and bursts."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# (provider, model, operation, weight)
LLM_MODELS = [
    ("openai", "gpt-4o", "chat.completions", 3),
    ("openai", "gpt-4o-mini", "chat.completions", 6),
    ("anthropic", "claude-sonnet-4-5", "messages", 3),
    ("anthropic", "claude-haiku-4-5", "messages", 2),
    ("google", "gemini-2.5-flash", "generateContent", 2),
]
IMAGE_MODELS = [
    ("openai", "dall-e-3", ("standard", "hd")),
    ("openai", "gpt-image-1", ("low", "medium", "high")),
]
TEAMS = ("research", "support", "marketing")


@dataclass(frozen=True)
class Call:
    kind: str  # "llm" or "image"
    fields: dict[str, Any]


class TrafficModel:
    def __init__(self, tenants: Sequence[str], seed: int = 7, image_share: float = 0.1) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not secrets
        self._tenants = list(tenants)
        self._image_share = image_share
        self._people = [
            (tenant, team, f"{team}-user-{n}") for tenant in self._tenants for team in TEAMS for n in range(4)
        ]
        self._llm_weights = [m[3] for m in LLM_MODELS]

    def calls(self) -> Iterator[Call]:
        while True:
            yield self.next_call()

    def next_call(self) -> Call:
        rng = self._rng
        tenant, team, user = rng.choice(self._people)
        scope = {
            "tenant_id": tenant,
            "team_id": team,
            "user_id": user,
            "api_key_id": f"key-{team}",
            "project_id": f"{team}-assistant",
        }
        if rng.random() < self._image_share:
            provider, model, qualities = rng.choice(IMAGE_MODELS)
            return Call(
                "image",
                {
                    "provider": provider,
                    "model": model,
                    "images": rng.choice((1, 1, 1, 2, 4)),
                    "image_size": "1024x1024",
                    "image_quality": rng.choice(qualities),
                    **scope,
                },
            )
        provider, model, operation, _ = rng.choices(LLM_MODELS, weights=self._llm_weights)[0]
        prompt = int(rng.lognormvariate(7.5, 0.9))  # a few hundred to tens of thousands of tokens
        return Call(
            "llm",
            {
                "provider": provider,
                "model": model,
                "operation": operation,
                "input_tokens": prompt,
                "output_tokens": int(rng.lognormvariate(5.5, 0.8)),
                "cache_read_tokens": rng.randrange(0, prompt // 2 + 1) if rng.random() < 0.4 else 0,
                **scope,
            },
        )

    def burst_factor(self, second: int) -> float:
        """Every 7th second carries a burst of four times the rate; the second after, half."""
        if second % 7 == 6:
            return 4.0
        if second % 7 == 0 and second:
            return 0.5
        return 1.0


def record(recorder: Any, call: Call) -> str:
    if call.kind == "image":
        return str(recorder.record_image_usage(**call.fields))
    return str(recorder.record_llm_usage(**call.fields))


def paced_calls(model: TrafficModel, rate: float, total: int, bursts: bool = True) -> Iterator[Call]:
    """``total`` calls of ``model`` at about ``rate`` per second (with its bursts, if ``bursts``)."""
    started = time.monotonic()
    for index in range(total):
        factor = model.burst_factor(int(time.monotonic() - started)) if bursts else 1.0
        delay = started + index / max(rate * factor, 0.001) - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 1.0))
        yield model.next_call()
