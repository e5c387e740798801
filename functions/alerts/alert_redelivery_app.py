"""AlertRedeliveryFunction (scheduled every 5 minutes): delivers the alert claims the stream left
pending (a publish that failed after its claim, or a record whose retries ran out)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from alert_delivery import count_report, root
from budget_core.platform.observability import logger, metrics
from budget_core.platform.settings import AlertDeliverySettings, settings_of

settings_of(AlertDeliverySettings)  # at init: a missing variable fails here, naming it


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    del event, context
    from budget_core.adapters.policies.dynamodb_policy_repository import DynamoDBPolicyRepository

    policies = DynamoDBPolicyRepository(root().client("dynamodb"), root().settings.table_name)
    report = root().alert_service.redeliver_pending(policies)
    count_report(report)
    metrics.add_metric(name="AlertPublishFailures", unit="Count", value=len(report.failures))
    if report.raised:
        logger.warning(
            "pending alerts swept",
            extra={"leased": report.raised, "skipped": report.skipped, "failures": report.failures},
        )
    return {
        "leased": report.raised,
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": len(report.failures),
    }
