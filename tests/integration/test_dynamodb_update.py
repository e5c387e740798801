"""The one update builder: any attribute name, any clause mix, against the template's table in moto;
and DynamoDB's 4 KB expression limit, which moto does not enforce, checked by the builder."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budget_core.adapters.shared.dynamodb_codec import from_item
from budget_core.adapters.shared.dynamodb_update import MAX_EXPRESSION_BYTES, ExpressionTooLong, ItemUpdate
from tests.support.aws import TABLE_NAME, AwsResources

# Attribute names as callers store them: reserved words, '#', ':', spaces and dots included
attribute_names = st.one_of(
    st.sampled_from(["status", "size", "name", "rev", "a.b", "x#c", ":v0", "#n0", "with space"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20),
).filter(lambda name: name not in ("pk", "sk"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sets=st.dictionaries(attribute_names, st.text(max_size=10), max_size=5),
    adds=st.dictionaries(attribute_names, st.integers(-1000, 1000), max_size=5),
)
def test_any_names_and_clauses_write_exactly_what_was_asked(
    aws: AwsResources, sets: dict[str, str], adds: dict[str, int]
) -> None:
    adds = {name: amount for name, amount in adds.items() if name not in sets}
    if not sets and not adds:
        return
    # Given an item holding 1 in every attribute it will add to, and one attribute to remove
    key = {"pk": "T#builder", "sk": f"ITEM#{uuid.uuid4().hex}"}  # examples share the table
    seed = ItemUpdate(TABLE_NAME, key).set_all(dict.fromkeys(adds, 1)).set("gone", "x")
    aws.dynamodb.update_item(**seed.request())
    # When one update sets, adds and removes, on the condition that the item exists
    update = ItemUpdate(TABLE_NAME, key).set_all(sets).add_all(adds).remove("gone").require_present("pk")
    aws.dynamodb.update_item(**update.request())
    # Then the item holds exactly that
    item = from_item(aws.dynamodb.get_item(TableName=TABLE_NAME, Key=update.request()["Key"])["Item"])
    expected = {**key, **sets, **{name: Decimal(1 + amount) for name, amount in adds.items()}}
    assert item == expected


def test_a_failed_condition_writes_nothing(aws: AwsResources) -> None:
    # Given an item at revision 3
    key = {"pk": "T#builder", "sk": "REV"}
    aws.dynamodb.update_item(**ItemUpdate(TABLE_NAME, key).set("rev", 3).request())
    # When an update expects revision 2, then DynamoDB refuses it and the item is unchanged
    stale = ItemUpdate(TABLE_NAME, key).add("rev", 1).set("status", "moved").require_version("rev", 2)
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        aws.dynamodb.update_item(**stale.request())
    item = from_item(aws.dynamodb.get_item(TableName=TABLE_NAME, Key=stale.request()["Key"])["Item"])
    assert item == {**key, "rev": Decimal(3)}
    # And an update expecting revision 3 goes through; one expecting none refuses an item that has one
    aws.dynamodb.update_item(**ItemUpdate(TABLE_NAME, key).add("rev", 1).require_version("rev", 3).request())
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        aws.dynamodb.update_item(
            **ItemUpdate(TABLE_NAME, key).add("rev", 1).require_version("rev", None).request()
        )


def test_an_expression_dynamodb_would_refuse_never_leaves() -> None:
    # Given an update that grew with its input (what bounded labels exist to prevent)
    update = ItemUpdate(TABLE_NAME, {"pk": "T#builder", "sk": "BIG"})
    for index in range(MAX_EXPRESSION_BYTES // 10):
        update.add(f"label-{index}", 1)
    # Then building its request fails, naming the size and the limit
    with pytest.raises(ExpressionTooLong, match=f"DynamoDB allows {MAX_EXPRESSION_BYTES}"):
        update.request()
    with pytest.raises(ExpressionTooLong):
        update.action()


def test_an_update_or_a_check_with_nothing_in_it_is_a_programming_error() -> None:
    empty = ItemUpdate(TABLE_NAME, {"pk": "T#builder", "sk": "EMPTY"})
    with pytest.raises(ValueError, match="nothing to change"):
        empty.request()
    with pytest.raises(ValueError, match="no condition"):
        empty.condition_check()
