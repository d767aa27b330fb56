"""Audit every change to a DynamoDB table from its stream (DynamoDB Streams -> Lambda): one audit entry per change,
a welcome email for a new user, an address verification when a user changes their email, each exactly once.

For each INSERT, MODIFY or REMOVE record the function writes one audit entry to the table named by ``AUDIT_TABLE``:
which item, in which order, what happened, who did it, which attributes changed, the old and the new image, and what
the record could not say (a ``NEW_IMAGE`` stream has no old image, so it cannot tell what a MODIFY changed). Then it
carries out the change's effects:

- a new item with an email address (INSERT): a welcome email (Amazon SES, if ``SENDER_EMAIL`` is set);
- a MODIFY that changes the email address (flag ``email_change``): a verification email to the new address (SES,
  if ``SENDER_EMAIL`` is set) and a message on the ``VERIFICATION_QUEUE_URL`` SQS queue (if set).

Deployable to AWS as it is: only the standard library and boto3. Map it with ``FunctionResponseTypes:
["ReportBatchItemFailures"]`` and a ``NEW_AND_OLD_IMAGES`` stream (other view types are audited as far as they allow).

Environment variables
    AUDIT_TABLE              required. Partition key ``item`` (S), sort key ``sequence`` (S).
    SENDER_EMAIL             optional: a verified SES identity; turns on the welcome and verification emails.
    VERIFICATION_QUEUE_URL   optional: SQS queue for email changes (a FIFO queue also deduplicates by eventID).
    EMAIL_ATTRIBUTE          the attribute holding the email address; default ``email``.
    WHO_ATTRIBUTE            the attribute your application sets to the user making a change; default ``updated_by``.

Exactly-once effects under at-least-once delivery
- Lambda delivers a stream record at least once: a retried batch, a batch retried after a timeout, or a bisected one
  brings records the function has already seen. The audit entry is written with a conditional write keyed by the
  record's ``eventID``: only the first delivery creates it. A later delivery of the same eventID finds the entry and
  carries out only the effects that are not marked done (``sent_<effect>`` attributes), so a retry after a timeout
  that struck after the welcome email went out does not send it again.
- An effect is marked done right after it succeeds. Only a crash between the two (milliseconds) can repeat one: the
  messages carry the eventID so their consumer can drop a repeat, and a FIFO queue drops it by itself.

Design notes
- One entry per stream record, keyed by the item and the record's sequence number (zero-padded so it sorts).
- Numbers stay ``Decimal`` (as boto3 reads them): ``1.00000000000000001`` and ``1.00000000000000002`` differ.
  Images are stored as DynamoDB maps with their own types (sets, binary, null, lists, maps).
- A stream record does not say who made a change. ``who`` comes from ``WHO_ATTRIBUTE`` in the new (or old) image;
  for a TTL deletion it is the DynamoDB service (userIdentity principalId ``dynamodb.amazonaws.com``).
- Order per item: once a record of an item fails, the item's later records in the batch are not processed; all of them
  are reported in ``batchItemFailures`` by sequence number, and Lambda retries from the lowest one. Other items carry
  on. A record without a sequence number cannot be reported on its own (a null itemIdentifier fails the batch
  anyway): the function audits the others, then fails the invocation saying so.
"""
import base64
import json
import logging
import os
from datetime import datetime, timezone
from decimal import Decimal

import boto3
from boto3.dynamodb.types import TypeSerializer

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

dynamodb = boto3.client("dynamodb")  # created once per execution environment
sqs = boto3.client("sqs")
ses = boto3.client("ses")

SEQUENCE_WIDTH = 40  # stream sequence numbers have up to 40 digits
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
IMAGES = {"INSERT": ("NewImage",), "MODIFY": ("OldImage", "NewImage"), "REMOVE": ("OldImage",)}  # what each needs
SERVICE = "dynamodb.amazonaws.com"  # userIdentity of a TTL deletion
_serialize = TypeSerializer().serialize


class ConfigurationError(Exception):
    """The function's environment variables are missing or wrong."""


class BadRecord(Exception):
    """A stream record this function cannot audit; the message says why."""


def handler(event, context):
    """Lambda entry point: audit each record; report the ones that failed (and their item's later records)."""
    settings = load_settings()
    records = event.get("Records", [])
    failures, failed_items, unnamed = [], set(), []
    for record in records:
        sequence = sequence_number(record)
        item = item_id(record)
        if item in failed_items:  # keep this item's changes in order: wait for the earlier one to succeed
            failures.append(sequence)
            continue
        try:
            process_record(record, settings)
        except Exception as exc:  # any failure of one record is reported, so Lambda retries from it
            logger.error("FAILED %s #%s: %s: %s", item, sequence, type(exc).__name__, exc)
            if sequence:
                failures.append(sequence)
                failed_items.add(item)
            else:
                unnamed.append(record.get("eventID") if isinstance(record, dict) else None)
    logger.info("%d records audited, %d failed", len(records) - len(failures) - len(unnamed),
                len(failures) + len(unnamed))
    if unnamed:
        raise BadRecord(f"{len(unnamed)} record(s) without dynamodb.SequenceNumber (eventID {unnamed}) cannot be "
                        "reported in batchItemFailures, so the whole batch must be retried (the others are audited "
                        "and will not be audited twice). Send real stream records, or fix the test event.")
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}


