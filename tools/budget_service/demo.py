"""The demo: the real PolicyApiFunction handler, fed the sample events of events/, against an
embedded AWS (moto) whose table and bus come from template.yaml. No AWS account, no Docker."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from budget_service.lambda_context import LocalLambdaContext
from budget_service.template import PROJECT_ROOT

REGION = "eu-west-1"
DEMO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "TABLE_NAME": "budget-demo",
    "EVENT_BUS_NAME": "budget-demo-events",
    "USAGE_STREAM_NAME": "budget-demo-usage",
    "USAGE_DLQ_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/budget-demo-usage-dlq",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def _show(step: str, response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"]) if response.get("body") else None
    print(f"\n== {step}\n   -> HTTP {int(response['statusCode'])}")
    if body is not None:
        text = json.dumps(body, indent=2)
        print("   " + "\n   ".join(text.splitlines()[:14]) + ("\n   ..." if text.count("\n") > 14 else ""))
    return {"status": int(response["statusCode"]), "body": body}


def run_demo() -> int:
    os.environ.update(DEMO_ENVIRONMENT)
    sys.path[:0] = [
        str(PROJECT_ROOT / "functions" / "policy_api"),
        str(PROJECT_ROOT / "functions" / "usage_ingest"),
    ]
    from moto import mock_aws

    from budget_service.moto_isolation import serialize_dynamodb_operations
    from budget_service.provision import ProvisionedNames, provision
    from budget_service.sample_events import api_event

    serialize_dynamodb_operations()
    with mock_aws():
        names = ProvisionedNames(
            DEMO_ENVIRONMENT["TABLE_NAME"],
            DEMO_ENVIRONMENT["EVENT_BUS_NAME"],
            DEMO_ENVIRONMENT["USAGE_STREAM_NAME"],
            "budget-demo-usage-dlq",
        )
        provisioned = provision(names, REGION)
        import policy_api_app

        def call(step: str, name: str, **changes: Any) -> dict[str, Any]:
            return _show(
                step,
                policy_api_app.handler(
                    api_event(name, **changes), LocalLambdaContext(function_name="PolicyApiFunction")
                ),
            )

        checks: list[tuple[str, Callable[[], bool]]] = []
        created = call(
            "An admin of tenant-acme creates the research team's monthly LLM budget", "create_policy"
        )
        policy_id = created["body"]["policy_id"]
        checks.append(("policy created", lambda: created["status"] == 201))
        duplicate = call(
            "The same scope, period and filters again: refused, naming the first", "create_policy"
        )
        checks.append(("conflict detected", lambda: duplicate["status"] == 409))
        patched = call(
            "The admin raises the limit at version 1",
            "patch_policy",
            policy_id=policy_id,
            headers={"if-match": '"1"'},
        )
        stale = call(
            "A second edit based on version 1 is refused",
            "patch_policy",
            policy_id=policy_id,
            headers={"if-match": '"1"'},
        )
        checks.append(("optimistic concurrency", lambda: (patched["status"], stale["status"]) == (200, 412)))
        foreign = call(
            "Tenant globex asks for acme's policy: it does not exist for them",
            "get_policy",
            policy_id=policy_id,
            tenant="tenant-globex",
        )
        checks.append(("tenant isolation", lambda: foreign["status"] == 404))
        viewer = call("A viewer tries to delete it", "delete_policy", policy_id=policy_id, roles="[viewer]")
        checks.append(("roles enforced", lambda: viewer["status"] == 403))
        invalid = call(
            "A limit sent as a float is refused, naming the field",
            "create_policy",
            body={"name": "x", "scope": {"type": "user", "id": "bob"}, "period": "day", "limit_usd": 9.99},
        )
        checks.append(("bad input is a 4xx", lambda: invalid["status"] == 422))
        listed = call("The viewer lists the tenant's policies", "list_policies", query={"limit": "10"})
        checks.append(("listing", lambda: len(listed["body"]["items"]) == 1))
        deleted = call(
            "The admin deletes the policy", "delete_policy", policy_id=policy_id, headers={"if-match": '"2"'}
        )
        checks.append(("deleted", lambda: deleted["status"] == 204))
        checks += _usage_story(call, provisioned)

    print("\n== Summary")
    failed = [name for name, ok in checks if not ok()]
    for name, ok in checks:
        print(f"   {'ok ' if ok() else 'FAIL'} {name}")
    print("\nThreshold alerts and the local stack join this demo as their issues land.")
    return 1 if failed else 0


def _usage_story(
    call: Callable[..., dict[str, Any]], provisioned: Any
) -> list[tuple[str, Callable[[], bool]]]:
    """Usage through the SDK, the Kinesis stream and the real ingest handler into the budgets."""
    from decimal import Decimal

    import boto3

    import usage_ingest_app
    from budget_sdk import BudgetRecorder, KinesisTransport
    from budget_service.kinesis_events import lambda_event, read_all

    team = call(
        "An admin sets a $2.00 monthly budget for the research team",
        "create_policy",
        body={
            "name": "Research LLM",
            "scope": {"type": "team", "id": "research"},
            "period": "month",
            "limit_usd": "2.00",
            "filters": {"kind": "llm"},
        },
    )
    policy_id = team["body"]["policy_id"]
    print("\n== The gateway reports 40 chat calls and 3 images through the SDK, one retry, one bad record")
    kinesis = boto3.client("kinesis", region_name=REGION)
    with BudgetRecorder(
        KinesisTransport(provisioned.names.usage_stream_name, kinesis),
        tenant_id="tenant-acme",
        flush_at_exit=False,
    ) as recorder:
        first = ""
        for index in range(40):
            event_id = recorder.record_llm_usage(
                provider="openai",
                model="gpt-4o",
                input_tokens=2000 + 10 * index,
                output_tokens=400,
                cache_read_tokens=500,
                user_id=f"user-{index % 4}",
                team_id="research",
                operation="chat.completions",
            )
            first = first or event_id
        recorder.record_image_usage(
            provider="openai",
            model="dall-e-3",
            images=3,
            image_quality="hd",
            user_id="user-1",
            team_id="research",
        )
        recorder.record_llm_usage(
            provider="openai",
            model="gpt-4o",
            input_tokens=2000,
            output_tokens=400,
            cache_read_tokens=500,
            user_id="user-0",
            team_id="research",
            operation="chat.completions",
            event_id=first,
        )  # a producer retry
    kinesis.put_record(
        StreamName=provisioned.names.usage_stream_name, Data=b"<html>502</html>", PartitionKey="x"
    )
    records = read_all(kinesis, provisioned.names.usage_stream_name)
    result = usage_ingest_app.handler(
        lambda_event(records, provisioned.usage_stream_arn, REGION),
        LocalLambdaContext(function_name="PolicyApiFunction"),
    )
    print(f"   -> {len(records)} records ingested, partial failures: {result['batchItemFailures']}")

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    counters = dynamodb.query(
        TableName=DEMO_ENVIRONMENT["TABLE_NAME"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#tenant-acme#P#{policy_id}"}},
    )["Items"]
    spent = Decimal(counters[0]["spent_usd"]["N"]) if counters else Decimal(0)
    events = int(counters[0]["events"]["N"]) if counters else 0
    print(f"   -> research team: ${spent:.4f} of $2.00 ({spent / 2 * 100:.0f} %) over {events} LLM calls")
    sqs = boto3.client("sqs", region_name=REGION)
    letters = sqs.receive_message(QueueUrl=provisioned.usage_dlq_url, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    for letter in letters:
        print(f"   -> dead-lettered: {json.loads(letter['Body'])['reason']}")
    ask = {"team_id": "research", "user_id": "user-0", "provider": "openai", "model": "gpt-4o", "kind": "llm"}
    small = call(
        "The gateway asks: may user-0 spend ~$1.00 more?",
        "check_budget",
        body={**ask, "estimated_cost_usd": "1.00"},
    )
    large = call("And ~$1.70?", "check_budget", body={**ask, "estimated_cost_usd": "1.70"})
    held = call(
        "It reserves $1.50 for a long call",
        "create_reservation",
        body={**ask, "estimated_cost_usd": "1.50", "ttl_seconds": 120},
        drop_headers=("idempotency-key",),
    )
    refused = call(
        "A second $1.50 reservation would pass the hard limit",
        "create_reservation",
        body={**ask, "estimated_cost_usd": "1.50"},
        drop_headers=("idempotency-key",),
    )
    return [
        ("check allows within the budget", lambda: small["body"]["decision"] == "allow"),
        ("check denies past the hard limit", lambda: large["body"]["decision"] == "deny"),
        ("reservation held, then refused", lambda: (held["status"], refused["status"]) == (201, 409)),
        ("usage ingested without retries", lambda: result["batchItemFailures"] == []),
        ("the producer retry counted once", lambda: events == 40),
        ("spend priced from the catalogue", lambda: spent > 0),
        ("bad record dead-lettered", lambda: len(letters) == 1),
    ]
