"""The Budget Service's Python SDK: pre-flight checks and reservations (BudgetClient), and the
buffered usage recorder (BudgetRecorder)."""

from budget_sdk.client import (
    AsyncBudgetClient,
    BlockingPolicy,
    BudgetClient,
    BudgetError,
    BudgetExceeded,
    BudgetServiceUnavailable,
    CheckResult,
    ClientCredentials,
    ClientStats,
    Hold,
    PolicyStanding,
    Settled,
)
from budget_sdk.events import new_event_id
from budget_sdk.guard import GuardStats, guard
from budget_sdk.recorder import BudgetRecorder, RecorderStats
from budget_sdk.transports import HttpTransport, KinesisTransport, SendResult, Transport

__all__ = [
    "AsyncBudgetClient",
    "BlockingPolicy",
    "BudgetClient",
    "BudgetError",
    "BudgetExceeded",
    "BudgetRecorder",
    "BudgetServiceUnavailable",
    "CheckResult",
    "ClientCredentials",
    "ClientStats",
    "GuardStats",
    "Hold",
    "HttpTransport",
    "KinesisTransport",
    "PolicyStanding",
    "RecorderStats",
    "SendResult",
    "Settled",
    "Transport",
    "guard",
    "new_event_id",
]
