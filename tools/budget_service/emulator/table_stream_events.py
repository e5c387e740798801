"""Lambda's DynamoDB Streams event shape and its FilterCriteria, for records read off a table stream
(moto in tests, the local stack): the alert function sees exactly what the event source mapping
declared in template.yaml would hand it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from budget_service.templates.model import load_template, resource

EVENT_SOURCE = "aws:dynamodb"


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One ``GetRecords`` record as Lambda hands it over (times as epoch seconds, source ARN added)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": EVENT_SOURCE,
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def lambda_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


@dataclass(frozen=True)
class StreamFilter:
    """The FilterCriteria of one event source: a record passes when any pattern matches (no
    patterns: everything passes), as in Lambda."""

    patterns: list[str] = field(default_factory=list)

    @classmethod
    def from_criteria(cls, criteria: Mapping[str, Any] | None) -> StreamFilter:
        """The filter of an event source's ``FilterCriteria`` property (absent: everything passes)."""
        return cls([str(f["Pattern"]) for f in (criteria or {}).get("Filters", [])])

    @cached_property
    def _parsed(self) -> list[Any]:
        from moto.events.models import EventPattern  # the EventBridge pattern matcher Lambda's syntax shares

        return [EventPattern.load(p) for p in self.patterns]

    def matches(self, record: dict[str, Any]) -> bool:
        event: Any = record
        return not self.patterns or any(pattern.matches_event(event) for pattern in self._parsed)


def event_source(function_logical_id: str, event_name: str) -> dict[str, Any]:
    """The ``Properties`` of one event of a function in template.yaml."""
    function = resource(load_template(), function_logical_id)
    return dict(function.properties["Events"][event_name]["Properties"])


def template_filter(function_logical_id: str, event_name: str) -> StreamFilter:
    return StreamFilter.from_criteria(event_source(function_logical_id, event_name).get("FilterCriteria"))


def read_new_records(streams: Any, stream_arn: str, iterators: dict[str, str | None]) -> list[dict[str, Any]]:
    """Records added since the last call, oldest first per shard; ``iterators`` keeps the positions."""
    records: list[dict[str, Any]] = []
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    for shard in shards:
        shard_id = shard["ShardId"]
        if shard_id not in iterators:
            iterators[shard_id] = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        iterator = iterators[shard_id]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            batch = response.get("Records", [])
            records.extend(batch)
            iterator = response.get("NextShardIterator")
            iterators[shard_id] = iterator
            if not batch:
                break
    return records


def read_lambda_records(
    streams: Any, stream_arn: str, iterators: dict[str, str | None], region: str, passes: StreamFilter
) -> list[dict[str, Any]]:
    """New records (see ``read_new_records``) that pass the filter, as Lambda hands them over."""
    records = (lambda_record(r, stream_arn, region) for r in read_new_records(streams, stream_arn, iterators))
    return [r for r in records if passes.matches(r)]
