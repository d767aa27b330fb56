"""The stream-audit function again, built on Powertools for AWS Lambda (Python): the same audit entries, welcome
emails and email-change verifications as ``stream_audit.py``, with the plumbing taken from the library.

- **Event data classes**: ``DynamoDBRecord`` gives typed access to a record (``record.event_name``,
  ``record.dynamodb.sequence_number``, ``record.dynamodb.keys``...).
- **Batch processing**: ``BatchProcessor(EventType.DynamoDBStreams)`` with ``process_partial_response`` calls
  ``record_handler`` once per record and builds ``batchItemFailures`` from the records that raised.
- **Idempotency**: ``@idempotent_function`` keyed by the record's ``eventID`` stores each record's result in a
  DynamoDB table (``IDEMPOTENCY_TABLE``, partition key ``id``; TTL on ``expiration``). A second delivery of a
  completed record returns the stored result without running it again; one still in progress fails (and Lambda
  retries it) until the first attempt's timeout has passed.

Deploy it with Powertools as a Lambda layer (or in the .zip). Same environment variables as ``stream_audit.py``, plus
``IDEMPOTENCY_TABLE``. It imports nothing from lambdalab.

Differences from the hand-written function, worth knowing before you choose:
- Idempotency covers the whole record: effects are not marked one by one. If an invocation dies after sending an
  email but before completing the record, the record runs again once the in-progress entry expires (at the function
  timeout), and the email goes out again.
- ``BatchProcessor`` carries on with an item's later records after one fails (Lambda then retries from the failed one,
  and idempotency skips those already done); the hand-written function holds them back to keep each item's audit
  entries in order on the first pass.
- The data class returns binary values as the base64 text of the event: images are read with a deserializer that
  decodes them, so both functions store the same bytes.
- A record without a SequenceNumber: ``BatchProcessor`` would report it as ``itemIdentifier: null``, which fails the
  whole batch without saying why; the handler raises an error that says so instead, as the hand-written one does.
"""
import base64
import json
import logging
import os
from datetime import datetime, timezone

import boto3
from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from boto3.dynamodb.types import TypeSerializer

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
ses = boto3.client("ses")

IMAGES = {"INSERT": ("NewImage",), "MODIFY": ("OldImage", "NewImage"), "REMOVE": ("OldImage",)}
STREAM_RETENTION_S = 24 * 3600  # remember a record as long as the stream can deliver it again


def _log_duplicate(response, data_record):
    logger.info("AUDIT %s #%s [duplicate delivery: stored result returned]", response["item"], response["sequence"])
    return response


processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("IDEMPOTENCY_TABLE", "idempotency"))
config = IdempotencyConfig(event_key_jmespath="eventID", expires_after_seconds=STREAM_RETENTION_S + 3600,
                           response_hook=_log_duplicate)


class _Deserializer(TypeDeserializer):
    """Powertools' deserializer, with binary values decoded from the event's base64 text."""

    def _deserialize_b(self, value):
        return base64.b64decode(value)


_deserialize = _Deserializer().deserialize
_serialize = TypeSerializer().serialize


def handler(event, context):
    """Lambda entry point: one ``record_handler`` call per record; the failed ones go in batchItemFailures."""
    settings()  # fail the whole batch at once when the configuration is wrong
    config.register_lambda_context(context)  # in-progress records expire when this invocation would time out
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    unnamed = [r.get("eventID") for r in event.get("Records", [])
               if not (r.get("dynamodb") or {}).get("SequenceNumber")]
    if unnamed:  # BatchProcessor would report them as itemIdentifier null: say why the batch fails instead
        raise ValueError(f"{len(unnamed)} record(s) without dynamodb.SequenceNumber (eventID {unnamed}) cannot be "
                         "reported in batchItemFailures, so the whole batch must be retried (the others are audited "
                         "and will not be audited twice). Send real stream records, or fix the test event.")
    return response


def settings() -> dict:
    table = os.environ.get("AUDIT_TABLE")
    if not table:
        raise ValueError("Set AUDIT_TABLE to the name of the audit table (partition key 'item', sort key "
                         "'sequence', both strings).")
    return {"table": table, "queue": os.environ.get("VERIFICATION_QUEUE_URL"),
            "sender": os.environ.get("SENDER_EMAIL"),
            "email": os.environ.get("EMAIL_ATTRIBUTE", "email"), "who": os.environ.get("WHO_ATTRIBUTE", "updated_by")}


def record_handler(record: DynamoDBRecord) -> dict:
    """One record: raises on failure (BatchProcessor reports it); a repeated eventID is not processed again."""
    return audit_once(record=record.raw_event)