def load_settings() -> dict:
    table = os.environ.get("AUDIT_TABLE")
    if not table:
        raise ConfigurationError("Set AUDIT_TABLE to the name of the audit table (partition key 'item', sort key "
                                 "'sequence', both strings).")
    return {"table": table, "queue": os.environ.get("VERIFICATION_QUEUE_URL"),
            "sender": os.environ.get("SENDER_EMAIL"),
            "email": os.environ.get("EMAIL_ATTRIBUTE", "email"), "who": os.environ.get("WHO_ATTRIBUTE", "updated_by")}


def process_record(record: dict, settings: dict) -> dict:
    """Audit one stream record and carry out its effects, once per eventID; returns the entry (with ``duplicate``
    True when an earlier delivery had already written it)."""
    entry = audit_entry(record, settings)
    key = {"item": {"S": entry["item"]}, "sequence": {"S": entry["sequence"]}}
    try:
        dynamodb.put_item(TableName=settings["table"], Item=to_attributes(entry),
                          ConditionExpression="attribute_not_exists(event_id) OR event_id <> :id",
                          ExpressionAttributeValues={":id": {"S": entry["event_id"]}})
        entry["duplicate"], done = False, set()
    except dynamodb.exceptions.ConditionalCheckFailedException:  # delivered before: finish what is not done
        stored = dynamodb.get_item(TableName=settings["table"], Key=key, ConsistentRead=True)["Item"]
        entry["effects"] = [e["S"] for e in stored.get("effects", {}).get("L", [])]
        entry["duplicate"], done = True, {e for e in entry["effects"] if f"sent_{e}" in stored}
    for effect in entry["effects"]:
        if effect not in done:
            EFFECTS[effect](entry, settings)
            _mark_done(settings["table"], key, effect)
    logger.info("AUDIT %s %s #%s by %s: %s%s%s", entry["event"], entry["item"], entry["sequence"], entry["who"],
                "unknown" if entry["changed"] is None else ", ".join(entry["changed"]) or "-",
                f" (no {' or '.join(entry['unavailable'])} in the record)" if entry["unavailable"] else "",
                " [duplicate delivery]" if entry["duplicate"] else "")
    return entry


def audit_entry(record: dict, settings: dict) -> dict:
    """The audit entry for one record: item, sequence, event_id, event, at, who, view, changed (None when the record
    cannot tell), unavailable (images the event needs but the record lacks), old, new, flag, effects."""
    if not isinstance(record, dict):
        raise BadRecord(f"a stream record is a JSON object, not {type(record).__name__}")
    name = record.get("eventName")
    change = record.get("dynamodb") or {}
    if name not in EVENT_NAMES or "Keys" not in change or not change.get("SequenceNumber") or \
            not record.get("eventID"):
        raise BadRecord(f"not a DynamoDB stream record (eventName {name!r}, eventID {record.get('eventID')!r}, "
                        f"dynamodb keys {sorted(change)}): it needs eventID, eventName, dynamodb.Keys and "
                        "dynamodb.SequenceNumber")
    unavailable = [image for image in IMAGES[name] if image not in change]
    old, new = plain(change.get("OldImage", {})), plain(change.get("NewImage", {}))
    entry = {
        "item": item_id(record),
        "sequence": change["SequenceNumber"].zfill(SEQUENCE_WIDTH),
        "event_id": record["eventID"],
        "event": name,
        "at": _iso(change.get("ApproximateCreationDateTime")),
        "who": _who(record, old, new, settings["who"]),
        "view": change.get("StreamViewType", ""),
        "changed": None if unavailable else differing(old, new),
        "unavailable": unavailable,
        "old": old if "OldImage" in change else None,
        "new": new if "NewImage" in change else None,
    }
    email = settings["email"]
    if name == "MODIFY" and not unavailable and email in new and old.get(email) != new.get(email):
        entry["flag"] = "email_change"
    entry["effects"] = planned_effects(entry, settings)
    return entry


def planned_effects(entry: dict, settings: dict) -> list:
    """What to do beyond the audit entry, given the change and the channels configured."""
    effects = []
    if entry["event"] == "INSERT" and entry["new"] and entry["new"].get(settings["email"]) and settings["sender"]:
        effects.append("welcome_email")
    if entry.get("flag") == "email_change":
        if settings["sender"]:
            effects.append("verification_email")
        if settings["queue"]:
            effects.append("verification_message")
    return effects


def send_welcome_email(entry: dict, settings: dict) -> None:
    _email(settings, entry["new"][settings["email"]], "Welcome!",
           f"Welcome aboard. Your account {entry['item']} is ready.\n\n(reference {entry['event_id']})")


