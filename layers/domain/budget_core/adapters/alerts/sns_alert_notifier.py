"""Alert messages on the AlertTopic, with the attributes that subscription filter policies use."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from budget_core.domain.alerts.rules import Alert, AlertKind
from budget_core.domain.alerts.service import DeliveryFailed
from budget_core.domain.shared.money import format_money

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

SUBJECT_MAX = 100  # SNS: ASCII, no line breaks, at most 100 characters
_NOT_SUBJECT_SAFE = re.compile(r"[^\x20-\x7e]")


class SnsAlertNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def notify(self, alert: Alert) -> None:
        try:
            self._client.publish(
                TopicArn=self._topic_arn,
                Subject=subject(alert),
                Message=json.dumps(alert.message(), separators=(",", ":")),
                MessageAttributes=message_attributes(alert),
            )
        except (ClientError, BotoCoreError) as error:
            raise DeliveryFailed(f"alert topic refused the message: {error}") from error


def message_attributes(alert: Alert) -> dict[str, MessageAttributeValueTypeDef]:
    counter = alert.counter
    return {
        "tenant_id": {"DataType": "String", "StringValue": counter.tenant_id},
        "policy_id": {"DataType": "String", "StringValue": counter.policy_id},
        "kind": {"DataType": "String", "StringValue": alert.kind.value},
        "threshold_percent": {"DataType": "Number", "StringValue": str(alert.threshold_percent)},
        "scope_type": {"DataType": "String", "StringValue": counter.scope_type},
    }


def subject(alert: Alert) -> str:
    c = alert.counter
    name = _NOT_SUBJECT_SAFE.sub("?", c.policy_name)
    limit = format_money(c.limit_usd)
    if alert.kind is AlertKind.FORECAST:
        text = f"Budget forecast: {name} on course to exceed ${limit} in {c.period_key}"
    else:
        text = f"Budget alert: {name} reached {alert.threshold_percent}% of ${limit} in {c.period_key}"
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."
