"""The whole service through the local stack: HTTP with real tokens, usage through the SDK onto the
Kinesis stream and through POST /v1/usage, the stream pollers, alerts on the subscribed queue, and
the dead-letter queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from budget_sdk import BudgetRecorder, KinesisTransport
from budget_service.local.api_client import ApiClient
from budget_service.local.stack import free_port
from budget_service.local.tokens import KEY_ID, LOCAL_ISSUER, signing_key
from tests.e2e.conftest import LocalStack, budget_service, wait_for


def _tenant() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"  # each test its own tenant: the stack is shared


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_the_ready_file_names_everything_a_client_needs(local_stack: LocalStack) -> None:
    ready = local_stack.ready
    for name in ("api_url", "aws_endpoint_url", "region", "usage_stream_name", "alert_topic_arn",
                 "alert_queue_url", "table_name", "dlq_urls"):  # fmt: skip
        assert ready[name], name
    assert set(ready["dlq_urls"]) == {"UsageIngestDLQ", "AlertDLQ"}
    streams = local_stack.client("kinesis").describe_stream_summary(StreamName=ready["usage_stream_name"])
    assert streams["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"


def test_policy_crud_over_http(local_stack: LocalStack) -> None:
    api = local_stack.api(_tenant())
    body = {"name": "team", "scope": {"type": "team", "id": "ml"}, "period": "month", "limit_usd": "100"}
    created = api.post("/v1/policies", body)
    assert created.status == 201, created.body
    policy_id = created.body["policy_id"]
    assert api.post("/v1/policies", body).status == 409
    read = api.get(f"/v1/policies/{policy_id}")
    assert (read.status, read.headers["etag"]) == (200, '"1"')
    patched = api.call(
        "PATCH", f"/v1/policies/{policy_id}", {"limit_usd": "150"}, headers={"if-match": '"1"'}
    )
    assert (patched.status, patched.body["limit_usd"]) == (200, "150.00")
    stale = api.call("PATCH", f"/v1/policies/{policy_id}", {"limit_usd": "99"}, headers={"if-match": '"1"'})
    assert stale.status == 412
    assert [p["policy_id"] for p in api.get("/v1/policies").body["items"]] == [policy_id]
    assert local_stack.api(_tenant()).get(f"/v1/policies/{policy_id}").status == 404
    assert api.call("DELETE", f"/v1/policies/{policy_id}").status == 204
    assert api.get(f"/v1/policies/{policy_id}").status == 404


def test_the_authorizer_refuses_what_api_gateway_refuses(local_stack: LocalStack) -> None:
    url = local_stack.ready["api_url"]
    tenant = _tenant()
    key = signing_key(local_stack.state_dir)  # the stack's own key: only the named flaw is wrong
    now = int(time.time())
    claims = {"iss": LOCAL_ISSUER, "aud": "budget-service", "sub": "x",
              "iat": now, "exp": now + 600, "tenant_id": tenant, "roles": ["admin"]}  # fmt: skip

    def signed(changes: dict[str, Any], drop: str | None = None) -> str:
        body = {k: v for k, v in {**claims, **changes}.items() if k != drop}
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": KEY_ID})

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    refused = {
        "no token": None,
        "garbage": "garbage",
        "expired": local_stack.token(tenant, "admin", ttl=-60),
        "another audience": signed({"aud": "someone-else"}),
        "another issuer": signed({"iss": "https://evil.example/"}),
        "no expiry": signed({}, drop="exp"),
        "unsigned": _unsigned(claims),
        "signed by a stranger": jwt.encode(claims, stranger, algorithm="RS256"),
        "HMAC with the public key": _hmac_with(public_pem, claims),
    }
    for flaw, token in refused.items():
        answer = ApiClient(url, token).get("/v1/policies")
        assert (answer.status, answer.body) == (401, {"message": "Unauthorized"}), flaw
    # The same claims, well signed, pass; API Gateway also takes the token without "Bearer "
    assert ApiClient(url, signed({})).get("/v1/policies").status == 200
    bare = ApiClient(url, None).call("GET", "/v1/policies", headers={"authorization": signed({})})
    assert bare.status == 200
    # A valid token without the needed role is the function's 403
    viewer = ApiClient(url, local_stack.token(tenant, "viewer"))
    body = {"name": "x", "scope": {"type": "tenant"}, "period": "day", "limit_usd": "1"}
    assert viewer.post("/v1/policies", body).status == 403
    assert viewer.get("/v1/nowhere").status == 404


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _hmac_with(secret: bytes, claims: dict[str, Any]) -> str:
    """The classic algorithm confusion: HS256 keyed with the verifier's public key."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).decode().rstrip("=")

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{part(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def test_usage_through_kinesis_and_http_is_summed_and_a_check_turns_to_deny(local_stack: LocalStack) -> None:
    tenant = _tenant()
    api = local_stack.api(tenant)
    policy = api.post(
        "/v1/policies", {"name": "all", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "10"}
    )
    assert policy.status == 201
    check = {"estimated_cost_usd": "2.50", "provider": "openai", "model": "gpt-4o"}
    assert api.post("/v1/budget/check", check).body["decision"] == "allow"
    # When usage arrives through the SDK onto the stream, and over HTTP
    recorder = BudgetRecorder(
        KinesisTransport(local_stack.ready["usage_stream_name"], client=local_stack.client("kinesis")),
        tenant_id=tenant,
    )
    for index in range(20):
        recorder.record_usage(kind="custom", cost_usd="0.25", event_id=f"sdk-{index}", team_id="ml")
    recorder.record_llm_usage(provider="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=0)
    assert recorder.close(timeout=30)
    events = [
        {"event_id": f"http-{i}", "timestamp": _now(), "kind": "custom", "cost_usd": "0.10"} for i in range(5)
    ]
    accepted = api.post("/v1/usage", {"events": events})
    assert accepted.status == 202
    assert accepted.body == {"accepted": 5, "failed": []}
    # Then the summary counts all 26 events, priced (20 x 0.25 + 2.50 for the gpt-4o call + 5 x 0.10)
    summary = wait_for(lambda: (s := api.get("/v1/usage/summary").body)["events"] == 26 and s)
    assert summary, api.get("/v1/usage/summary").body
    assert Decimal(summary["cost_usd"]) == Decimal("8.00")
    assert summary["by_model"]["gpt-4o"]["events"] == 1
    # And the check now denies what would cross the limit
    denied = api.post("/v1/budget/check", check)
    assert (denied.body["decision"], denied.body["blocking_policy_ids"]) == (
        "deny",
        [policy.body["policy_id"]],
    )
    held = api.post("/v1/reservations", {**check, "ttl_seconds": 60})
    assert (held.status, held.body["error"]["code"]) == (409, "budget_exceeded")


def test_an_alert_reaches_the_subscribed_queue(local_stack: LocalStack) -> None:
    tenant = _tenant()
    api = local_stack.api(tenant)
    policy_id = api.post(
        "/v1/policies", {"name": "alerting", "scope": {"type": "tenant"}, "period": "month", "limit_usd": "1"}
    ).body["policy_id"]
    api.post(
        "/v1/usage",
        {"events": [{"event_id": "a1", "timestamp": _now(), "kind": "custom", "cost_usd": "0.85"}]},
    )
    sqs = local_stack.client("sqs")
    queue_url = local_stack.ready["alert_queue_url"]
    received: list[dict[str, Any]] = []

    def mine() -> list[dict[str, Any]]:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        for message in response.get("Messages", []):
            alert = json.loads(json.loads(message["Body"])["Message"])
            # other tests' alerts are taken off too, so that none lingers invisible on the queue
            sqs.delete_message(
                QueueUrl=local_stack.ready["alert_queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )
            if alert["tenant_id"] == tenant:
                received.append(alert)
        return received if len(received) >= 2 else []

    assert wait_for(mine), "no alert arrived"
    assert sorted(a["threshold_percent"] for a in received) == [50, 80]
    assert {a["policy_id"] for a in received} == {policy_id}
    history = api.get("/v1/alerts").body["items"]
    assert [a["threshold_percent"] for a in history] == [80, 50]


def test_a_poison_record_lands_in_the_dead_letter_queue_with_its_reason(local_stack: LocalStack) -> None:
    marker = uuid.uuid4().hex
    local_stack.client("kinesis").put_record(
        StreamName=local_stack.ready["usage_stream_name"],
        Data=json.dumps({"event_id": marker, "tenant_id": "poison", "kind": "teleport"}).encode(),
        PartitionKey="poison",
    )
    sqs = local_stack.client("sqs")
    url = local_stack.ready["dlq_urls"]["UsageIngestDLQ"]

    def letter() -> dict[str, Any] | None:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            if marker in base64.b64decode(body.get("data_base64", "")).decode(errors="replace"):
                return dict(body)
        return None

    found = wait_for(letter)
    assert found, "the poison record never reached the DLQ"
    assert "kind" in found["reason"]


def test_a_port_in_use_and_an_unreadable_template_are_clear_messages(tmp_path: Any) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = budget_service("local", "--api-port", str(port), "--aws-port", str(free_port()),
                                "--state-dir", str(tmp_path))  # fmt: skip
    assert result.returncode == 2
    assert f"port {port} (HTTP API) is in use" in result.stderr
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources: [not, a, mapping\n")
    result = budget_service("local", "--api-port", str(free_port()), "--aws-port", str(free_port()),
                            "--state-dir", str(tmp_path), "--template", str(broken))  # fmt: skip
    assert result.returncode == 2
    assert "cannot read the template" in result.stderr


def test_simulate_streams_realistic_usage_that_gets_counted(local_stack: LocalStack) -> None:
    # When `budget-service simulate` runs against the stack for two seconds
    ready_file = local_stack.state_dir / "ready.json"
    result = budget_service(
        "simulate", "--ready-file", str(ready_file), "--rate", "40", "--duration", "2", "--seed", "3"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    sent = json.loads(result.stdout)
    assert sent["events"] == 80
    assert (sent["failed"], sent["refused"]) == (0, 0)
    assert any(model.startswith(("dall-e", "gpt-image")) for model in sent["by_model"])  # image calls too
    assert len(sent["by_model"]) >= 4  # a mix of providers' models
    # Then both simulated tenants' summaries count every event, priced
    apis = [local_stack.api(tenant, "viewer") for tenant in ("acme", "globex")]

    def counted() -> int:
        return sum(api.get("/v1/usage/summary").body["events"] for api in apis)

    assert wait_for(lambda: counted() == 80), counted()
    assert all(Decimal(api.get("/v1/usage/summary").body["cost_usd"]) > 0 for api in apis)
