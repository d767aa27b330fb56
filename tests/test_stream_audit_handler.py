"""The DynamoDB Streams audit function (hand-written, and the Powertools version where marked), run by the course's
event source mapping against moto: one audit entry per change in order per item, a welcome email, an email change
verified once, every view type audited as far as it allows, exact numbers and types, duplicates and retries after a
timeout harmless, failures reported per record."""
import hashlib
import json
import uuid
from decimal import Decimal

import pytest

from lambdalab import audit_pipeline, aws, mail

HANDLERS = {"hand-written": audit_pipeline.HANDLER, "powertools": audit_pipeline.POWERTOOLS_HANDLER}
BOTH = pytest.mark.parametrize("handler", list(HANDLERS.values()), ids=list(HANDLERS))


@pytest.fixture
def build(backend):
    """build(view=..., handler=..., **settings) -> a fresh audit pipeline, its function shut down after the test."""
    made = []

    def make(view="NEW_AND_OLD_IMAGES", **kwargs):
        pipe = audit_pipeline.build(view, **kwargs)
        made.append(pipe)
        return pipe

    yield make
    for pipe in made:
        pipe.function.shutdown()


def user_story(users):
    """Two sign-ups, an email change, a rename, a deletion."""
    users.put_item(Item={"id": "u1", "email": "ann@example.com", "name": "Ann", "updated_by": "alice"})
    users.put_item(Item={"id": "u2", "email": "bob@example.com", "updated_by": "alice"})
    users.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e, updated_by = :w",
                      ExpressionAttributeValues={":e": "ann@new.example", ":w": "bob"})
    users.update_item(Key={"id": "u1"}, UpdateExpression="SET #n = :n", ExpressionAttributeNames={"#n": "name"},
                      ExpressionAttributeValues={":n": "Anna"})
    users.delete_item(Key={"id": "u2"})


def summary(entries):
    return [(e["item"], e["event"], e.get("changed"), e.get("unavailable"), e.get("flag"), e.get("effects"))
            for e in entries]


@BOTH
def test_every_change_is_audited_in_order_a_new_user_is_welcomed_and_an_email_change_verified(build, handler):
    pipe = build(handler=handler)
    user_story(pipe.users)
    result = pipe.drain()
    assert result.ok and result.processed == 5

    u1 = pipe.entries("users#id=u1")
    assert [e["event"] for e in u1] == ["INSERT", "MODIFY", "MODIFY"]
    assert [e["sequence"] for e in u1] == sorted(e["sequence"] for e in u1) and len(u1[0]["sequence"]) == 40
    insert, email_change, rename = u1
    assert insert["who"] == "alice" and "old" not in insert and insert["new"]["name"] == "Ann"
    assert insert["effects"] == ["welcome_email"]
    if handler == audit_pipeline.HANDLER:  # effects marked done one by one; Powertools keeps its own records
        assert "sent_welcome_email" in insert
    assert email_change["flag"] == "email_change" and email_change["who"] == "bob"
    assert email_change["changed"] == ["email", "updated_by"]
    assert email_change["old"]["email"] == "ann@example.com" and email_change["new"]["email"] == "ann@new.example"
    assert email_change["effects"] == ["verification_email", "verification_message"]
    assert "flag" not in rename and rename["changed"] == ["name"] and "effects" not in rename
    removed = pipe.entries("users#id=u2")[-1]
    assert removed["event"] == "REMOVE" and "new" not in removed
    assert removed["changed"] == ["email", "id", "updated_by"]
    assert all(e["event_id"] for e in pipe.entries()) and len({e["event_id"] for e in pipe.entries()}) == 5

    assert pipe.messages() == [{
        "type": "email_change", "item": "users#id=u1", "sequence": email_change["sequence"],
        "event_id": email_change["event_id"], "old_email": "ann@example.com", "new_email": "ann@new.example"}]
    assert [(m["to"], m["subject"]) for m in mail.sent()] == [
        ("ann@example.com", "Welcome!"), ("bob@example.com", "Welcome!"),
        ("ann@new.example", "Please verify your new email address")]


