"""Lab 2 checks: the core of the DynamoDB Streams audit function (notebook: solutions/lab02_stream_audit.ipynb).

Task 1 ``changed_attributes(record)``, task 2 ``new_email_to_verify(record)``, task 3
``write_audit_entry(record, table_name)``. Every record a check uses comes from a real stream: a scratch table with
the view type under test, written to, read back with GetRecords and shaped the way Lambda delivers it. Hidden checks
use REMOVE records, KEYS_ONLY, NEW_IMAGE and OLD_IMAGE streams, every attribute type (sets, maps, lists, binary,
null, numbers with more digits than a float holds), seeded random changes, and a duplicate delivery through the
course's event source mapping with the notebook's ``handler`` running as a Lambda function.
"""
from __future__ import annotations

import copy
import json
import secrets
import string
from decimal import Decimal

from .core import Lab, NotDone, Plain
from .helpers import captured_output

LAB = Lab("lab02", "Lab 2: the stream audit function", "lab02_stream_audit",
          hidden_summary="REMOVE records, KEYS_ONLY / NEW_IMAGE / OLD_IMAGE streams, sets, maps, lists, binary, "
                         "null and high-precision numbers, random changes, and a duplicate delivery through an event "
                         "source mapping with your handler running as a Lambda function.")
LAB.task("task1", "Task 1: what changed", ["changed_attributes"])
LAB.task("task2", "Task 2: the email-change rule", ["new_email_to_verify"])
LAB.task("task3", "Task 3: the idempotent write", ["write_audit_entry"])

NEEDS = {"INSERT": ("NewImage",), "MODIFY": ("OldImage", "NewImage"), "REMOVE": ("OldImage",)}
EMAIL = "email"


# --- real records from real streams ------------------------------------------------------------------------------

def scratch_table(ctx, label: str, view: str | None = None, key: str = "id") -> str:
    """A new table (with a stream of ``view`` if given), deleted after the check; returns its name."""
    from ..audit_pipeline import create_table

    name = f"{ctx.lab.id}-{label}-{secrets.token_hex(3)}"
    create_table(name, key=(key,), view=view)
    ctx.on_cleanup(lambda: _delete_table(name))
    return name


def _delete_table(name: str) -> None:
    from .. import aws

    aws.client("dynamodb").delete_table(TableName=name)


def stream_records(ctx, view: str, writes) -> list[dict]:
    """Apply ``writes(table)`` to a scratch table with a ``view`` stream; return its records as Lambda delivers
    them (DynamoDB JSON, binary as base64 text, eventSourceARN added)."""
    from .. import aws
    from ..stream_views import read_stream
    from ..triggers.esm.records import dynamodb_record

    name = scratch_table(ctx, "users", view)
    writes(aws.resource("dynamodb").Table(name))
    arn = aws.client("dynamodb").describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return [dynamodb_record(raw, "shardId-1", arn, arn.split(":")[3]).event for raw in read_stream(name)]


def plain(image: dict) -> dict:
    """DynamoDB JSON as Python values, by the course's audit function (``stream_audit.plain``)."""
    from .. import aws
    from ..runtime import temporary_environ

    region = aws.backend().region
    with temporary_environ({"AWS_DEFAULT_REGION": region}):  # the handler makes its boto3 clients at import time
        from ..handlers.stream_audit import plain as to_python
    return to_python(image)


def expected_changed(record: dict):
    """The answer to task 1: sorted names that differ between the images, None when an image the event needs is
    not in the record."""
    body = record["dynamodb"]
    if any(part not in body for part in NEEDS[record["eventName"]]):
        return None
    old, new = plain(body.get("OldImage", {})), plain(body.get("NewImage", {}))
    return sorted(k for k in set(old) | set(new) if k not in old or k not in new or old[k] != new[k])


