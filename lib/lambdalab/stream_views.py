"""What a DynamoDB stream holds, read directly (as Lambda's poller does) and compared across the four view types.

    views = stream_views.compare(lambda table: table.put_item(Item={"id": "u1", "email": "a@example.com"}))
    views               # an HTML table: one row per change, one column per view type, the parts each record has
    views.records["NEW_IMAGE"]   # the raw records of one view type

``read_stream(table)`` returns every record of a table's stream from the start (TRIM_HORIZON), the way
``GetRecords`` returns them; ``ttl_delete_record(...)`` builds the REMOVE record DynamoDB writes when TTL deletes an
item (moto never deletes expired items, so the course makes the record itself).
"""
from __future__ import annotations

import html
import uuid

from . import aws, clock

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
PARTS = ("Keys", "OldImage", "NewImage")


def read_stream(table: str) -> list[dict]:
    """Every record in the table's stream, oldest first (all shards, from TRIM_HORIZON)."""
    ddb, streams = aws.client("dynamodb"), aws.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    if not arn:
        raise ValueError(f"Table {table!r} has no stream. Create it with StreamSpecification={{'StreamEnabled': "
                         "True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'}.")
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


class Comparison:
    """The same writes seen through each view type: ``records[view]``, shown as a table."""

    def __init__(self, records: dict):
        self.records = records

    def rows(self) -> list[dict]:
        """One row per change: event, item key, and for each view type the parts of the record present."""
        first = self.records[VIEW_TYPES[0]]
        out = []
        for n, record in enumerate(first):
            row = {"event": record["eventName"], "item": _key_text(record["dynamodb"]["Keys"])}
            for view in VIEW_TYPES:
                body = self.records[view][n]["dynamodb"]
                parts = [p for p in PARTS if p in body]
                row[view] = f"{' + '.join(parts)} ({body['SizeBytes']} B)"
            out.append(row)
        return out

    def _repr_html_(self):
        columns = ["event", "item", *VIEW_TYPES]
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in columns) + "</tr>"
                       for r in self.rows())
        return f"<table><tr>{head}</tr>{body}</table>"

    def __repr__(self):
        return "\n".join(" | ".join(str(v) for v in row.values()) for row in self.rows())


def compare(writes, prefix: str = "views") -> Comparison:
    """Make one table per view type (``<prefix>-<view>``, key ``id``), apply ``writes(table)`` to each (a function
    given the boto3 Table), and collect what each stream recorded."""
    from .audit_pipeline import create_table

    records = {}
    for view in VIEW_TYPES:
        name = f"{prefix}-{view.lower().replace('_', '-')}"
        writes(create_table(name, view=view))
        records[view] = read_stream(name)
    return Comparison(records)


def ttl_delete_record(table: str, old_image: dict, sequence_number: str) -> dict:
    """The REMOVE record of a TTL deletion as Lambda delivers it: ``userIdentity`` names the DynamoDB service.
    ``old_image`` is in DynamoDB JSON (``{"id": {"S": "u1"}, ...}``); the key is its ``id``."""
    description = aws.client("dynamodb").describe_table(TableName=table)["Table"]
    view = description["StreamSpecification"]["StreamViewType"]
    key = {a["AttributeName"]: old_image[a["AttributeName"]] for a in description["KeySchema"]}
    body = {"ApproximateCreationDateTime": int(clock.now()), "Keys": key, "SequenceNumber": sequence_number,
            "SizeBytes": 0, "StreamViewType": view}
    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["OldImage"] = old_image
    from .moto_patches.dynamodb_streams import stream_record_size

    body["SizeBytes"] = stream_record_size(body)
    arn = description["LatestStreamArn"]
    return {"eventID": uuid.uuid4().hex, "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": arn.split(":")[3], "dynamodb": body, "eventSourceARN": arn,
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}


def _key_text(keys: dict) -> str:
    return ", ".join(f"{k}={next(iter(v.values()))}" for k, v in sorted(keys.items()))
