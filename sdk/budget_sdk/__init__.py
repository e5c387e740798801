"""Producer SDK of the Budget Service."""

from budget_sdk.events import new_event_id
from budget_sdk.recorder import BudgetRecorder, RecorderStats
from budget_sdk.transports import HttpTransport, KinesisTransport, SendResult, Transport

__all__ = [
    "BudgetRecorder",
    "HttpTransport",
    "KinesisTransport",
    "RecorderStats",
    "SendResult",
    "Transport",
    "new_event_id",
]
