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
    alert_topic_name: str = "budget-alerts"
    alert_dlq_name: str = "budget-alert-dlq"


@dataclass(frozen=True)
class Provisioned:
    names: ProvisionedNames
    usage_stream_arn: str
    usage_dlq_url: str
    table_stream_arn: str
    alert_topic_arn: str
    alert_dlq_url: str


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
    dlq_url = _create_queue(sqs, resource(template, "UsageIngestDLQ").properties, names.usage_dlq_name)
    alert_dlq_url = _create_queue(sqs, resource(template, "AlertDLQ").properties, names.alert_dlq_name)

    topic = resource(template, "AlertTopic")
    assert topic.type == "AWS::SNS::Topic"
    attributes = {"DisplayName": str(topic.properties.get("DisplayName", names.alert_topic_name))}
    if "KmsMasterKeyId" in topic.properties:
        attributes["KmsMasterKeyId"] = str(topic.properties["KmsMasterKeyId"])
    topic_arn = boto3.client("sns", **client_args).create_topic(
        Name=names.alert_topic_name, Attributes=attributes
    )["TopicArn"]
    return Provisioned(names, stream_arn, dlq_url, table_stream_arn, topic_arn, alert_dlq_url)


def _create_queue(sqs: Any, properties: dict[str, Any], name: str) -> str:
    retention = str(properties.get("MessageRetentionPeriod", 345600))
    return str(sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": retention})["QueueUrl"])
