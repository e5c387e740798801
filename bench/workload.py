"""The realistic batch of the benchmarks: 3 tenants, 50 users, 6 models, every event under 3 policies
(tenant-wide monthly, its team's monthly, its project's monthly); about a quarter of the text
events report usage v1.1 (cache writes by duration, reasoning, a service tier, provider usage)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

MODELS = [
    ("openai", "gpt-4o", "chat.completions"),
    ("openai", "gpt-4o-mini", "chat.completions"),
    ("anthropic", "claude-sonnet-4-5", "messages"),
    ("anthropic", "claude-haiku-4-5", "messages"),
    ("google", "gemini-2.5-flash", "generateContent"),
    ("openai", "dall-e-3", "images.generate"),
]
TENANTS = ["tenant-acme", "tenant-globex", "tenant-initech"]
TEAMS_PER_TENANT = 3
PROJECTS_PER_TENANT = 4


def users() -> list[tuple[str, str, str, str]]:
    """(tenant, user, team, project) for 50 users."""
    rng = random.Random(7)
    found = []
    for index in range(50):
        tenant = TENANTS[index % len(TENANTS)]
        found.append(
            (
                tenant,
                f"user-{index:02d}",
                f"team-{rng.randrange(TEAMS_PER_TENANT)}",
                f"project-{rng.randrange(PROJECTS_PER_TENANT)}",
            )
        )
    return found


def policies_for(tenant: str) -> list[dict[str, Any]]:
    bodies = [{"name": "all", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "50000"}]
    bodies += [
        {
            "name": f"team-{t}",
            "scope": {"type": "team", "id": f"team-{t}"},
            "period": "month",
            "limit_usd": "10000",
        }
        for t in range(TEAMS_PER_TENANT)
    ]
    bodies += [
        {
            "name": f"project-{p}",
            "scope": {"type": "project", "id": f"project-{p}"},
            "period": "month",
            "limit_usd": "5000",
        }
        for p in range(PROJECTS_PER_TENANT)
    ]
    return bodies


def quiet_moment() -> datetime:
    """A recent moment at 7.5 minutes past an hour: the 20 seconds of events before it never straddle
    a quarter-hour, hour or day, so a figure never depends on when the bench happens to run."""
    return (datetime.now(UTC) - timedelta(hours=1)).replace(minute=7, second=30, microsecond=0)


def events(count: int, seed: int = 1, now: datetime | None = None) -> list[bytes]:
    """``count`` usage events as Kinesis record data, spread over the last 20 seconds."""
    rng = random.Random(seed)
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    people = users()
    found = []
    for index in range(count):
        tenant, user, team, project = rng.choice(people)
        provider, model, operation = rng.choice(MODELS)
        event: dict[str, Any] = {
            "event_id": f"bench-{seed}-{index:06d}",
            "tenant_id": tenant,
            "timestamp": (moment - timedelta(seconds=rng.randrange(20))).isoformat(),
            "kind": "image" if model == "dall-e-3" else "llm",
            "provider": provider,
            "model": model,
            "operation": operation,
            "user_id": user,
            "team_id": team,
            "api_key_id": f"key-{user}",
            "project_id": project,
        }
        if model == "dall-e-3":
            event["usage"] = {"images": 1, "image_size": "1024x1024", "image_quality": "standard"}
        else:
            prompt = rng.randrange(200, 8000)
            event["usage"] = {
                "input_tokens": prompt,
                "output_tokens": rng.randrange(20, 1500),
                "cache_read_tokens": rng.randrange(0, prompt // 2),
            }
            _add_usage_v1_1(event, rng)
        found.append(json.dumps(event, separators=(",", ":")).encode())
    return found


def _add_usage_v1_1(event: dict[str, Any], rng: random.Random) -> None:
    """About one event in four reports usage v1.1: cache writes by duration, reasoning tokens, a
    service tier, or the provider's own usage object instead of ``usage``."""
    usage, draw = event["usage"], rng.random()
    if event["provider"] == "anthropic" and draw < 0.3:
        fresh = usage["input_tokens"] - usage["cache_read_tokens"]
        usage["cache_write_tokens"] = usage["cache_write_1h_tokens"] = fresh // 4
    elif event["provider"] == "openai" and draw < 0.1:
        event["service_tier"] = "priority"
        usage["output_reasoning_tokens"] = usage["output_tokens"] // 2
    elif event["provider"] == "openai" and draw < 0.25:
        del event["usage"]
        event["api_flavor"] = "chat"
        event["provider_usage"] = {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["input_tokens"] + usage["output_tokens"],
            "prompt_tokens_details": {"cached_tokens": usage["cache_read_tokens"], "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }


def stored_policy(body: dict[str, Any], tenant: str, now: datetime) -> Any:
    """A Policy as the API would store it (server-made id, version 1)."""
    from budget_core.domain.policies.policy import NewPolicy, Policy
    from budget_core.domain.shared.ids import new_id

    fields = NewPolicy.model_validate(body).model_dump()
    return Policy(
        **fields, policy_id=new_id("pol"), tenant_id=tenant, version=1, created_at=now, updated_at=now
    )


def ingest_mapping() -> dict[str, Any]:
    """What template.yaml sets for UsageIngestFunction and its Kinesis event source."""
    from budget_service.local.functions import function_specs
    from budget_service.templates.model import load_template
    from budget_service.templates.provision import parameter_values

    template = load_template()
    ingest = function_specs(template)["UsageIngestFunction"]
    usage = ingest.events["Usage"]["Properties"]
    return {
        "memory_mb": ingest.memory_mb,
        "template_shards": int(parameter_values(template)["UsageShardCount"]),
        "batch_size": int(usage["BatchSize"]),
        "window_seconds": float(usage["MaximumBatchingWindowInSeconds"]),
        "parallelization_factor": int(usage["ParallelizationFactor"]),
    }