def expected_email(record: dict):
    """The answer to task 2."""
    body = record["dynamodb"]
    if record["eventName"] != "MODIFY" or "OldImage" not in body or "NewImage" not in body:
        return None
    old, new = plain(body["OldImage"]), plain(body["NewImage"])
    return new[EMAIL] if EMAIL in new and old.get(EMAIL) != new[EMAIL] else None


def describe(record: dict) -> str:
    """``<MODIFY record of id=u1, NEW_IMAGE stream>``: how a report names a record."""
    keys = ", ".join(f"{k}={next(iter(v.values()))}" for k, v in sorted(record["dynamodb"]["Keys"].items()))
    return f"<{record['eventName']} record of {keys}, {record['dynamodb'].get('StreamViewType')} stream>"


def user_story(table) -> None:
    """Sign-up, email change, rename, deletion."""
    table.put_item(Item={"id": "u1", "email": "ann@example.com", "name": "Ann"})
    table.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e",
                      ExpressionAttributeValues={":e": "ann@new.example"})
    table.update_item(Key={"id": "u1"}, UpdateExpression="SET #n = :n", ExpressionAttributeNames={"#n": "name"},
                      ExpressionAttributeValues={":n": "Anna"})
    table.delete_item(Key={"id": "u1"})


def check_changed(ctx, record: dict, hint: str | None = None) -> None:
    call = f"changed_attributes({describe(record)})"
    want = expected_changed(record)
    got = ctx.call_as(call, "changed_attributes", copy.deepcopy(record))  # a copy: what it does to it stays there
    if want is None and got is not None:
        ctx.fail("This record cannot tell what changed: an image the event needs is not in it.", call=call,
                 expected=None, actual=got, hint=hint or "A KEYS_ONLY stream has no images; NEW_IMAGE has no "
                 "OldImage; OLD_IMAGE has no NewImage. Return None when the image you need is missing.")
    ctx.expect_equal(got, want, call=call, message="The changed attributes are not right.",
                     hint=hint or "Compare to_python(OldImage) with to_python(NewImage) attribute by attribute, over "
                                  "the names in either image, and return the names that differ, sorted.")


def check_email(ctx, record: dict, hint: str) -> None:
    call = f"new_email_to_verify({describe(record)})"
    want = expected_email(record)
    ctx.expect_equal(ctx.call_as(call, "new_email_to_verify", copy.deepcopy(record)), want, call=call,
                     hint=hint)


def random_address(rng) -> str:
    user = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
    return f"{user}{rng.randint(1, 999)}@{rng.choice(['example.com', 'example.org', 'mail.example'])}"


# --- task 1: changed_attributes ----------------------------------------------------------------------------------

@LAB.check("task1", points=2)
def modify_lists_what_changed(ctx):
    """a MODIFY that renames a user lists ["name"]"""
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[2]
    check_changed(ctx, record)


@LAB.check("task1", points=1)
def insert_lists_every_attribute(ctx):
    """an INSERT lists every attribute of the new item"""
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[0]
    check_changed(ctx, record, hint="An INSERT has no old image: every attribute of the new image is new.")


@LAB.check("task1", hidden=True)
def remove_lists_every_old_attribute(ctx):
    """a REMOVE lists every attribute of the deleted item"""
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[3]
    check_changed(ctx, record, hint="A REMOVE has no new image: every attribute of the old image is gone.")


@LAB.check("task1", hidden=True)
def missing_images_give_none(ctx):
    """KEYS_ONLY, NEW_IMAGE and OLD_IMAGE records: None where they cannot tell, a list where they can"""
    for view in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"):
        for record in stream_records(ctx, view, user_story):
            check_changed(ctx, record)


