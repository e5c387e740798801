"""Whatever a client sends, the answer is a 4xx in the error shape, never a 500, and nothing is stored."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from budget_service.emulator.sample_events import api_event
from tests.integration.conftest import ApiResponse, invoke_api
from tests.support.aws import TABLE_NAME, AwsResources

Api = Callable[..., ApiResponse]


def _stored(aws: AwsResources) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName=TABLE_NAME)["Items"]


def _assert_client_error(response: ApiResponse, status: int, field: str | None = None) -> None:
    assert response.status == status, response.body
    assert set(response.body) == {"error"}
    if field is not None:
        assert field in {d.get("field") for d in response.body["error"]["details"]}, response.body


BAD_PATCHES = [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"timezone": "localtime"}, "timezone"),
    ({"timezone": "A" * 300}, "timezone"),
    ({"alert_thresholds": [50, 50]}, "alert_thresholds"),
    ({"alert_thresholds": list(range(1, 12))}, "alert_thresholds"),
    ({"alert_thresholds": [0]}, "alert_thresholds.0"),
    ({"limit_usd": "-1"}, "limit_usd"),
    ({"limit_usd": "1E+3"}, "limit_usd"),
    ({"period": "fortnight"}, "period"),
    ({"scope": {"type": "tenant", "id": "x"}}, "scope"),
    ({"version": 7}, "version"),
]


@pytest.mark.parametrize(("patch", "field"), BAD_PATCHES)
def test_a_bad_patch_is_422_naming_the_field_and_changes_nothing(
    api: Api, patch: dict[str, Any], field: str
) -> None:
    # Given a stored policy
    created = api("create_policy")
    policy_id = created.body["policy_id"]
    # When a patch breaks a rule
    response = api("patch_policy", policy_id=policy_id, body=patch)
    # Then it is refused by name and the policy is as it was
    _assert_client_error(response, 422, field)
    assert api("get_policy", policy_id=policy_id).body == created.body


@pytest.mark.parametrize("timezone", ["A" * 300, "localtime", "Europe/../Paris", "posix/Europe/Paris"])
def test_a_timezone_outside_the_iana_list_is_refused_on_create(
    api: Api, aws: AwsResources, timezone: str
) -> None:
    body = json.loads(api_event("create_policy")["body"])
    _assert_client_error(api("create_policy", body={**body, "timezone": timezone}), 422, "timezone")
    assert _stored(aws) == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "multipart/form-data", "application/x-www-form-urlencoded"],
)
def test_a_body_that_is_not_json_is_415(api: Api, aws: AwsResources, content_type: str) -> None:
    _assert_client_error(api("create_policy", headers={"content-type": content_type}), 415, "Content-Type")
    assert _stored(aws) == []


def test_json_media_types_are_matched_without_regard_to_case_or_parameters(api: Api) -> None:
    assert api("create_policy", headers={"content-type": "APPLICATION/JSON; charset=utf-8"}).status == 201


@pytest.mark.parametrize(
    "raw",
    [
        '{"limit_usd": ' + "1" * 5000 + "}",  # past Python's integer-digits limit
        "[" * 100_000 + "]" * 100_000,  # deeper than the parser recurses
        '{"name": "\\ud800"',
    ],
)
def test_json_the_parser_cannot_take_is_400(api: Api, aws: AwsResources, raw: str) -> None:
    _assert_client_error(api("create_policy", raw_body=raw), 400, "body")
    assert _stored(aws) == []


def test_a_base64_body_that_is_not_utf8_is_400(api: Api, aws: AwsResources) -> None:
    event = api_event("create_policy")
    event["body"] = base64.b64encode(b"\xff\xfe{}").decode()
    event["isBase64Encoded"] = True
    _assert_client_error(invoke_api(event), 400, "body")
    assert _stored(aws) == []


def test_a_base64_encoded_json_body_is_accepted(api: Api) -> None:
    event = api_event("create_policy")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert invoke_api(event).status == 201


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        base64.urlsafe_b64encode(
            json.dumps({"after": "\ud800"}, ensure_ascii=False).encode("utf-8", "surrogatepass")
        ).decode(),
        base64.urlsafe_b64encode(json.dumps({"after": "SLOT#user|x"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"after": 5}).encode()).decode(),
        base64.urlsafe_b64encode(b"[]").decode(),
    ],
)
def test_a_next_token_this_api_did_not_make_is_400(api: Api, token: str) -> None:
    _assert_client_error(api("list_policies", query={"next_token": token}), 400, "next_token")


@pytest.mark.parametrize("if_match", ["yesterday", "\u0661", '"1', "W/", "-1"])
def test_an_if_match_that_is_not_a_version_is_400(api: Api, if_match: str) -> None:
    policy_id = api("create_policy").body["policy_id"]
    _assert_client_error(
        api("patch_policy", policy_id=policy_id, headers={"if-match": if_match}), 400, "If-Match"
    )


@pytest.mark.parametrize(
    "policy_id", ["x" * 5000, "pol_%00", "pol_\u00e9\u00e9", "../../etc", "T#tenant-acme"]
)
def test_odd_policy_ids_are_simply_missing(api: Api, policy_id: str) -> None:
    _assert_client_error(api("get_policy", policy_id=policy_id), 404)


@pytest.mark.parametrize(
    ("route", "query", "field"),
    [
        ("usage_summary", {"start": "9999-12-30", "end": "9999-12-31T23:30:00"}, "start"),
        (
            "usage_trend",
            {"start": "9999-12-30", "end": "9999-12-31T23:30:00", "granularity": "hour"},
            "start",
        ),
        ("usage_summary", {"start": "0001-01-01T00:00:00+01:00"}, "start"),
        ("list_alerts", {"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ("list_alerts", {"since": "9999-12-31T23:59:59-01:00"}, "since"),
    ],
)
def test_dates_at_the_calendars_edges_are_422_not_500(
    api: Api, route: str, query: dict[str, str], field: str
) -> None:
    # Given a date that overflows once converted to UTC or rounded to a whole hour
    # When a read route is asked for it
    response = api(route, query=query)
    # Then it is refused by name
    _assert_client_error(response, 422, field)
