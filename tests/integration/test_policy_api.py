"""PolicyApiFunction end to end through its real handler, against moto tables made from template.yaml."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

import api_bootstrap
from budget_core.domain.policies.policy import NewPolicy
from budget_core.domain.shared.auth import Principal, Role
from budget_core.domain.shared.errors import PolicyConflict
from budget_service.emulator.sample_events import api_event, load_event
from tests.integration.conftest import ApiResponse, invoke_api
from tests.support.aws import TABLE_NAME, AwsResources

Api = Callable[..., ApiResponse]


def _body(**changes: Any) -> dict[str, Any]:
    import json

    body = json.loads(load_event("policy_api/create_policy.json")["body"])
    body.update(changes)
    return body


def _table_items(aws: AwsResources) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName=TABLE_NAME)["Items"]


def test_a_policy_round_trips_through_create_get_patch_and_delete(api: Api) -> None:
    # Given an admin creates the sample policy
    created = api("create_policy")
    assert created.status == 201
    policy_id = created.body["policy_id"]
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/v1/policies/{policy_id}"
    assert created.body["limit_usd"] == "2500.00"
    assert created.body["tenant_id"] == "tenant-acme"

    # When a viewer reads it
    read = api("get_policy", policy_id=policy_id)
    # Then it is the same policy, money as a decimal string
    assert read.status == 200
    assert read.body == created.body

    # When an admin patches it at the version it read
    patched = api("patch_policy", policy_id=policy_id, headers={"if-match": '"1"'})
    assert patched.status == 200
    assert patched.headers["etag"] == '"2"'
    assert (patched.body["limit_usd"], patched.body["alert_thresholds"]) == ("3000.00", [50, 75, 90, 100])

    # When it is deleted at the current version, then it is gone
    assert api("delete_policy", policy_id=policy_id, headers={"if-match": '"2"'}).status == 204
    assert api("get_policy", policy_id=policy_id).status == 404
    assert api("delete_policy", policy_id=policy_id).status == 404


def test_money_keeps_every_decimal_place_it_was_given(api: Api, aws: AwsResources) -> None:
    created = api("create_policy", body=_body(limit_usd="12.0000000001"))
    assert created.status == 201
    assert api("get_policy", policy_id=created.body["policy_id"]).body["limit_usd"] == "12.0000000001"
    [policy] = [i for i in _table_items(aws) if i["entity"]["S"] == "policy"]
    assert Decimal(policy["limit_usd"]["N"]) == Decimal("12.0000000001")


@pytest.mark.parametrize("limit", ["0.0000000001", "0.009", "0"])
def test_a_limit_below_a_cent_is_refused(api: Api, limit: str) -> None:
    # Given a limit too small for any percent of it to be answered
    response = api("create_policy", body=_body(limit_usd=limit))
    # Then it is a 422 naming the field, not a policy that breaks status and alerts later
    assert response.status == 422, response.body
    assert response.body["error"]["details"][0]["field"] == "limit_usd"


def test_a_second_policy_for_the_same_scope_period_and_filters_is_a_conflict_naming_the_first(
    api: Api,
) -> None:
    first = api("create_policy")
    second = api("create_policy", body=_body(name="a different name", limit_usd="1"))
    assert second.status == 409
    assert second.body["error"]["code"] == "policy_conflict"
    assert first.body["policy_id"] in second.body["error"]["message"]
    assert second.body["error"]["details"][0]["existing_policy_id"] == first.body["policy_id"]
    # And other filters or periods are other slots
    assert api("create_policy", body=_body(period="day")).status == 201
    assert api("create_policy", body=_body(filters={"kind": "image"})).status == 201


def test_simultaneous_creates_of_one_slot_give_one_policy_and_conflicts(api: Api, aws: AwsResources) -> None:
    # Given eight Lambda instances creating the same slot at the same instant. One handler module
    # serves one request at a time (as in Lambda), so the race runs one level down: the service and
    # repository the handler uses, with the real DynamoDB client.
    api("list_policies")  # cold start: builds the service the handler uses
    service = api_bootstrap.root().policy_service
    new_policy = NewPolicy.model_validate(_body(scope={"type": "user", "id": "racer"}))
    principal = Principal("tenant-acme", frozenset({Role.ADMIN}))
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def create() -> None:
        barrier.wait()
        try:
            outcomes.append(service.create(principal, new_policy).policy_id)
        except PolicyConflict as conflict:
            outcomes.append(f"409:{conflict.existing_policy_id}")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one wins, and every other is told which policy holds the slot
    winners = [o for o in outcomes if not o.startswith("409:")]
    assert len(winners) == 1
    assert sorted(outcomes) == sorted(winners + [f"409:{winners[0]}"] * 7)
    listed = api("list_policies", query={"scope_id": "racer"})
    assert [p["policy_id"] for p in listed.body["items"]] == winners


def test_listing_pages_through_every_policy_once_in_creation_order(api: Api) -> None:
    # Given seven policies
    ids = [
        api("create_policy", body=_body(scope={"type": "user", "id": f"u{i}"})).body["policy_id"]
        for i in range(7)
    ]
    # When they are listed three at a time
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"limit": "3", **({"next_token": token} if token else {})}
        page = api("list_policies", query=query)
        assert page.status == 200
        seen += [p["policy_id"] for p in page.body["items"]]
        token = page.body["next_token"]
        pages += 1
        if token is None:
            break
    # Then each comes once, in the order they were made, in three pages
    assert seen == ids
    assert pages == 3


def test_listing_filters_by_scope_and_status_across_pages(api: Api) -> None:
    for i in range(5):
        api("create_policy", body=_body(scope={"type": "user", "id": f"u{i}"}))
    team = api("create_policy", body=_body(scope={"type": "team", "id": "t1"})).body["policy_id"]
    paused = api("create_policy", body=_body(scope={"type": "team", "id": "t2"}, status="paused")).body[
        "policy_id"
    ]

    teams = api("list_policies", query={"scope_type": "team", "limit": "1"})
    assert [p["policy_id"] for p in teams.body["items"]] == [team]
    rest = api(
        "list_policies", query={"scope_type": "team", "limit": "1", "next_token": teams.body["next_token"]}
    )
    assert [p["policy_id"] for p in rest.body["items"]] == [paused]
    assert rest.body["next_token"] is None
    assert [p["policy_id"] for p in api("list_policies", query={"status": "paused"}).body["items"]] == [
        paused
    ]


def test_a_forged_or_foreign_next_token_is_refused(api: Api) -> None:
    response = api("list_policies", query={"next_token": "not-a-token"})
    assert response.status == 400
    assert response.body["error"]["details"][0]["field"] == "next_token"


def test_patch_on_a_stale_version_is_412_and_changes_nothing(api: Api) -> None:
    policy_id = api("create_policy").body["policy_id"]
    assert (
        api("patch_policy", policy_id=policy_id, body={"name": "v2"}, headers={"if-match": '"1"'}).status
        == 200
    )
    stale = api("patch_policy", policy_id=policy_id, body={"name": "v3"}, headers={"if-match": '"1"'})
    assert stale.status == 412
    assert stale.body["error"]["code"] == "precondition_failed"
    assert api("get_policy", policy_id=policy_id).body["name"] == "v2"
    assert api("delete_policy", policy_id=policy_id, headers={"if-match": '"1"'}).status == 412


def test_patch_moving_a_policy_onto_a_taken_slot_is_a_conflict(api: Api) -> None:
    first = api("create_policy", body=_body(scope={"type": "team", "id": "a"})).body["policy_id"]
    second = api("create_policy", body=_body(scope={"type": "team", "id": "b"})).body["policy_id"]
    moved = api(
        "patch_policy",
        policy_id=second,
        body={"scope": {"type": "team", "id": "a"}},
        drop_headers=("if-match",),
    )
    assert moved.status == 409
    assert moved.body["error"]["details"][0]["existing_policy_id"] == first
    # And moving it to a free slot frees the old one
    assert (
        api(
            "patch_policy",
            policy_id=second,
            body={"scope": {"type": "team", "id": "c"}},
            drop_headers=("if-match",),
        ).status
        == 200
    )
    assert api("create_policy", body=_body(scope={"type": "team", "id": "b"})).status == 201


def test_another_tenants_policy_answers_404_like_a_missing_one(api: Api) -> None:
    policy_id = api("create_policy").body["policy_id"]
    for name in ("get_policy", "patch_policy", "delete_policy"):
        foreign = api(
            name, policy_id=policy_id, tenant="tenant-globex", roles="[admin]", drop_headers=("if-match",)
        )
        missing = api(name, policy_id="pol_" + "f" * 28, roles="[admin]", drop_headers=("if-match",))
        assert foreign.status == missing.status == 404
        assert foreign.body["error"]["code"] == missing.body["error"]["code"] == "not_found"
    assert api("list_policies", tenant="tenant-globex").body["items"] == []
    # And the owner's policy is untouched
    assert api("get_policy", policy_id=policy_id).body["version"] == 1


@pytest.mark.parametrize(
    ("name", "roles"),
    [
        ("create_policy", "[viewer]"),
        ("create_policy", "[service]"),
        ("patch_policy", "[viewer]"),
        ("delete_policy", "[viewer]"),
        ("list_policies", "[service]"),
        ("create_policy", None),
    ],
)
def test_a_role_that_does_not_grant_the_route_is_403(
    api: Api, aws: AwsResources, name: str, roles: Any
) -> None:
    response = api(name, roles=roles)
    assert response.status == 403
    assert response.body["error"]["code"] == "forbidden"
    assert _table_items(aws) == []


def test_a_token_without_a_tenant_claim_is_403_everywhere(api: Api) -> None:
    for name in ("create_policy", "list_policies", "get_policy", "get_openapi"):
        assert api(name, tenant=None).status == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": {"type": "galaxy", "id": "x"}}, "scope.type"),
        ({"period": "fortnight"}, "period"),
        ({"limit_usd": "-1"}, "limit_usd"),
        ({"limit_usd": "lots"}, "limit_usd"),
        ({"limit_usd": 12.5}, "limit_usd"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"alert_thresholds": [0, 50]}, "alert_thresholds.0"),
        ({"alert_thresholds": [50, 50]}, "alert_thresholds"),
        ({"name": None}, "name"),
    ],
)
def test_invalid_fields_are_422_naming_the_field_and_store_nothing(
    api: Api, aws: AwsResources, body: dict[str, Any], field: str
) -> None:
    response = api("create_policy", body=_body(**body))
    assert response.status == 422
    assert response.body["error"]["code"] == "validation_failed"
    assert field in {d["field"] for d in response.body["error"]["details"]}
    assert _table_items(aws) == []


def test_a_missing_field_is_named(api: Api) -> None:
    body = _body()
    del body["limit_usd"]
    response = api("create_policy", body=body)
    assert response.status == 422
    assert "limit_usd" in {d["field"] for d in response.body["error"]["details"]}


@pytest.mark.parametrize("raw", ["not json", '{"name": ', "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_a_4xx_without_a_trace(
    api: Api, aws: AwsResources, raw: str
) -> None:
    response = api("create_policy", raw_body=raw)
    assert 400 <= response.status < 500
    assert set(response.body) == {"error"}
    assert "Traceback" not in str(response.body)
    assert _table_items(aws) == []


def test_an_oversized_body_is_413(api: Api, aws: AwsResources) -> None:
    response = api("create_policy", body=_body(name="x" * 300_000))
    assert response.status == 413
    assert response.body["error"]["code"] == "payload_too_large"
    assert _table_items(aws) == []


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"scope_type": "galaxy"}]
)
def test_bad_list_parameters_are_422_naming_them(api: Api, query: dict[str, str]) -> None:
    response = api("list_policies", query=query)
    assert response.status == 422
    assert {d["field"] for d in response.body["error"]["details"]} == set(query)


def test_a_malformed_if_match_is_400(api: Api) -> None:
    policy_id = api("create_policy").body["policy_id"]
    response = api("patch_policy", policy_id=policy_id, headers={"if-match": "yesterday"})
    assert response.status == 400
    assert response.body["error"]["details"][0]["field"] == "If-Match"


def test_lifecycle_events_land_on_the_bus_with_tenant_and_policy(api: Api, aws: AwsResources) -> None:
    # Given a policy created, patched and deleted
    policy_id = api("create_policy").body["policy_id"]
    api("patch_policy", policy_id=policy_id, headers={"if-match": '"1"'})
    api("delete_policy", policy_id=policy_id, drop_headers=("if-match",))
    # Then the bus carried one event for each, in order
    events = list(aws.bus_events())
    assert [e["detail-type"] for e in events] == ["PolicyCreated", "PolicyUpdated", "PolicyDeleted"]
    for event in events:
        assert event["source"] == "budget-service.policies"
        assert event["detail"]["tenant_id"] == "tenant-acme"
        assert event["detail"]["policy"]["policy_id"] == policy_id
        assert event["detail"]["actor"] == "user-alice"
    assert events[1]["detail"]["changed_fields"] == ["alert_thresholds", "limit_usd"]
    assert events[1]["detail"]["policy"]["limit_usd"] == "3000.00"


def test_a_failed_request_publishes_nothing(api: Api, aws: AwsResources) -> None:
    api("create_policy")
    list(aws.bus_events())
    assert api("create_policy").status == 409
    assert list(aws.bus_events()) == []


def test_the_openapi_document_describes_every_policy_route(api: Api) -> None:
    response = api("get_openapi")
    assert response.status == 200
    paths = response.body["paths"]
    assert set(paths["/v1/policies"]) == {"get", "post"}
    assert set(paths["/v1/policies/{policy_id}"]) == {"get", "patch", "delete"}
    assert "409" in paths["/v1/policies"]["post"]["responses"]
    assert response.body["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"


def test_an_unknown_route_is_a_404_in_the_error_shape(api: Api) -> None:
    event = api_event("get_openapi")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/nothing"
    response = invoke_api(event)
    assert response.status == 404
    assert response.body["error"]["code"] == "route_not_found"