@LAB.check("task1", hidden=True)
def every_attribute_type(ctx):
    """sets in another order, maps, lists, binary, null, booleans and numbers beyond a float's precision"""
    def writes(table):
        from .. import aws

        client = aws.client("dynamodb")
        client.put_item(TableName=table.name, Item={
            "id": {"S": "t1"}, "tags": {"SS": ["a", "b", "c"]}, "scores": {"NS": ["1.5", "2"]},
            "n": {"N": "1.00000000000000001"}, "raw": {"B": b"\x00\x01"}, "note": {"NULL": True},
            "ok": {"BOOL": True}, "profile": {"M": {"city": {"S": "Oslo"}, "zip": {"N": "150"}}},
            "history": {"L": [{"S": "x"}, {"N": "1"}]}})
        client.put_item(TableName=table.name, Item={  # the same sets in another order; the rest changed
            "id": {"S": "t1"}, "tags": {"SS": ["c", "a", "b"]}, "scores": {"NS": ["2", "1.5"]},
            "n": {"N": "1.00000000000000002"}, "raw": {"B": b"\x00\x02"}, "note": {"S": "set"},
            "ok": {"BOOL": True}, "profile": {"M": {"city": {"S": "Oslo"}, "zip": {"N": "151"}}},
            "history": {"L": [{"S": "x"}, {"N": "1"}, {"NULL": True}]}})
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", writes)[1]
    check_changed(ctx, record, hint="Compare Python values from to_python, not the DynamoDB JSON: a set in another "
                                    "order is the same set, and float() makes 1.00000000000000001 equal "
                                    "1.00000000000000002 (to_python keeps numbers as Decimal).")


@LAB.check("task1", hidden=True)
def random_changes(ctx):
    """random attributes added, changed and removed"""
    names = ["plan", "city", "age", "score", "nick", "tags"]
    values = [lambda: ctx.rng.choice(["a", "b", "c"]), lambda: Decimal(ctx.rng.randint(0, 3)),
              lambda: {ctx.rng.choice("xyz")}, lambda: None, lambda: [ctx.rng.randint(0, 1)]]

    def writes(table):
        for _ in range(4):
            item = {"id": "r1"}
            item.update({n: ctx.rng.choice(values)() for n in names if ctx.rng.random() < 0.6})
            table.put_item(Item=item)
    for record in stream_records(ctx, "NEW_AND_OLD_IMAGES", writes):
        check_changed(ctx, record)


# --- task 2: new_email_to_verify ---------------------------------------------------------------------------------

@LAB.check("task2", points=1)
def an_email_change_is_verified(ctx):
    """the MODIFY that changes Ann's email address returns the new address"""
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[1]
    check_email(ctx, record, "Compare the old and the new email (to_python of each image) and return the new one.")


@LAB.check("task2", points=1)
def a_rename_is_not(ctx):
    """a MODIFY that changes only the name returns None"""
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[2]
    check_email(ctx, record, "Only a change of the email address needs a verification: return None otherwise.")


@LAB.check("task2", hidden=True)
def only_modify_records(ctx):
    """an INSERT (a new user) and a REMOVE return None"""
    records = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)
    for record in (records[0], records[3]):
        check_email(ctx, record, "A new user gets a welcome, not a verification; a deleted one gets nothing. "
                                 "Check record['eventName'] == 'MODIFY' first.")


@LAB.check("task2", hidden=True)
def no_guessing_without_both_images(ctx):
    """NEW_IMAGE, OLD_IMAGE and KEYS_ONLY streams cannot tell an email change: None, never a guess"""
    for view in ("NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"):
        check_email(ctx, stream_records(ctx, view, user_story)[1],
                    "Without both images you cannot know the email changed: a NEW_IMAGE stream would otherwise ask "
                    "every user to verify an address on every change. Return None when an image is missing.")


