"""The demo: the real PolicyApiFunction handler, fed the sample events of events/, against an
embedded AWS (moto) whose table and bus come from template.yaml. No AWS account, no Docker."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from budget_service.template import PROJECT_ROOT

REGION = "eu-west-1"
DEMO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "TABLE_NAME": "budget-demo",
    "EVENT_BUS_NAME": "budget-demo-events",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class _Context:
    function_name = "PolicyApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:PolicyApiFunction"
    aws_request_id = "demo"


def _show(step: str, response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"]) if response.get("body") else None
    print(f"\n== {step}\n   -> HTTP {int(response['statusCode'])}")
    if body is not None:
        text = json.dumps(body, indent=2)
        print("   " + "\n   ".join(text.splitlines()[:14]) + ("\n   ..." if text.count("\n") > 14 else ""))
    return {"status": int(response["statusCode"]), "body": body}


def run_demo() -> int:
    os.environ.update(DEMO_ENVIRONMENT)
    sys.path.insert(0, str(PROJECT_ROOT / "functions" / "policy_api"))
    from moto import mock_aws

    from budget_service.moto_isolation import serialize_dynamodb_operations
    from budget_service.provision import ProvisionedNames, provision
    from budget_service.sample_events import api_event

    serialize_dynamodb_operations()
    with mock_aws():
        provision(
            ProvisionedNames(DEMO_ENVIRONMENT["TABLE_NAME"], DEMO_ENVIRONMENT["EVENT_BUS_NAME"]), REGION
        )
        import policy_api_app

        def call(step: str, name: str, **changes: Any) -> dict[str, Any]:
            return _show(step, policy_api_app.handler(api_event(name, **changes), _Context()))

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

    print("\n== Summary")
    failed = [name for name, ok in checks if not ok()]
    for name, ok in checks:
        print(f"   {'ok ' if ok() else 'FAIL'} {name}")
    print("\nThe Kinesis ingestion, checks and alerts join this demo as their issues land.")
    return 1 if failed else 0
