"""``budget-service demo``: the whole job on this machine. Starts the local stack (moto as the
embedded AWS, the template's functions, the HTTP API with JWT checks, the stream pollers), creates
policies over HTTP, streams simulated usage through the SDK while a live view shows every budget
filling up and alerts arriving, turns a pre-flight check from allow to deny, has a reservation
refused, caps a guarded OpenAI client and a LiteLLM call at a hard budget, and exits 0 with a
summary when every step did what it should."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from budget_service.local.api_client import ApiClient, HttpAnswer
from budget_service.local.stack import LocalConfig, LocalStack, free_port
from budget_service.local.tokens import make_token

RATE_PER_SECOND = 60
SECONDS = 8
POLICIES: list[tuple[str, dict[str, Any]]] = [
    ("acme", {"name": "acme: all spend", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "2.50",
              "forecast_alerts": True}),
    ("acme", {"name": "acme research: daily", "scope": {"type": "team", "id": "research"}, "period": "day",
              "limit_usd": "0.80", "enforcement": "soft", "alert_thresholds": [50, 80, 100]}),
    ("globex", {"name": "globex: all spend", "scope": {"type": "tenant"}, "period": "month",
                "limit_usd": "6.00", "alert_thresholds": [25, 50, 75, 100]}),
    ("globex", {"name": "globex support: images", "scope": {"type": "team", "id": "support"},
                "filters": {"kind": "image"}, "period": "month", "limit_usd": "0.60"}),
]  # fmt: skip


@dataclass
class Story:
    console: Console
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))
        mark = "[green]ok[/]" if ok else "[red]FAIL[/]"
        self.console.print(f"  {mark}  {name}" + (f" [dim]({detail})[/]" if detail else ""))


def run_demo() -> int:
    console = Console()
    with tempfile.TemporaryDirectory(prefix="budget-demo-") as state:
        config = LocalConfig(api_port=free_port(), aws_port=free_port(), state_dir=Path(state))
        stack = LocalStack(config, log=lambda line: None)
        console.rule("[bold]Budget Service demo: the local stack, no AWS account, no Docker")
        started = time.monotonic()
        ready = stack.start()
        console.print(
            f"local stack up in {time.monotonic() - started:.1f} s: API {ready['api_url']}, "
            f"embedded AWS {ready['aws_endpoint_url']}"
        )
        try:
            return _tell(stack, ready, Path(state), console)
        finally:
            stack.stop()


def _tell(stack: LocalStack, ready: dict[str, Any], state: Path, console: Console) -> int:
    story = Story(console)

    def client(tenant: str, roles: tuple[str, ...] = ("admin", "service", "viewer")) -> ApiClient:
        return ApiClient(ready["api_url"], make_token(state, tenant, roles, "budget-service"))

    apis = {tenant: client(tenant) for tenant in ("acme", "globex", "initech")}

    console.rule("1. Policies over HTTP")
    policies: list[tuple[str, str, str]] = []  # (tenant, policy_id, name)
    for tenant, body in POLICIES:
        answer = apis[tenant].post("/v1/policies", body)
        story.check(f"{tenant} creates '{body['name']}'", answer.status == 201, f"HTTP {answer.status}")
        if answer.status == 201:
            policies.append((tenant, answer.body["policy_id"], body["name"]))
    again = apis["acme"].post("/v1/policies", POLICIES[0][1])
    story.check("the same scope and period again is a conflict", again.status == 409, f"HTTP {again.status}")
    anonymous = ApiClient(ready["api_url"], None).get("/v1/policies")
    story.check("no token: refused by the authorizer", anonymous.status == 401, f"HTTP {anonymous.status}")
    foreign = apis["globex"].get(f"/v1/policies/{policies[0][1]}")
    story.check("globex cannot see acme's policy", foreign.status == 404, f"HTTP {foreign.status}")

    console.rule(f"2. Usage streams in through the SDK ({RATE_PER_SECOND}/s for {SECONDS} s)")
    sent = _stream_usage(stack, ready, apis, policies, console)
    drained = stack.wait_idle(timeout=60)
    counted = sum(apis[t].get("/v1/usage/summary").body["events"] for t in ("acme", "globex"))
    story.check("every event counted exactly once", drained and counted == sent, f"{counted} of {sent}")
    assert stack.alert_tail is not None
    alerts = list(stack.alert_tail.received)
    ids = [a["alert_id"] for a in alerts]
    story.check(
        "alerts arrived, each once", bool(alerts) and len(ids) == len(set(ids)), f"{len(alerts)} alerts"
    )
    history = apis["acme"].get("/v1/alerts").body["items"]
    story.check(
        "acme's alert history lists its alerts, newest first",
        len(history) == sum(1 for a in alerts if a["tenant_id"] == "acme"),
        f"{len(history)} in GET /v1/alerts",
    )

    console.rule("3. A pre-flight check turns from allow to deny")
    initech = apis["initech"]
    proto = initech.post(
        "/v1/policies",
        {"name": "initech prototype key", "scope": {"type": "api_key", "id": "key-proto"}, "period": "day",
         "limit_usd": "1.00"},
    )  # fmt: skip
    story.check("initech caps its prototype key at $1.00 a day", proto.status == 201, f"HTTP {proto.status}")
    call = {"api_key_id": "key-proto", "provider": "openai", "model": "gpt-4o", "estimated_cost_usd": "0.40"}
    before = initech.post("/v1/budget/check", call)
    _show_check(console, "before", before)
    used = initech.post(
        "/v1/usage",
        {"events": [{"event_id": "proto-1", "timestamp": datetime.now(UTC).isoformat(), "kind": "llm",
                     "provider": "openai", "model": "gpt-4o", "api_key_id": "key-proto",
                     "cost_usd": "0.85"}]},
    )  # fmt: skip
    story.check("$0.85 of usage reported over HTTP", used.status == 202, f"HTTP {used.status}")
    stack.wait_idle(timeout=30)
    after = initech.post("/v1/budget/check", call)
    _show_check(console, "after", after)
    story.check(
        "check: allow, then deny",
        before.body.get("decision") == "allow" and after.body.get("decision") == "deny",
        f"{before.body.get('decision')} -> {after.body.get('decision')}",
    )
    held = initech.post("/v1/reservations", {**call, "ttl_seconds": 60})
    story.check(
        "a $0.40 reservation is refused",
        held.status == 409 and held.body["error"]["code"] == "budget_exceeded",
        f"HTTP {held.status} {held.body.get('error', {}).get('code')}",
    )

    console.rule("4. Budgets where the calls are made: OpenAI and LiteLLM capped")
    from budget_service.demo_guard import show_guarded_calls

    hooli = client("hooli")
    show_guarded_calls(
        ready["api_url"],
        hooli,
        make_token(state, "hooli", ("service",), "budget-service"),
        console,
        story.check,
    )

    console.rule("Summary")
    for tenant in ("acme", "globex"):
        summary = apis[tenant].get("/v1/usage/summary").body
        models = ", ".join(
            f"{name} ${Decimal(v['cost_usd']):.2f}" for name, v in sorted(summary["by_model"].items())
        )
        console.print(f"  {tenant}: {summary['events']} events, {_dollars(summary['cost_usd'])} ({models})")
    failed = [name for name, ok, _ in story.checks if not ok]
    console.print(
        f"\n  {len(story.checks) - len(failed)} of {len(story.checks)} steps ok"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def _stream_usage(
    stack: LocalStack,
    ready: dict[str, Any],
    apis: dict[str, ApiClient],
    policies: list[tuple[str, str, str]],
    console: Console,
) -> int:
    from budget_service.local.simulate import stream_recorder
    from budget_service.local.traffic import TrafficModel, paced_calls, record

    recorder = stream_recorder(ready)
    model = TrafficModel(("acme", "globex"), seed=11)
    total = RATE_PER_SECOND * SECONDS
    sent = 0
    with Live(_view(apis, policies, stack, 0, total), console=console, refresh_per_second=4) as live:
        last_drawn = 0.0
        for call in paced_calls(model, RATE_PER_SECOND, total, bursts=False):
            record(recorder, call)
            sent += 1
            if time.monotonic() - last_drawn > 0.5:
                live.update(_view(apis, policies, stack, sent, total))
                last_drawn = time.monotonic()
        recorder.close(timeout=30)
        deadline = time.monotonic() + 60
        while not stack.wait_idle(timeout=1.5) and time.monotonic() < deadline:
            live.update(_view(apis, policies, stack, sent, total))
        time.sleep(1.0)  # the alert tail's last receive
        live.update(_view(apis, policies, stack, sent, total))
    console.print()
    return sent


def _view(
    apis: dict[str, ApiClient], policies: list[tuple[str, str, str]], stack: LocalStack, sent: int, total: int
) -> Group:
    table = Table(title=f"budgets ({sent}/{total} events sent)", expand=False)
    for column in ("tenant", "policy", "spent", "limit", "used", ""):
        table.add_column(column)
    for tenant, policy_id, name in policies:
        status = apis[tenant].get(f"/v1/policies/{policy_id}/status").body or {}
        percent = Decimal(status.get("percent_used", "0"))
        filled = min(int(percent / 5), 20)
        color = "green" if percent < 80 else "yellow" if percent < 100 else "red"
        table.add_row(
            tenant,
            name,
            _dollars(status.get("spent_usd")),
            _dollars(status.get("limit_usd")),
            f"{percent:.0f}%",
            Text("█" * filled + "·" * (20 - filled), style=color),
        )
    alerts = list(stack.alert_tail.received) if stack.alert_tail else []
    lines = [_alert_line(a) for a in alerts[-8:]] or [Text("no alerts yet", style="dim")]
    return Group(table, Text(f"alerts ({len(alerts)}):", style="bold"), *lines)


def _alert_line(alert: dict[str, Any]) -> Text:
    if alert["kind"] == "forecast":
        what = f"forecast {_dollars(alert['forecast_usd'])} by {alert['period_end'][:10]}"
    else:
        what = f"reached {alert['threshold_percent']}%"
    spent = _dollars(alert["spent_usd"])
    return Text(f"  {alert['tenant_id']} / {alert['policy_name']}: {what} (spent {spent})")


def _dollars(amount: str | None) -> str:
    return "?" if amount is None else f"${Decimal(amount).quantize(Decimal('0.01'))}"


def _show_check(console: Console, when: str, answer: HttpAnswer) -> None:
    body = answer.body or {}
    console.print(
        f"  {when}: HTTP {answer.status}, decision [bold]{body.get('decision')}[/], "
        f"blocking {body.get('blocking_policy_ids')}"
    )
