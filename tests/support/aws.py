"""moto-backed AWS resources made from template.yaml, so the test schema cannot drift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from budget_service.templates.provision import ProvisionedNames, provision, subscribe_queue

REGION = "eu-west-1"
TABLE_NAME = "budget-test-table"
EVENT_BUS_NAME = "budget-test-events"
USAGE_STREAM_NAME = "budget-test-usage"
USAGE_DLQ_NAME = "budget-test-usage-dlq"
USAGE_DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{USAGE_DLQ_NAME}"
ALERT_TOPIC_NAME = "budget-test-alerts"
ALERT_TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:{ALERT_TOPIC_NAME}"
ALERT_DLQ_NAME = "budget-test-alert-dlq"
ALERT_DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{ALERT_DLQ_NAME}"
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # moto in-process with botocore >= 1.44 mishandles account-id endpoints: the emulator and the
    # tests turn them off (production never sets this).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "TABLE_NAME": TABLE_NAME,
    "EVENT_BUS_NAME": EVENT_BUS_NAME,
    "USAGE_STREAM_NAME": USAGE_STREAM_NAME,
    "USAGE_DLQ_URL": USAGE_DLQ_URL,
    "ALERT_TOPIC_ARN": ALERT_TOPIC_ARN,
    "ALERT_DLQ_URL": ALERT_DLQ_URL,
    "POWERTOOLS_METRICS_NAMESPACE": "BudgetServiceTest",
    "POWERTOOLS_DEV": "false",
}


@dataclass
class AwsResources:
    dynamodb: Any
    events: Any
    sqs: Any
    bus_queue_url: str
    kinesis: Any
    usage_stream_arn: str
    table_stream_arn: str
    alert_queue_url: str

    def dead_letters(self, queue_url: str = USAGE_DLQ_URL) -> list[dict[str, Any]]:
        """A dead-letter queue's messages (the usage DLQ unless told), read and removed."""
        return [json.loads(m["Body"]) for m in self._drain(queue_url)]

    def alerts(self) -> list[dict[str, Any]]:
        """What an SQS subscriber of the AlertTopic received so far: the alert message and its
        message attributes, read and removed."""
        received = []
        for message in self._drain(self.alert_queue_url):
            envelope = json.loads(message["Body"])
            attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            received.append(
                {
                    **json.loads(envelope["Message"]),
                    "_subject": envelope.get("Subject"),
                    "_attributes": attributes,
                }
            )
        return received

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        found = []
        while True:
            response = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(message)
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def bus_events(self) -> Iterator[dict[str, Any]]:
        """Everything the EventBus delivered so far (through a catch-all rule to an SQS queue)."""
        while True:
            response = self.sqs.receive_message(QueueUrl=self.bus_queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return
            for message in messages:
                yield json.loads(message["Body"])
                self.sqs.delete_message(QueueUrl=self.bus_queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_resources() -> AwsResources:
    provisioned = provision(
        ProvisionedNames(
            TABLE_NAME, EVENT_BUS_NAME, USAGE_STREAM_NAME, USAGE_DLQ_NAME, ALERT_TOPIC_NAME, ALERT_DLQ_NAME
        ),
        REGION,
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="bus-capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="capture-all",
        EventBusName=EVENT_BUS_NAME,
        EventPattern=json.dumps({"source": [{"prefix": "budget-service"}]}),
    )
    events.put_targets(
        Rule="capture-all", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    assert provisioned.usage_dlq_url == USAGE_DLQ_URL
    assert provisioned.alert_dlq_url == ALERT_DLQ_URL
    assert provisioned.alert_topic_arn == ALERT_TOPIC_ARN
    sns = boto3.client("sns", region_name=REGION)
    alert_queue_url = subscribe_queue(sqs, sns, ALERT_TOPIC_ARN, "alert-subscriber")
    return AwsResources(
        dynamodb=dynamodb,
        events=events,
        sqs=sqs,
        bus_queue_url=queue_url,
        kinesis=boto3.client("kinesis", region_name=REGION),
        usage_stream_arn=provisioned.usage_stream_arn,
        table_stream_arn=provisioned.table_stream_arn,
        alert_queue_url=alert_queue_url,
    )
