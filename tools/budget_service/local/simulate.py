"""``budget-service simulate``: realistic traffic into the local stack's usage stream, through the
producer SDK, at a given rate and for a given time, with a progress bar."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from budget_sdk import BudgetRecorder, KinesisTransport
from budget_service.local.traffic import TrafficModel, paced_calls, record

SIMULATED_TENANTS = ("acme", "globex")


def read_ready_file(path: Path) -> dict[str, Any]:
    try:
        ready: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(
            f"no local stack: {path} does not exist (start `budget-service local` first)"
        ) from None
    return ready


def stream_recorder(ready: dict[str, Any]) -> BudgetRecorder:
    kinesis = boto3.client(
        "kinesis",
        region_name=ready["region"],
        endpoint_url=ready["aws_endpoint_url"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto takes any key
    )
    return BudgetRecorder(KinesisTransport(ready["usage_stream_name"], client=kinesis), max_age_seconds=0.2)


def simulate(
    recorder: BudgetRecorder,
    rate: float,
    duration: float,
    seed: int,
    console: Console | None = None,
    tenants: tuple[str, ...] = SIMULATED_TENANTS,
) -> Counter[str]:
    """Sends about ``rate * duration`` calls, paced per second with bursts; returns counts by model."""
    model = TrafficModel(tenants, seed=seed)
    sent: Counter[str] = Counter()
    total = int(rate * duration)
    with Progress(
        TextColumn("[bold]simulating usage"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} events"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task("usage", total=total)
        for call in paced_calls(model, rate, total):
            record(recorder, call)
            sent[call.fields["model"]] += 1
            progress.advance(task)
    return sent


def run_simulate(ready_file: Path, rate: float, duration: float, seed: int) -> int:
    if rate <= 0 or duration <= 0:
        print("--rate and --duration must be positive", file=sys.stderr)
        return 2
    ready = read_ready_file(ready_file)
    recorder = stream_recorder(ready)
    sent = simulate(recorder, rate, duration, seed)
    delivered = recorder.close(timeout=30)
    stats = recorder.stats
    summary = {
        "events": sum(sent.values()),
        "by_model": dict(sent),
        "stream_records_sent": stats.sent,
        "refused": stats.refused,
        "failed": stats.failed + stats.dropped,
    }
    print(json.dumps(summary, indent=2))
    return 0 if delivered and not summary["failed"] else 1
