"""The moto patches the exactly-once and race tests stand on behave as DynamoDB does.

``budget_service.emulator.moto_isolation`` replaces moto's TransactWriteItems (check every condition first,
then apply all, undo on failure) and serializes item operations. If either drifted from DynamoDB,
the tests built on them would prove nothing: these tests pin the behaviour down.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.aws import TABLE_NAME, AwsResources


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}}


def _get(aws: AwsResources, pk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = aws.dynamodb.get_item(
        TableName=TABLE_NAME, Key=_key(pk), ConsistentRead=True
    ).get("Item")
    return item


def _add(pk: str, amount: int, condition: str | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": TABLE_NAME,
        "Key": _key(pk),
        "UpdateExpression": "ADD n :n",
        "ExpressionAttributeValues": {":n": {"N": str(amount)}},
    }
    if condition:
        update["ConditionExpression"] = condition
    return {"Update": update}


def _cancel(aws: AwsResources, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with pytest.raises(ClientError) as raised:
        aws.dynamodb.transact_write_items(TransactItems=actions)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    return list(raised.value.response["CancellationReasons"])


def test_a_failed_condition_anywhere_in_a_transaction_writes_nothing(aws: AwsResources) -> None:
    # Given one existing item
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item={**_key("a"), "n": {"N": "1"}})
    # When a transaction adds to it and to a new item, then fails a condition on its last action
    reasons = _cancel(aws, [_add("a", 5), _add("b", 5), _add("c", 1, "attribute_exists(pk)")])
    # Then DynamoDB's reasons name only that action, and neither earlier update was applied
    assert [r["Code"] for r in reasons] == ["None", "None", "ConditionalCheckFailed"]
    assert _get(aws, "a") == {**_key("a"), "n": {"N": "1"}}
    assert _get(aws, "b") is None


def test_conditions_are_judged_on_the_items_before_the_transaction(aws: AwsResources) -> None:
    # Given no item "a": a transaction that creates it and checks it does not exist yet
    put = {"Put": {"TableName": TABLE_NAME, "Item": {**_key("a"), "n": {"N": "1"}}}}
    check = {
        "ConditionCheck": {
            "TableName": TABLE_NAME,
            "Key": _key("b"),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    # When it runs, then it commits: each action sees the table as it was, not as earlier actions left it
    aws.dynamodb.transact_write_items(TransactItems=[put, check])
    assert _get(aws, "a") is not None


def test_a_write_failing_while_applied_undoes_the_ones_before_it(aws: AwsResources) -> None:
    # Given an item holding a string where a later action will ADD a number
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item={**_key("a"), "n": {"N": "1"}})
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item={**_key("s"), "n": {"S": "text"}})
    # When a transaction adds to "a", creates "b", then fails applying the ADD to "s"
    reasons = _cancel(aws, [_add("a", 5), _add("b", 5), _add("s", 1)])
    # Then the failure is reported as DynamoDB would, and "a" and "b" are as they were
    assert reasons[2]["Code"] == "ValidationError"
    assert _get(aws, "a") == {**_key("a"), "n": {"N": "1"}}
    assert _get(aws, "b") is None


def test_a_failed_condition_returns_the_item_when_asked(aws: AwsResources) -> None:
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item={**_key("a"), "n": {"N": "7"}})
    action = _add("a", 1, "attribute_not_exists(n)")
    action["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    reasons = _cancel(aws, [action])
    assert reasons[0]["Item"]["n"] == {"N": "7"}


def test_one_item_in_two_actions_is_refused(aws: AwsResources) -> None:
    with pytest.raises(ClientError) as raised:
        aws.dynamodb.transact_write_items(TransactItems=[_add("a", 1), _add("a", 2)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_racing_conditional_creates_have_exactly_one_winner(aws: AwsResources) -> None:
    """Without the item lock, moto let several of these pass their check (seen: 4 of 8)."""
    winners: list[int] = []
    refusals: list[str] = []
    start = threading.Barrier(8)

    def create(index: int) -> None:
        start.wait()
        try:
            aws.dynamodb.put_item(
                TableName=TABLE_NAME,
                Item={**_key("slot"), "holder": {"N": str(index)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            winners.append(index)
        except ClientError as error:
            refusals.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert refusals == ["ConditionalCheckFailedException"] * 7
    item = _get(aws, "slot")
    assert item is not None
    assert item["holder"] == {"N": str(winners[0])}


def test_racing_conditional_adds_never_pass_their_limit(aws: AwsResources) -> None:
    # Given a counter that may reach 10, and 30 threads each adding 1 if it stays within it
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item={**_key("c"), "n": {"N": "0"}})
    start = threading.Barrier(30)
    granted: list[int] = []

    def hold(index: int) -> None:
        start.wait()
        try:
            aws.dynamodb.update_item(
                TableName=TABLE_NAME,
                Key=_key("c"),
                UpdateExpression="ADD n :one",
                ConditionExpression="n < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": "10"}},
            )
            granted.append(index)
        except ClientError:
            pass

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly 10 were granted, and the counter says so
    assert len(granted) == 10
    item = _get(aws, "c")
    assert item is not None
    assert Decimal(item["n"]["N"]) == 10


def test_sums_of_decimals_are_stored_as_plain_numbers(aws: AwsResources) -> None:
    """moto adds 0.0000000 and 0.0000000 into ``0E-7`` and then fails on it; DynamoDB does not."""
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item={**_key("d"), "n": {"N": "0.0000000"}})
    aws.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key=_key("d"),
        UpdateExpression="ADD n :n",
        ExpressionAttributeValues={":n": {"N": "0.0000000"}},
    )
    item = _get(aws, "d")
    assert item is not None
    assert Decimal(item["n"]["N"]) == 0
    assert "E" not in item["n"]["N"]


_EVERY_ATTRIBUTE_TYPE: dict[str, Any] = {
    **_key("types"),
    "s": {"S": "text with ünïcode"},
    "n": {"N": "12.3400000001"},
    "b": {"B": b"\x00\x01bytes"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "null": {"NULL": True},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "empty_s": {"S": ""},
    "list": {"L": [{"S": "x"}, {"N": "0"}, {"M": {"inner": {"BOOL": False}}}]},
    "map": {"M": {"deep": {"M": {"deeper": {"L": [{"NULL": True}, {"SS": ["z"]}]}}}}},
    "empty_map": {"M": {}},
    "empty_list": {"L": []},
}


def test_every_attribute_type_reads_back_as_written(aws: AwsResources) -> None:
    """The read path serializes only the member a value holds (moto tried all ten per attribute)."""
    # Given an item holding every DynamoDB type, nested and empty ones too
    aws.dynamodb.put_item(TableName=TABLE_NAME, Item=_EVERY_ATTRIBUTE_TYPE)
    # When it is read back by GetItem, Query and a transaction's ALL_OLD
    got = _get(aws, "types")
    queried = aws.dynamodb.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "types"}},
    )["Items"]
    updated = aws.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key=_key("types"),
        UpdateExpression="SET extra = :e",
        ExpressionAttributeValues={":e": {"S": "e"}},
        ReturnValues="ALL_OLD",
    )["Attributes"]
    # Then each answer is the item exactly as written
    assert got == _EVERY_ATTRIBUTE_TYPE
    assert queried == [_EVERY_ATTRIBUTE_TYPE]
    assert updated == _EVERY_ATTRIBUTE_TYPE


def test_the_read_path_writes_the_same_bytes_as_motos_own_serializer() -> None:
    """The faster serializer is a shortcut, not a second dialect: moto's answer, byte for byte."""
    import base64

    from moto.core import serialize
    from moto.core.responses import get_service_model

    from budget_service.emulator.moto_isolation import serialize_dynamodb_operations

    # Given a GetItem and a Query result holding every type, as moto's backend hands them over
    serialize_dynamodb_operations()
    wire = {
        name: (
            {"B": base64.b64encode(value["B"]).decode()}
            if "B" in value
            else {"BS": [base64.b64encode(v).decode() for v in value["BS"]]}
            if "BS" in value
            else value
        )
        for name, value in _EVERY_ATTRIBUTE_TYPE.items()
    }
    service = get_service_model("dynamodb")
    patched = serialize.get_serializer_class("dynamodb", "json")
    assert patched is not serialize.JSONSerializer
    for operation, result in (
        ("GetItem", {"Item": wire}),
        ("Query", {"Items": [wire, wire], "Count": 2, "ScannedCount": 2}),
    ):
        model = service.operation_model(operation)
        # When both serializers write it
        ours = patched(model).serialize(result)
        motos = serialize.JSONSerializer(model).serialize(result)
        # Then the bodies are identical
        assert ours["body"] == motos["body"]
        assert ours["status_code"] == motos["status_code"]
