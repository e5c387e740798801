"""``POST /v1/usage``: usage events sent over HTTP join the stream like any producer's.

The tenant of every event is the caller's, from the token; whatever ``tenant_id`` the body says
is replaced. Invalid events are answered one by one, the valid ones still go through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from budget_core.domain.shared.auth import Action, Principal
from budget_core.domain.shared.clock import Clock
from budget_core.domain.shared.errors import validation_details
from budget_core.domain.usage.event import UsageEvent

MAX_EVENTS_PER_REQUEST = 500


# The API judges the event window at receive time, ingestion at the stream's arrival time: the API
# keeps this much in hand for the trip between them, so an event it accepts is never too old (or too
# far ahead) when it arrives.
STREAM_TRANSIT_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class ForwardFailure:
    index: int
    code: str
    message: str


class UsageForwarder(Protocol):
    def forward(self, events: Sequence[tuple[int, UsageEvent]]) -> list[ForwardFailure]:
        """Put events on the usage stream; returns those that could not be put, by their index."""


@dataclass
class SubmissionResult:
    accepted: int = 0
    failed: list[ForwardFailure] = field(default_factory=list)


@dataclass
class UsageSubmission:
    forwarder: UsageForwarder
    clock: Clock

    def submit(self, principal: Principal, raw_events: Sequence[dict[str, Any]]) -> SubmissionResult:
        principal.require(Action.SPEND)
        result = SubmissionResult()
        valid: list[tuple[int, UsageEvent]] = []
        now = self.clock.now()
        for index, raw in enumerate(raw_events):
            try:
                event = UsageEvent.model_validate(
                    {**raw, "tenant_id": principal.tenant_id},
                    context={"now": now, "margin": STREAM_TRANSIT_MARGIN},
                )
            except ValidationError as error:
                details = validation_details(error.errors(include_input=False))
                message = "; ".join(f"{d['field'] or 'event'}: {d['message']}" for d in details)
                result.failed.append(ForwardFailure(index, "invalid_event", message))
                continue
            valid.append((index, event))
        failures = self.forwarder.forward(valid) if valid else []
        result.failed.extend(failures)
        result.failed.sort(key=lambda f: f.index)
        result.accepted = len(valid) - len(failures)
        return result
