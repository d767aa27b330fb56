"""Count clicks per page and per user from a Kinesis clickstream (Kinesis Data Streams -> Lambda).

Each record's data is a click event as JSON, base64-encoded by Lambda: ``{"user": "u-42", "page": "/products/7"}``
(other fields are ignored). The function decodes and validates every record, counts clicks per page and per user,
and writes the counts to the DynamoDB table named by ``AGGREGATE_TABLE``, or as JSON objects to ``OUTPUT_BUCKET``.

Two modes, chosen by the event source mapping:
- **Per batch** (no tumbling window): each batch's counts are added to running totals (DynamoDB ``ADD``:
  ``pk="page#/home", sk="total"``), or written as ``<prefix>batches/<shard>/<first>-<last>.json`` in S3.
- **Tumbling window** (``TumblingWindowInSeconds``): counts build up in the ``state`` Lambda passes from one
  invocation to the next; the window's final invocation (``isFinalInvokeForWindow``) writes them once
  (``pk="page#/home", sk="window#<start>"``, or ``<prefix>windows/<start>/<shard>.json``).

Bad records (poison pills: not base64 JSON, no user, no page path) are reported in ``batchItemFailures``. Processing
stops at the first one: Lambda retries from the lowest failed sequence number, so the records after it come back
anyway, and counting them now would count them twice. A poison pill therefore fails every retry: map the function
with ``MaximumRetryAttempts`` and an ``OnFailure`` destination, or it blocks its shard until the records expire.

Deployable to AWS as it is: only the standard library and boto3. Map it with ``FunctionResponseTypes:
["ReportBatchItemFailures"]``.

Environment variables
    AGGREGATE_TABLE   DynamoDB table for the counts (partition key ``pk`` (S), sort key ``sk`` (S)); or
    OUTPUT_BUCKET     S3 bucket for the counts as JSON; with OUTPUT_PREFIX (default ``clickstream/``).
"""
import base64
import binascii
import json
import logging
import os

import boto3

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

dynamodb = boto3.client("dynamodb")  # created once per execution environment
s3 = boto3.client("s3")


class ConfigurationError(Exception):
    """The function's environment variables are missing or wrong."""


class BadClick(Exception):
    """A record that is not a valid click event; the message says why."""


def handler(event, context):
    """Lambda entry point: count the batch's clicks (up to the first bad record) and write or carry the counts."""
    settings = load_settings()
    windowed = "window" in event
    counts = from_state(event.get("state")) if windowed else new_counts()
    records, counted, failures = event.get("Records", []), 0, []
    for record in records:
        try:
            add_click(counts, parse_click(record))
            counted += 1
        except BadClick as why:
            sequence = record["kinesis"]["sequenceNumber"]
            logger.error("POISON PILL %s: %s", record.get("eventID", sequence), why)
            failures.append({"itemIdentifier": sequence})
            break  # Lambda redelivers everything from here: do not count the rest twice
    if windowed:
        if event.get("isFinalInvokeForWindow"):
            write_window(counts, event, settings)
        return {"state": counts, "batchItemFailures": failures}
    if counted:
        write_batch(counts, records[:counted], settings)
    return {"batchItemFailures": failures}


def load_settings() -> dict:
    table, bucket = os.environ.get("AGGREGATE_TABLE"), os.environ.get("OUTPUT_BUCKET")
    if not table and not bucket:
        raise ConfigurationError("Set AGGREGATE_TABLE (a DynamoDB table with keys pk and sk) or OUTPUT_BUCKET (an "
                                 "S3 bucket) to say where the click counts go.")
    return {"table": table, "bucket": bucket, "prefix": os.environ.get("OUTPUT_PREFIX", "clickstream/")}


def parse_click(record: dict) -> dict:
    """One Kinesis record -> ``{"user", "page"}`` (the per-record function); raises BadClick for a poison pill."""
    try:
        click = json.loads(base64.b64decode(record["kinesis"]["data"], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BadClick(f"data is not base64-encoded JSON ({exc})") from None
    if not isinstance(click, dict):
        raise BadClick(f"a click event is a JSON object, not {type(click).__name__}")
    user, page = click.get("user"), click.get("page")
    if not isinstance(user, str) or not user.strip():
        raise BadClick("no user")
    if not isinstance(page, str) or not page.startswith("/"):
        raise BadClick(f"page must be a path like '/home', not {page!r}")
    return {"user": user, "page": page}


def new_counts() -> dict:
    return {"clicks": 0, "pages": {}, "users": {}}


def from_state(state) -> dict:
    """The counts carried in a tumbling window's state ({} when the window opens)."""
    counts = new_counts()
    if state:
        counts["clicks"] = int(state.get("clicks", 0))
        counts["pages"] = dict(state.get("pages", {}))
        counts["users"] = dict(state.get("users", {}))
    return counts


def add_click(counts: dict, click: dict) -> None:
    counts["clicks"] += 1
    counts["pages"][click["page"]] = counts["pages"].get(click["page"], 0) + 1
    counts["users"][click["user"]] = counts["users"].get(click["user"], 0) + 1


def _shard(event_or_record: dict) -> str:
    return event_or_record.get("shardId") or event_or_record["eventID"].split(":")[0]


def write_batch(counts: dict, records: list, settings: dict) -> None:
    """Add one batch's counts to the running totals (DynamoDB), or store them as one S3 object per batch."""
    if settings["table"]:
        for kind, key in (("pages", "page"), ("users", "user")):
            for name, n in counts[kind].items():
                dynamodb.update_item(TableName=settings["table"],
                                     Key={"pk": {"S": f"{key}#{name}"}, "sk": {"S": "total"}},
                                     UpdateExpression="ADD clicks :n", ExpressionAttributeValues={":n": {"N": str(n)}})
    else:
        first, last = records[0]["kinesis"]["sequenceNumber"], records[-1]["kinesis"]["sequenceNumber"]
        key = f"{settings['prefix']}batches/{_shard(records[0])}/{first}-{last}.json"
        s3.put_object(Bucket=settings["bucket"], Key=key, Body=json.dumps(counts).encode(),
                      ContentType="application/json")
    logger.info("COUNTED %d clicks on %d pages by %d users", counts["clicks"], len(counts["pages"]),
                len(counts["users"]))


def write_window(counts: dict, event: dict, settings: dict) -> None:
    """Write a closed window's counts once (a retry writes the same items again: idempotent)."""
    start = event["window"]["start"]
    if settings["table"]:
        for kind, key in (("pages", "page"), ("users", "user")):
            for name, n in counts[kind].items():
                dynamodb.put_item(TableName=settings["table"], Item={
                    "pk": {"S": f"{key}#{name}"}, "sk": {"S": f"window#{start}"}, "clicks": {"N": str(n)},
                    "window_end": {"S": event["window"]["end"]}})
    else:
        key = f"{settings['prefix']}windows/{start}/{_shard(event)}.json"
        body = json.dumps({**counts, "window": event["window"]}).encode()
        s3.put_object(Bucket=settings["bucket"], Key=key, Body=body, ContentType="application/json")
    logger.info("WINDOW %s..%s: %d clicks", start, event["window"]["end"], counts["clicks"])