@idempotent_function(data_keyword_argument="record", config=config, persistence_store=persistence)
def audit_once(record: dict) -> dict:
    """Write the audit entry and carry out its effects; the idempotency key is the record's eventID."""
    s = settings()
    entry = audit_entry(DynamoDBRecord(record), s)
    dynamodb.put_item(TableName=s["table"], Item=_item(entry))
    for effect in entry["effects"]:
        EFFECTS[effect](entry, s)
    logger.info("AUDIT %s %s #%s by %s: %s", entry["event"], entry["item"], entry["sequence"], entry["who"],
                "unknown" if entry["changed"] is None else ", ".join(entry["changed"]) or "-")
    return {"item": entry["item"], "sequence": entry["sequence"]}


def audit_entry(record: DynamoDBRecord, s: dict) -> dict:
    """The same entry as the hand-written function's, read through the data class."""
    stream = record.dynamodb
    name = record.event_name.name  # a KeyError for an unknown eventName fails this record only
    raw = stream.raw_event
    unavailable = [image for image in IMAGES[name] if image not in raw]
    old = _deserialize({"M": raw["OldImage"]}) if "OldImage" in raw else {}
    new = _deserialize({"M": raw["NewImage"]}) if "NewImage" in raw else {}
    table = (record.event_source_arn or "").split(":table/")[-1].split("/")[0] or "?"
    keys = raw["Keys"]
    who = record.user_identity.get("principalId") or str(new.get(s["who"]) or old.get(s["who"]) or "unknown")
    entry = {
        "item": table + "#" + ",".join(f"{k}={next(iter(keys[k].values()))}" for k in sorted(keys)),
        "sequence": stream.sequence_number.zfill(40),
        "event_id": record.event_id,
        "event": name,
        "at": _iso(stream.approximate_creation_date_time),
        "who": who,
        "view": stream.stream_view_type.name if stream.stream_view_type else "",
        "changed": None if unavailable else differing(old, new),
        "unavailable": unavailable,
        "old": old if "OldImage" in raw else None,
        "new": new if "NewImage" in raw else None,
        "effects": [],
    }
    if name == "MODIFY" and not unavailable and s["email"] in new and old.get(s["email"]) != new.get(s["email"]):
        entry["flag"] = "email_change"
        entry["effects"] = [e for e, on in (("verification_email", s["sender"]),
                                            ("verification_message", s["queue"])) if on]
    elif name == "INSERT" and new.get(s["email"]) and s["sender"]:
        entry["effects"] = ["welcome_email"]
    return entry


def _email(s, to, subject, text):
    ses.send_email(Source=s["sender"], Destination={"ToAddresses": [str(to)]},
                   Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}})


EFFECTS = {
    "welcome_email": lambda e, s: _email(
        s, e["new"][s["email"]], "Welcome!",
        f"Welcome aboard. Your account {e['item']} is ready.\n\n(reference {e['event_id']})"),
    "verification_email": lambda e, s: _email(
        s, e["new"][s["email"]], "Please verify your new email address",
        f"The email address of {e['item']} changed from {e['old'].get(s['email'])} to this one. "
        f"Reply to confirm it.\n\n(reference {e['event_id']})"),
    "verification_message": lambda e, s: sqs.send_message(QueueUrl=s["queue"], MessageBody=json.dumps({
        "type": "email_change", "item": e["item"], "sequence": e["sequence"], "event_id": e["event_id"],
        "old_email": str(e["old"].get(s["email"])), "new_email": str(e["new"][s["email"]])}), **_fifo(e, s)),
}


def _fifo(entry, s) -> dict:
    """A FIFO queue needs a group (the item, to keep its order) and deduplicates by the eventID."""
    if not s["queue"].endswith(".fifo"):
        return {}
    return {"MessageGroupId": entry["item"][:128], "MessageDeduplicationId": entry["event_id"][:128]}


def differing(old: dict, new: dict) -> list:
    """Names added, removed or given another value (an attribute added with a NULL value counts too)."""
    return sorted(k for k in set(old) | set(new) if k not in old or k not in new or old[k] != new[k])


def _iso(epoch) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(float(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item(entry: dict) -> dict:
    item = {k: {"S": entry[k]} for k in ("item", "sequence", "event_id", "event", "at", "who")}
    if entry["view"]:
        item["view"] = {"S": entry["view"]}
    for name in ("changed", "unavailable", "effects"):
        if entry[name]:
            item[name] = {"L": [{"S": v} for v in entry[name]]}
    if entry["changed"] == []:
        item["changed"] = {"L": []}
    for image in ("old", "new"):
        if entry[image] is not None:
            item[image] = _serialize(entry[image])
    if "flag" in entry:
        item["flag"] = {"S": entry["flag"]}
    return item
