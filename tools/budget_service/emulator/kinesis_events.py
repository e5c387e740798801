"""Lambda's Kinesis event shape, built from records read off a stream (moto or the local stack)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

EVENT_SOURCE = "aws:kinesis"


def lambda_record(
    record: dict[str, Any], stream_arn: str, region: str, shard_id: str = "shardId-000000000000"
) -> dict[str, Any]:
    """One record as Lambda hands it to the function (``GetRecords`` output, data base64-encoded)."""
    data = record["Data"]
    arrival = record.get("ApproximateArrivalTimestamp")
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode(),
            "approximateArrivalTimestamp": arrival.timestamp() if isinstance(arrival, datetime) else arrival,
        },
        "eventSource": EVENT_SOURCE,
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/UsageIngestFunctionRole",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def lambda_event(records: Iterable[dict[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [lambda_record(r, stream_arn, region) for r in records]}


def read_all(kinesis: Any, stream_name: str) -> list[dict[str, Any]]:
    """Every record currently in the stream, oldest first per shard."""
    records: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records.extend(response["Records"])
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return records
