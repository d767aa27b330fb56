"""Audit every change to a DynamoDB table, from its stream (DynamoDB Streams -> Lambda), and flag email changes.

For each INSERT, MODIFY or REMOVE record the function writes one audit entry to the table named by ``AUDIT_TABLE``:
which item, in which order, what happened, who did it, which attributes changed, the old and the new image. When a
MODIFY changes the email address, the entry is flagged ``email_change`` and, if ``VERIFICATION_QUEUE_URL`` is set, a
message goes to that SQS queue so another process can ask the user to verify the new address.

Deployable to AWS as it is: only the standard library and boto3. Map it with ``FunctionResponseTypes:
["ReportBatchItemFailures"]`` and a ``NEW_AND_OLD_IMAGES`` stream.

Environment variables
    AUDIT_TABLE              required. Partition key ``item`` (S), sort key ``sequence`` (S).
    VERIFICATION_QUEUE_URL   optional: SQS queue for email changes.
    EMAIL_ATTRIBUTE          the attribute holding the email address; default ``email``.
    WHO_ATTRIBUTE            the attribute your application sets to the user making a change; default ``updated_by``.

Design notes
- One entry per stream record, keyed by the item and the record's sequence number (zero-padded so it sorts): a retried
  record overwrites its own entry instead of adding a second one, so retries are harmless (idempotent).
- A stream record does not say who made a change. ``who`` comes from ``WHO_ATTRIBUTE`` in the new (or old) image;
  for a TTL deletion it is the DynamoDB service (userIdentity principalId ``dynamodb.amazonaws.com``).
- Order per item: once a record of an item fails, the item's later records in the batch are not processed; all of them
  are reported in ``batchItemFailures``, and Lambda retries from the lowest one. Other items carry on.
"""
import json
import logging
import os
from datetime import datetime, timezone

import boto3

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

dynamodb = boto3.client("dynamodb")  # created once per execution environment
sqs = boto3.client("sqs")

SEQUENCE_WIDTH = 40  # stream sequence numbers have up to 40 digits
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


class ConfigurationError(Exception):
    """The function's environment variables are missing or wrong."""


class BadRecord(Exception):
    """A stream record this function cannot audit; the message says why."""


def handler(event, context):
    """Lambda entry point: audit each record; report the ones that failed (and their item's later records)."""
    settings = load_settings()
    failures, failed_items = [], set()
    for record in event.get("Records", []):
        sequence = record.get("dynamodb", {}).get("SequenceNumber")
        item = item_id(record)
        if item in failed_items:  # keep this item's changes in order: wait for the earlier one to succeed
            failures.append(sequence)
            continue
        try:
            process_record(record, settings)
        except Exception as exc:  # any failure of one record is reported, so Lambda retries from it
            logger.error("FAILED %s #%s: %s: %s", item, sequence, type(exc).__name__, exc)
            failures.append(sequence)
            failed_items.add(item)
    logger.info("%d records audited, %d failed", len(event.get("Records", [])) - len(failures), len(failures))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}


def load_settings() -> dict:
    table = os.environ.get("AUDIT_TABLE")
    if not table:
        raise ConfigurationError("Set AUDIT_TABLE to the name of the audit table (partition key 'item', sort key "
                                 "'sequence', both strings).")
    return {"table": table, "queue": os.environ.get("VERIFICATION_QUEUE_URL"),
            "email": os.environ.get("EMAIL_ATTRIBUTE", "email"), "who": os.environ.get("WHO_ATTRIBUTE", "updated_by")}


def process_record(record: dict, settings: dict) -> dict:
    """Audit one stream record (the per-record function); returns the entry written."""
    entry = audit_entry(record, settings)
    dynamodb.put_item(TableName=settings["table"], Item=_to_attributes(entry))
    if entry.get("flag") == "email_change" and settings["queue"]:
        sqs.send_message(QueueUrl=settings["queue"], MessageBody=json.dumps({
            "type": "email_change", "item": entry["item"], "sequence": entry["sequence"],
            "old_email": entry["old"].get(settings["email"]), "new_email": entry["new"].get(settings["email"])}))
    logger.info("AUDIT %s %s #%s by %s: %s", entry["event"], entry["item"], entry["sequence"], entry["who"],
                ", ".join(entry["changed"]) or "-")
    return entry


def audit_entry(record: dict, settings: dict) -> dict:
    """The audit entry for one record: item, sequence, event, at, who, changed, old, new (and flag)."""
    name = record.get("eventName")
    change = record.get("dynamodb") or {}
    if name not in EVENT_NAMES or "Keys" not in change or "SequenceNumber" not in change:
        raise BadRecord(f"not a DynamoDB stream record (eventName {name!r}, dynamodb keys {sorted(change)})")
    old, new = plain(change.get("OldImage", {})), plain(change.get("NewImage", {}))
    entry = {
        "item": item_id(record),
        "sequence": change["SequenceNumber"].zfill(SEQUENCE_WIDTH),
        "event": name,
        "at": _iso(change.get("ApproximateCreationDateTime")),
        "who": _who(record, old, new, settings["who"]),
        "changed": sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)),
        "old": old,
        "new": new,
    }
    email = settings["email"]
    if name == "MODIFY" and email in new and old.get(email) != new.get(email):
        entry["flag"] = "email_change"
    return entry


def item_id(record: dict) -> str:
    """``<table>#<key>=<value>[,...]``: which item a record is about (the table comes from eventSourceARN)."""
    table = record.get("eventSourceARN", "").split(":table/")[-1].split("/")[0] or "?"
    keys = plain(record.get("dynamodb", {}).get("Keys", {}))
    return table + "#" + ",".join(f"{k}={keys[k]}" for k in sorted(keys))


def plain(image: dict) -> dict:
    """DynamoDB JSON (``{"S": "x"}``, ``{"N": "1"}``...) as plain values."""
    return {name: _value(av) for name, av in image.items()}


def _value(av: dict):
    (kind, value), = av.items()
    if kind == "N":
        try:
            return int(value)
        except ValueError:
            return float(value)
    if kind == "NS":
        return sorted(_value({"N": v}) for v in value)
    if kind in ("SS", "BS"):
        return sorted(value)
    if kind == "M":
        return plain(value)
    if kind == "L":
        return [_value(v) for v in value]
    if kind == "NULL":
        return None
    return value  # S, B (base64 text in the event), BOOL


def _who(record, old, new, attribute) -> str:
    identity = record.get("userIdentity") or {}
    if identity.get("principalId"):
        return identity["principalId"]  # dynamodb.amazonaws.com for a TTL deletion
    return str(new.get(attribute) or old.get(attribute) or "unknown")


def _iso(epoch) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(float(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _to_attributes(entry: dict) -> dict:
    item = {k: {"S": entry[k]} for k in ("item", "sequence", "event", "at", "who")}
    item["changed"] = {"L": [{"S": name} for name in entry["changed"]]}
    for image in ("old", "new"):
        if entry[image]:
            item[image] = {"S": json.dumps(entry[image], sort_keys=True)}
    if "flag" in entry:
        item["flag"] = {"S": entry["flag"]}
    return item
