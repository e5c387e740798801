"""Creates the template's resources in an AWS endpoint (moto in tests, the demo and the local
stack), from template.yaml itself so that nothing is declared twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from budget_service.template import create_table, load_template, resource


@dataclass(frozen=True)
class ProvisionedNames:
    table_name: str
    event_bus_name: str
    usage_stream_name: str = "budget-usage"
    usage_dlq_name: str = "budget-usage-dlq"


@dataclass(frozen=True)
class Provisioned:
    names: ProvisionedNames
    usage_stream_arn: str
    usage_dlq_url: str
    table_stream_arn: str


def provision(names: ProvisionedNames, region: str, endpoint_url: str | None = None) -> Provisioned:
    template = load_template()
    client_args: dict[str, Any] = {"region_name": region, "endpoint_url": endpoint_url}

    dynamodb = boto3.client("dynamodb", **client_args)
    create_table(dynamodb, resource(template, "BudgetTable"), names.table_name)
    table_stream_arn = dynamodb.describe_table(TableName=names.table_name)["Table"]["LatestStreamArn"]

    assert resource(template, "EventBus").type == "AWS::Events::EventBus"
    boto3.client("events", **client_args).create_event_bus(Name=names.event_bus_name)

    stream = resource(template, "UsageStream")
    kinesis = boto3.client("kinesis", **client_args)
    kinesis.create_stream(StreamName=names.usage_stream_name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=names.usage_stream_name, WaiterConfig={"Delay": 1})
    encryption = stream.properties.get("StreamEncryption")
    if encryption:
        kinesis.start_stream_encryption(
            StreamName=names.usage_stream_name,
            EncryptionType=encryption["EncryptionType"],
            KeyId=encryption["KeyId"],
        )
    stream_arn = kinesis.describe_stream_summary(StreamName=names.usage_stream_name)[
        "StreamDescriptionSummary"
    ]["StreamARN"]

    sqs = boto3.client("sqs", **client_args)
    dlq = resource(template, "UsageIngestDLQ")
    retention = str(dlq.properties.get("MessageRetentionPeriod", 345600))
    dlq_url = sqs.create_queue(
        QueueName=names.usage_dlq_name, Attributes={"MessageRetentionPeriod": retention}
    )["QueueUrl"]
    return Provisioned(names, stream_arn, dlq_url, table_stream_arn)
