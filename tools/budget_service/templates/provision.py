"""Creates the template's resources in an AWS endpoint (moto in tests, the bench and the local
stack), from template.yaml itself so that nothing is declared twice.

Every table, stream, queue, topic and event bus that template.yaml declares is created; functions,
the API, alarms and log groups are played by the local runner or need no local counterpart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from budget_service.templates.model import create_table, load_template, resources

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True)
class CreatedResource:
    logical_id: str
    type: str
    name: str
    arn: str
    url: str | None = None  # queues
    stream_arn: str | None = None  # tables with a stream

    def ref(self) -> str:
        """What ``!Ref`` of the resource gives in CloudFormation."""
        if self.type == "AWS::SQS::Queue":
            return str(self.url)
        if self.type == "AWS::SNS::Topic":
            return self.arn
        return self.name

    def get_att(self, attribute: str) -> str:
        values = {
            "Arn": self.arn,
            "QueueName": self.name,
            "TopicName": self.name,
            "Name": self.name,
            "QueueUrl": self.url,
            "StreamArn": self.stream_arn,
        }
        value = values.get(attribute)
        if value is None:
            raise KeyError(f"{self.logical_id} has no attribute {attribute} here")
        return value


def parameter_values(
    template: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Template parameters at their defaults, with ``overrides`` applied."""
    values = {name: body.get("Default") for name, body in template.get("Parameters", {}).items()}
    values.update(overrides or {})
    return values


def create_template_resources(
    physical_name: Callable[[str], str],
    region: str,
    endpoint_url: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    template: Mapping[str, Any] | None = None,
) -> dict[str, CreatedResource]:
    template = template if template is not None else load_template()
    params = parameter_values(template, parameters)
    client_args: dict[str, Any] = {"region_name": region, "endpoint_url": endpoint_url}
    created: dict[str, CreatedResource] = {}

    dynamodb = boto3.client("dynamodb", **client_args)
    for table in resources(dict(template), "AWS::DynamoDB::Table"):
        name = physical_name(table.logical_id)
        create_table(dynamodb, table, name)
        description = dynamodb.describe_table(TableName=name)["Table"]
        created[table.logical_id] = CreatedResource(
            table.logical_id,
            table.type,
            name,
            description["TableArn"],
            stream_arn=description.get("LatestStreamArn"),
        )

    events = boto3.client("events", **client_args)
    for bus in resources(dict(template), "AWS::Events::EventBus"):
        name = physical_name(bus.logical_id)
        arn = events.create_event_bus(Name=name)["EventBusArn"]
        created[bus.logical_id] = CreatedResource(bus.logical_id, bus.type, name, arn)

    kinesis = boto3.client("kinesis", **client_args)
    for stream in resources(dict(template), "AWS::Kinesis::Stream"):
        name = physical_name(stream.logical_id)
        shards = resolve(stream.properties.get("ShardCount", 1), created, params, region)
        kinesis.create_stream(StreamName=name, ShardCount=int(shards))
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
        encryption = stream.properties.get("StreamEncryption")
        if encryption:
            kinesis.start_stream_encryption(
                StreamName=name, EncryptionType=encryption["EncryptionType"], KeyId=encryption["KeyId"]
            )
        arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        created[stream.logical_id] = CreatedResource(stream.logical_id, stream.type, name, arn)

    sqs = boto3.client("sqs", **client_args)
    for queue in resources(dict(template), "AWS::SQS::Queue"):
        name = physical_name(queue.logical_id)
        retention = str(queue.properties.get("MessageRetentionPeriod", 345600))
        url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": retention})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[queue.logical_id] = CreatedResource(queue.logical_id, queue.type, name, arn, url=url)

    sns = boto3.client("sns", **client_args)
    for topic in resources(dict(template), "AWS::SNS::Topic"):
        name = physical_name(topic.logical_id)
        attributes = {"DisplayName": str(topic.properties.get("DisplayName", name))}
        if "KmsMasterKeyId" in topic.properties:
            attributes["KmsMasterKeyId"] = str(topic.properties["KmsMasterKeyId"])
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        created[topic.logical_id] = CreatedResource(topic.logical_id, topic.type, name, arn)
    return created


def resolve(
    value: Any, created: Mapping[str, CreatedResource], params: Mapping[str, Any], region: str
) -> Any:
    """A template value (``!Ref``, ``!GetAtt``, ``!Sub`` of those) as the deployed stack would see it."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, argument),) = value.items()
        if kind == "Ref":
            return _ref(str(argument), created, params, region)
        if kind == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return created[logical_id].get_att(attribute)
        if kind == "Fn::Sub" and isinstance(argument, str):

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if "." in name and not name.startswith("AWS::"):
                    logical_id, attribute = name.split(".", 1)
                    return created[logical_id].get_att(attribute)
                return str(_ref(name, created, params, region))

            return re.sub(r"\$\{([^}]+)\}", substitute, argument)
    return value


def _ref(name: str, created: Mapping[str, CreatedResource], params: Mapping[str, Any], region: str) -> Any:
    pseudo = {"AWS::Region": region, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": "budget-local"}
    if name in pseudo:
        return pseudo[name]
    if name in created:
        return created[name].ref()
    if name in params:
        value = params[name]
        return ",".join(value) if isinstance(value, list) else value
    raise KeyError(f"!Ref {name}: not a parameter or a resource created here")


@dataclass(frozen=True)
class ProvisionedNames:
    table_name: str
    event_bus_name: str
    usage_stream_name: str = "budget-usage"
    usage_dlq_name: str = "budget-usage-dlq"
    alert_topic_name: str = "budget-alerts"
    alert_dlq_name: str = "budget-alert-dlq"

    def physical_name(self, logical_id: str) -> str:
        named = {
            "BudgetTable": self.table_name,
            "EventBus": self.event_bus_name,
            "UsageStream": self.usage_stream_name,
            "UsageIngestDLQ": self.usage_dlq_name,
            "AlertTopic": self.alert_topic_name,
            "AlertDLQ": self.alert_dlq_name,
        }
        return named.get(logical_id, f"{self.table_name}-{logical_id}")


@dataclass(frozen=True)
class Provisioned:
    names: ProvisionedNames
    usage_stream_arn: str
    usage_dlq_url: str
    table_stream_arn: str
    alert_topic_arn: str
    alert_dlq_url: str


def provision(names: ProvisionedNames, region: str, endpoint_url: str | None = None) -> Provisioned:
    """The template's resources under ``names``, with one usage shard (tests read shard 0)."""
    created = create_template_resources(names.physical_name, region, endpoint_url, {"UsageShardCount": 1})
    return Provisioned(
        names,
        usage_stream_arn=created["UsageStream"].arn,
        usage_dlq_url=str(created["UsageIngestDLQ"].url),
        table_stream_arn=str(created["BudgetTable"].stream_arn),
        alert_topic_arn=created["AlertTopic"].arn,
        alert_dlq_url=str(created["AlertDLQ"].url),
    )


def subscribe_queue(sqs: Any, sns: Any, topic_arn: str, queue_name: str) -> str:
    """A queue (created if need be) subscribed to ``topic_arn``, as an alert subscriber would be;
    returns its URL."""
    url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url
