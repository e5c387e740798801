"""Drives AlertFunction the way Lambda's event source mapping on the table stream does: records are
read off moto's DynamoDB stream, passed through the template's FilterCriteria, and handed over as
Lambda's event; failures reported by the handler are retried from the lowest one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

import alerts_app
from budget_service.emulator.lambda_context import LocalLambdaContext
from budget_service.emulator.table_stream_events import lambda_event, read_lambda_records, template_filter
from tests.support.aws import REGION, AwsResources
from tests.support.retries import retry_from_lowest_failure

ALERT_FUNCTION = "AlertFunction"
ALERT_EVENT = "SpendCounters"


@dataclass
class TableStreamDriver:
    aws: AwsResources
    iterators: dict[str, str | None] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # every record handed over once

    def __post_init__(self) -> None:
        self.streams = boto3.client("dynamodbstreams", region_name=REGION)
        self.filter = template_filter(ALERT_FUNCTION, ALERT_EVENT)

    def read_new(self) -> list[dict[str, Any]]:
        """New records that pass the template's filter, as Lambda records."""
        return read_lambda_records(
            self.streams, self.aws.table_stream_arn, self.iterators, REGION, self.filter
        )

    def invoke(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = alerts_app.handler(
            lambda_event(records), LocalLambdaContext(function_name="alerts")
        )
        return result

    def deliver(self, records: list[dict[str, Any]], max_attempts: int = 10) -> int:
        """Plays Lambda's retry of a batch; returns the number of invocations."""
        return retry_from_lowest_failure(
            self.invoke, records, lambda r: r["dynamodb"]["SequenceNumber"], max_attempts
        )

    def pump(self) -> list[dict[str, Any]]:
        """Hands every new counter record to the function; returns those records."""
        records = self.read_new()
        self.deliver(records)
        self.delivered.extend(records)
        return records

    def redeliver_all(self) -> None:
        """Lambda may hand over records again (a retry of a batch that partly succeeded)."""
        self.deliver(list(self.delivered))