@LAB.check("task2", hidden=True)
def added_removed_and_random_addresses(ctx):
    """an address added, an address removed, and random addresses"""
    first, second = random_address(ctx.rng), random_address(ctx.rng)

    def writes(table):
        table.put_item(Item={"id": "v1", "name": "Vi"})
        table.put_item(Item={"id": "v1", "name": "Vi", "email": first})  # added: verify it
        table.put_item(Item={"id": "v1", "name": "Vi", "email": second})  # changed
        table.put_item(Item={"id": "v1", "name": "Vi"})  # removed: nothing to verify
    for record in stream_records(ctx, "NEW_AND_OLD_IMAGES", writes)[1:]:
        check_email(ctx, record, "Verify the new address whenever it differs from the old one, also when there "
                                 "was none before; when the new image has no email, there is nothing to verify.")


# --- task 3: write_audit_entry -----------------------------------------------------------------------------------

def audit_table(ctx) -> str:
    return scratch_table(ctx, "audit", key="event_id")


def call_write(ctx, record: dict, table: str):
    from .. import aws
    from ..runtime import temporary_environ

    region = aws.backend().region
    call = f"write_audit_entry({describe(record)}, {table!r})"
    with temporary_environ({"AWS_REGION": region, "AWS_DEFAULT_REGION": region}), captured_output():
        return ctx.call_as(call, "write_audit_entry", copy.deepcopy(record), table), call


def stored(table: str) -> list[dict]:
    from .. import aws

    return aws.resource("dynamodb").Table(table).scan()["Items"]


def expected_entry(record: dict) -> dict:
    entry = {"event_id": record["eventID"], "event": record["eventName"],
             "sequence": record["dynamodb"]["SequenceNumber"],
             "item": ", ".join(f"{k}={next(iter(v.values()))}" for k, v in sorted(record["dynamodb"]["Keys"].items()))}
    changed = expected_changed(record)
    if changed is not None:
        entry["changed"] = changed
    return entry


def expect_entries(ctx, table: str, records: list, call: str) -> None:
    want = sorted((expected_entry(r) for r in records), key=lambda e: e["sequence"])
    got = sorted(({k: v for k, v in e.items() if k != "marker"} for e in stored(table)),
                 key=lambda e: str(e.get("sequence")))
    ctx.expect_equal(got, want, call=call, message="The audit table does not hold one right entry per record.",
                     hint="put_item(TableName=table_name, Item={event_id, item, event, sequence, changed}) with "
                          "ConditionExpression='attribute_not_exists(event_id)'; leave out 'changed' when "
                          "changed_attributes returns None.")


@LAB.check("task3", points=2)
def the_first_delivery_writes_the_entry(ctx):
    """the first delivery of a record writes its entry and returns True"""
    table = audit_table(ctx)
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[1]
    result, call = call_write(ctx, record, table)
    ctx.expect_equal(result, True, call=call, hint="Return True after the conditional put_item succeeds.")
    expect_entries(ctx, table, [record], call)


@LAB.check("task3", points=2)
def a_second_delivery_changes_nothing(ctx):
    """the same record again returns False and leaves the first entry as it was"""
    from .. import aws

    table = audit_table(ctx)
    record = stream_records(ctx, "NEW_AND_OLD_IMAGES", user_story)[1]
    call_write(ctx, record, table)
    aws.client("dynamodb").update_item(TableName=table, Key={"event_id": {"S": record["eventID"]}},
                                       UpdateExpression="SET marker = :m", ExpressionAttributeValues={":m": {"S": "1"}})
    result, call = call_write(ctx, record, table)
    ctx.expect_equal(result, False, call=call + " (a second time)",
                     hint="Catch the ConditionalCheckFailedException of the conditional put and return False.")
    (entry,) = stored(table) or [{}]
    if entry.get("marker") != "1":
        ctx.fail("The second delivery replaced the first entry.", call=call + " (a second time)",
                 hint="Make the put conditional: ConditionExpression='attribute_not_exists(event_id)'. Without it, "
                      "DynamoDB overwrites the item.")