@BOTH
def test_a_duplicate_delivery_leaves_one_entry_and_sends_nothing_twice(build, handler):
    pipe = build(handler=handler)
    pipe.users.put_item(Item={"id": "u1", "email": "a@example.com"})
    pipe.users.put_item(Item={"id": "u1", "email": "b@example.com"})
    pipe.drain()
    first = pipe.entries()
    for _ in range(2):  # the same batch again, twice: what Lambda does after a timeout or a retry
        again = pipe.redeliver()
        assert again.ok and again.response == {"batchItemFailures": []}
    assert "duplicate" in again.logs
    assert pipe.entries() == first and len(first) == 2
    assert len(pipe.messages()) == 1
    assert [m["subject"] for m in mail.sent()] == ["Welcome!", "Please verify your new email address"]
    if handler == audit_pipeline.POWERTOOLS_HANDLER:  # one idempotency record per eventID, completed
        records = aws.resource("dynamodb").Table(pipe.idempotency_table).scan()["Items"]
        assert sorted(r["status"] for r in records) == ["COMPLETED", "COMPLETED"]
        keys = {hashlib.md5(json.dumps(e["event_id"]).encode()).hexdigest() for e in first}  # keyed by eventID
        assert {r["id"].rsplit("#", 1)[1] for r in records} == keys


@BOTH
def test_a_retry_after_a_timeout_that_struck_after_the_messages_went_out_sends_them_once(build, handler, tmp_path):
    wrapper = "audit_handlers." + ("powertools_then_time_out" if "powertools" in handler else "audit_then_time_out")
    pipe = build(handler=wrapper, timeout_s=4, environment={"HANG_MARKER": str(tmp_path / "hung")})
    pipe.users.put_item(Item={"id": "u1", "email": "a@example.com"})
    pipe.users.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e",
                           ExpressionAttributeValues={":e": "b@example.com"})
    result = pipe.drain()
    assert [b.outcome for b in result.batches] == ["timeout", "ok"]
    assert result.batches[1].records == result.batches[0].records  # Lambda retried the same batch
    assert len(pipe.entries()) == 2 and len(pipe.messages()) == 1
    assert [m["to"] for m in mail.sent()] == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_each_view_type_is_audited_as_far_as_its_records_allow(build, view):
    pipe = build(view)
    user_story(pipe.users)
    assert pipe.drain().ok
    old, new = "OldImage", "NewImage"
    both = view == "NEW_AND_OLD_IMAGES"
    has_new, has_old = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"), view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    insert_changed = ["email", "id", "name", "updated_by"] if has_new else None
    remove_changed = ["email", "id", "updated_by"] if has_old else None
    expected = [
        ("users#id=u1", "INSERT", insert_changed, None if has_new else [new], None,
         ["welcome_email"] if has_new else None),
        ("users#id=u1", "MODIFY", ["email", "updated_by"] if both else None,
         None if both else [image for image, there in ((old, has_old), (new, has_new)) if not there],
         "email_change" if both else None, ["verification_email", "verification_message"] if both else None),
        ("users#id=u1", "MODIFY", ["name"] if both else None,
         None if both else [image for image, there in ((old, has_old), (new, has_new)) if not there], None, None),
        ("users#id=u2", "INSERT", ["email", "id", "updated_by"] if has_new else None, None if has_new else [new],
         None, ["welcome_email"] if has_new else None),
        ("users#id=u2", "REMOVE", remove_changed, None if has_old else [old], None, None),
    ]
    assert summary(pipe.entries()) == expected
    for entry in pipe.entries():
        assert entry["view"] == view
    # a NEW_IMAGE stream cannot tell an email change from any other MODIFY: nothing is verified on a guess
    assert len(pipe.messages()) == (1 if both else 0)
    assert len(mail.sent()) == (3 if both else 2 if has_new else 0)


