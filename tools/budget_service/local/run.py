"""The ``local`` and ``token`` commands."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from budget_service.local.stack import LocalConfig, LocalStack, StackError
from budget_service.local.tokens import DEFAULT_STATE_DIR, AuthorizerSettings, make_token
from budget_service.templates.model import load_template
from budget_service.templates.provision import parameter_values


def describe_alert(alert: dict[str, Any]) -> str:
    what = (
        f"forecast {alert.get('forecast_usd')} USD by period end"
        if alert.get("kind") == "forecast"
        else f"reached {alert.get('threshold_percent')}%"
    )
    return (
        f"[alert] {alert.get('tenant_id')} / {alert.get('policy_name')} ({alert.get('period_key')}): {what}"
        f" - spent {alert.get('spent_usd')} of {alert.get('limit_usd')} USD"
    )


def run_local(config: LocalConfig) -> int:
    stack = LocalStack(config, log=lambda line: print(line, flush=True))
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        print(f"\nreceived {signal.Signals(signum).name}, stopping", flush=True)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        ready = stack.start()
    except StackError as error:
        print(f"budget-service local: {error}", file=sys.stderr)
        stack.stop()
        return 2
    assert stack.alert_tail is not None
    stack.alert_tail.listeners.append(lambda alert: print(describe_alert(alert), flush=True))
    print(
        "Budget Service local stack is up (no AWS account, no Docker)\n"
        f"  HTTP API          {ready['api_url']}\n"
        f"  embedded AWS      {ready['aws_endpoint_url']} ({ready['region']})\n"
        f"  usage stream      {ready['usage_stream_name']}\n"
        f"  alert topic       {ready['alert_topic_arn']}\n"
        f"  token             budget-service token --tenant acme --roles admin,service"
        f"{'' if config.state_dir == DEFAULT_STATE_DIR else f' --state-dir {config.state_dir}'}\n"
        + (f"  ready file        {config.ready_file}\n" if config.ready_file else "")
        + "Ctrl-C stops it.",
        flush=True,
    )
    stopping.wait()
    stack.stop()
    print("stopped", flush=True)
    return 0


def print_token(tenant: str, roles: str, ttl: int, state_dir: Path, subject: str) -> int:
    authorizer = AuthorizerSettings.of(parameter_values(load_template()))
    wanted = [r.strip() for r in roles.split(",") if r.strip()]
    token = make_token(
        state_dir,
        tenant,
        wanted,
        authorizer.audiences[0],
        ttl_seconds=ttl,
        subject=subject,
        tenant_claim=authorizer.tenant_claim,
        roles_claim=authorizer.roles_claim,
    )
    print(token)
    return 0