def send_verification_email(entry: dict, settings: dict) -> None:
    _email(settings, entry["new"][settings["email"]], "Please verify your new email address",
           f"The email address of {entry['item']} changed from {entry['old'].get(settings['email'])} to this one. "
           f"Reply to confirm it.\n\n(reference {entry['event_id']})")


def send_verification_message(entry: dict, settings: dict) -> None:
    body = json.dumps({"type": "email_change", "item": entry["item"], "sequence": entry["sequence"],
                       "event_id": entry["event_id"], "old_email": str(entry["old"].get(settings["email"])),
                       "new_email": str(entry["new"][settings["email"]])})
    fifo = {"MessageGroupId": entry["item"][:128], "MessageDeduplicationId": entry["event_id"][:128]} \
        if settings["queue"].endswith(".fifo") else {}
    sqs.send_message(QueueUrl=settings["queue"], MessageBody=body, **fifo)


EFFECTS = {"welcome_email": send_welcome_email, "verification_email": send_verification_email,
           "verification_message": send_verification_message}


def _email(settings, to, subject, text) -> None:
    ses.send_email(Source=settings["sender"], Destination={"ToAddresses": [str(to)]},
                   Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}})


def _mark_done(table: str, key: dict, effect: str) -> None:
    try:
        dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET #sent = :at",
                             ConditionExpression="attribute_not_exists(#sent)",
                             ExpressionAttributeNames={"#sent": f"sent_{effect}"},
                             ExpressionAttributeValues={":at": {"S": _iso(datetime.now(timezone.utc).timestamp())}})
    except dynamodb.exceptions.ConditionalCheckFailedException:
        logger.warning("%s of %s was also done by another invocation at the same time", effect, key["item"]["S"])


def sequence_number(record) -> str | None:
    """The record's sequence number (what batchItemFailures reports), or None for a malformed record."""
    change = record.get("dynamodb") if isinstance(record, dict) else None
    sequence = change.get("SequenceNumber") if isinstance(change, dict) else None
    return sequence if isinstance(sequence, str) and sequence else None


def item_id(record) -> str:
    """``<table>#<key>=<value>[,...]``: which item a record is about (the table comes from eventSourceARN)."""
    if not isinstance(record, dict):
        return "?"
    table = str(record.get("eventSourceARN", "")).split(":table/")[-1].split("/")[0] or "?"
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return table + "#" + ",".join(f"{k}={_key_text(keys[k])}" for k in sorted(keys))


def _key_text(av) -> str:
    (value,) = av.values() if isinstance(av, dict) and len(av) == 1 else (av,)
    return str(value)  # S, N and B (base64 text) as they appear in the record


def plain(image: dict) -> dict:
    """DynamoDB JSON (``{"S": "x"}``, ``{"N": "1.5"}``...) as Python values, the way boto3 reads them: numbers as
    Decimal, sets as sets, binary as bytes, NULL as None."""
    return {name: _value(av) for name, av in image.items()}


def _value(av: dict):
    (kind, value), = av.items()
    if kind == "N":
        return Decimal(value)
    if kind == "B":
        return base64.b64decode(value)  # base64 text in the event
    if kind == "NS":
        return {Decimal(v) for v in value}
    if kind == "SS":
        return set(value)
    if kind == "BS":
        return {base64.b64decode(v) for v in value}
    if kind == "M":
        return plain(value)
    if kind == "L":
        return [_value(v) for v in value]
    if kind == "NULL":
        return None
    return value  # S, BOOL


def _who(record, old, new, attribute) -> str:
    identity = record.get("userIdentity") or {}
    if identity.get("principalId"):
        return identity["principalId"]  # dynamodb.amazonaws.com for a TTL deletion
    return str(new.get(attribute) or old.get(attribute) or "unknown")


def differing(old: dict, new: dict) -> list:
    """Names added, removed or given another value (an attribute added with a NULL value counts too)."""
    return sorted(k for k in set(old) | set(new) if k not in old or k not in new or old[k] != new[k])


def _iso(epoch) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(float(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_attributes(entry: dict) -> dict:
    """The entry as a DynamoDB item: images as maps with their own types, so nothing is rounded or retyped."""
    item = {k: {"S": entry[k]} for k in ("item", "sequence", "event_id", "event", "at", "who")}
    if entry["view"]:
        item["view"] = {"S": entry["view"]}
    if entry["changed"] is not None:
        item["changed"] = {"L": [{"S": name} for name in entry["changed"]]}
    if entry["unavailable"]:
        item["unavailable"] = {"L": [{"S": name} for name in entry["unavailable"]]}
    for image in ("old", "new"):
        if entry[image] is not None:
            item[image] = _serialize(entry[image])
    if "flag" in entry:
        item["flag"] = {"S": entry["flag"]}
    if entry["effects"]:
        item["effects"] = {"L": [{"S": name} for name in entry["effects"]]}
    return item