def test_numbers_keep_every_digit_and_every_type_is_stored_as_it_was(build):
    pipe = build()
    item = {"id": "t1", "n": Decimal("1.00000000000000001"), "big": Decimal("12345678901234567890123456789012345678"),
            "tags": {"a", "b"}, "scores": {Decimal("1.5"), Decimal("-2")}, "blobs": {b"\x00", b"\xff\xfe"},
            "raw": b"\x00\x01binary", "nothing": None, "flag": True, "list": [Decimal("1"), "two", [None]],
            "map": {"nested": {"deep": Decimal("0.1")}, "empty": ""}}
    pipe.users.put_item(Item=item)
    pipe.users.update_item(Key={"id": "t1"}, UpdateExpression="SET n = :n",
                           ExpressionAttributeValues={":n": Decimal("1.00000000000000002")})
    pipe.users.update_item(Key={"id": "t1"}, UpdateExpression="SET #m.nested.deep = :d",
                           ExpressionAttributeNames={"#m": "map"}, ExpressionAttributeValues={":d": Decimal("0.2")})
    assert pipe.drain().ok
    insert, number_change, map_change = pipe.entries()
    stored = dict(insert["new"])
    assert stored["raw"] == b"\x00\x01binary" and stored["blobs"] == {b"\x00", b"\xff\xfe"}
    stored["raw"], stored["blobs"] = bytes(stored["raw"]), {bytes(b) for b in stored["blobs"]}
    assert stored == item
    assert number_change["changed"] == ["n"] and number_change["new"]["n"] == Decimal("1.00000000000000002")
    assert map_change["changed"] == ["map"]


@BOTH
def test_a_malformed_record_is_reported_alone_and_its_neighbours_are_audited(build, handler):
    pipe = build(handler=handler)
    pipe.users.put_item(Item={"id": "u1"})
    pipe.users.put_item(Item={"id": "u2"})
    good = [record.event for record in pipe.mapping.source.read(pipe.mapping.source.shard_ids()[0])[0]]
    bad = {**good[0], "eventID": uuid.uuid4().hex, "eventName": "UPSERT",
           "dynamodb": {**good[0]["dynamodb"], "SequenceNumber": str(int(good[1]["dynamodb"]["SequenceNumber"]) + 5)}}
    invocation = pipe.function.invoke({"Records": [good[0], bad, good[1]]})
    assert invocation.response == {"batchItemFailures": [{"itemIdentifier": bad["dynamodb"]["SequenceNumber"]}]}
    assert [e["item"] for e in pipe.entries()] == ["users#id=u1", "users#id=u2"]


@BOTH
def test_a_record_without_a_sequence_number_fails_the_batch_after_its_neighbours_are_audited(build, handler):
    pipe = build(handler=handler)
    pipe.users.put_item(Item={"id": "u1"})
    (good,) = [r.event for r in pipe.mapping.source.read(pipe.mapping.source.shard_ids()[0])[0]]
    nameless = {**good, "eventID": "x1", "dynamodb": {k: v for k, v in good["dynamodb"].items()
                                                      if k != "SequenceNumber"}}
    invocation = pipe.function.invoke({"Records": [nameless, good]})
    assert invocation.error["errorType"] in ("BadRecord", "ValueError")
    assert "without dynamodb.SequenceNumber" in invocation.error["errorMessage"]  # never a null itemIdentifier
    assert [e["item"] for e in pipe.entries()] == ["users#id=u1"]