@LAB.check("task3", hidden=True)
def every_record_gets_its_own_entry(ctx):
    """four changes to one item are four entries (keyed by eventID, not by item); KEYS_ONLY ones have no 'changed'"""
    for view in ("NEW_AND_OLD_IMAGES", "KEYS_ONLY"):
        table = audit_table(ctx)
        records = stream_records(ctx, view, user_story)
        for record in records:
            result, call = call_write(ctx, record, table)
            ctx.expect_equal(result, True, call=call, hint="Each record has its own eventID: each is a first "
                                                           "delivery.")
        expect_entries(ctx, table, records, f"write_audit_entry(...) for 4 records of a {view} stream")


@LAB.check("task3", hidden=True, timeout=90)
def a_duplicate_delivery_sends_one_verification(ctx):
    """your handler through an event source mapping, every batch delivered twice: one entry per change, one
    verification message"""
    from .. import aws
    from ..audit_pipeline import fresh_queue, read_queue
    from ..runtime import LambdaConfigError, LambdaFunction
    from ..triggers import connect_dynamodb_stream

    users, table = scratch_table(ctx, "users", "NEW_AND_OLD_IMAGES"), audit_table(ctx)
    queue = fresh_queue(f"{ctx.lab.id}-verify-{secrets.token_hex(3)}")
    ctx.on_cleanup(lambda: aws.client("sqs").delete_queue(QueueUrl=queue))
    try:
        function = LambdaFunction(f"{ctx.lab.id}-audit-{secrets.token_hex(3)}", ctx.get("handler"), timeout_s=10,
                                  environment={"AUDIT_TABLE": table, "VERIFICATION_QUEUE_URL": queue})
    except LambdaConfigError as exc:
        ctx.fail(f"The Lambda runtime cannot run `handler`: {exc}",
                 hint="A boto3 client made at the top of a notebook cell cannot be copied into the function's "
                      "execution environment: make it inside the function that uses it, e.g. "
                      "`boto3.client(\"dynamodb\").put_item(...)` in write_audit_entry.")
    ctx.on_cleanup(function.shutdown)
    new_address = random_address(ctx.rng)
    items = aws.resource("dynamodb").Table(users)
    items.put_item(Item={"id": "d1", "email": "dee@example.com"})
    items.put_item(Item={"id": "d1", "email": new_address})
    items.put_item(Item={"id": "d2", "email": "other@example.com"})
    result = connect_dynamodb_stream(users, function, function_response_types=["ReportBatchItemFailures"],
                                     maximum_retry_attempts=0).drain()
    batch = result.batches[0] if result.batches else None
    if batch is not None and "NotImplementedError" in (batch.invocation.logs if batch.invocation else ""):
        raise NotDone("A function the handler calls is not written yet: it raised NotImplementedError in Lambda. "
                      "Finish tasks 1 to 3, run their cells, then run this check again.")
    if batch is None or not batch.ok:
        ctx.fail(f"The handler failed as a Lambda function: {batch.detail if batch else 'no batch ran'}",
                 hint="Run the handler cell, then task 3's check; everything the handler uses must be defined in "
                      "the notebook.")
    again = function.invoke({"Records": [r.event for r in batch.records]})  # what Lambda does after a timeout
    if not again.ok:
        ctx.fail(f"The second delivery failed: {(again.error or {}).get('errorMessage')}",
                 hint="A duplicate must be recognised (write_audit_entry returns False), not raise.")
    records = [r.event for r in batch.records]
    expect_entries(ctx, table, records, "handler(<the same batch, delivered twice>, context)")
    messages = read_queue(queue)
    if [m.get("new_email") for m in messages] != [new_address]:
        ctx.fail("Exactly one verification message should be sent for the one email change.",
                 expected=Plain(f"1 message for {new_address}"),
                 actual=Plain(f"{len(messages)} message(s): {json.dumps(messages)[:200]}"),
                 hint="The handler sends only when write_audit_entry returns True, so write_audit_entry must return "
                      "False for a record it has already written.")