def test_a_change_that_cannot_be_audited_is_reported_and_its_item_waits(build):
    dlq = audit_pipeline.fresh_queue("audit-dlq")
    pipe = build(maximum_retry_attempts=1, on_failure=dlq)
    users = pipe.users
    users.put_item(Item={"id": "big", "blob": "a" * 300_000})  # fits; its audit entry fits too
    users.put_item(Item={"id": "big", "blob": "b" * 300_000})  # old + new image: over DynamoDB's 400 KB item limit
    users.put_item(Item={"id": "u3", "email": "c@example.com"})
    users.put_item(Item={"id": "big", "blob": "small"})  # must wait for the change before it
    result = pipe.drain()
    first, retry = result.batches
    seqs = [r.sequence_number for r in first.records]
    assert first.outcome == "partial" and first.failed == (seqs[1], seqs[3])  # the failure and its item's next
    assert retry.kind == "partial-retry" and retry.sequence_numbers == seqs[1:]
    assert [(e["item"], e["event"]) for e in pipe.entries()] == [("users#id=big", "INSERT"),
                                                                ("users#id=u3", "INSERT")]
    (message,) = audit_pipeline.read_queue(dlq)
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (seqs[1], seqs[3], 3)
    assert [m["to"] for m in mail.sent()] == ["c@example.com"]  # welcomed once, although retried


def test_a_ttl_deletion_is_attributed_to_the_dynamodb_service(build):
    pipe = build()
    arn = pipe.mapping.source.arn
    record = {"eventID": "1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
              "awsRegion": "us-east-1", "eventSourceARN": arn,
              "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
              "dynamodb": {"ApproximateCreationDateTime": 1700000000, "Keys": {"id": {"S": "old"}},
                           "OldImage": {"id": {"S": "old"}, "n": {"N": "12345678901234567890"}},
                           "SequenceNumber": "42", "SizeBytes": 20, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    invocation = pipe.function.invoke({"Records": [record]})
    assert invocation.response == {"batchItemFailures": []}
    (entry,) = pipe.entries()
    assert entry["who"] == "dynamodb.amazonaws.com" and entry["at"] == "2023-11-14T22:13:20Z"
    assert entry["old"]["n"] == 12345678901234567890  # numbers keep every digit


def test_without_an_audit_table_the_whole_batch_fails(build):
    pipe = build(maximum_retry_attempts=0)
    pipe.users.put_item(Item={"id": "u1"})
    pipe.function.update(environment={})
    (attempt,) = pipe.drain().batches
    assert attempt.outcome == "error" and "ConfigurationError: Set AUDIT_TABLE" in attempt.detail
    assert pipe.entries() == []


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_the_powertools_version_gives_the_same_results_through_the_same_mapping(build, view):
    outcomes = {}
    for name, handler in HANDLERS.items():
        aws.reset()
        pipe = build(view, handler=handler)
        user_story(pipe.users)
        pipe.users.put_item(Item={"id": "u3", "email": "c@example.com", "n": Decimal("1.00000000000000001"),
                                  "tags": {"x"}, "raw": b"\x00"})
        pipe.users.update_item(Key={"id": "u3"}, UpdateExpression="SET n = :n",
                               ExpressionAttributeValues={":n": Decimal("1.00000000000000002")})
        result = pipe.drain()
        assert result.ok, result.batches
        varies = ("event_id", "at")  # moto's eventIDs are random; the clock moved on
        entries = [{k: v for k, v in e.items() if not k.startswith("sent_") and k not in varies}
                   for e in pipe.entries()]
        messages = [{k: v for k, v in m.items() if k not in varies} for m in pipe.messages()]
        outcomes[name] = (entries, messages, [(m["to"], m["subject"]) for m in mail.sent()])
        pipe.function.shutdown()
    assert outcomes["powertools"] == outcomes["hand-written"]
    assert len(outcomes["hand-written"][0]) == 7


@BOTH
def test_a_fifo_verification_queue_gets_one_message_per_change_deduplicated_by_event_id(build, handler):
    pipe = build(handler=handler, queue=f"verify-{uuid.uuid4().hex[:6]}.fifo")
    user_story(pipe.users)
    result = pipe.drain()
    assert result.ok, result.batches  # a FIFO queue needs MessageGroupId: without it every email change fails
    (message,) = pipe.messages()
    assert message["new_email"] == "ann@new.example"
