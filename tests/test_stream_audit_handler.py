"""The DynamoDB Streams audit function, run by the course's event source mapping against moto: one audit entry per
change in order per item, email changes flagged and queued, retries harmless, failures reported per record."""
import json

import pytest

from lambdalab import aws
from lambdalab.runtime import LambdaFunction
from lambdalab.triggers import connect_dynamodb_stream

HANDLER = "lambdalab.handlers.stream_audit.handler"
RBIF = ["ReportBatchItemFailures"]


@pytest.fixture
def env(backend):
    """A users table with a stream, the audit table, the verification queue and the audit function."""
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="users", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.create_table(TableName="audit", KeySchema=[{"AttributeName": "item", "KeyType": "HASH"},
                                                   {"AttributeName": "sequence", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "item", "AttributeType": "S"},
                                           {"AttributeName": "sequence", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="verify-email")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="audit-dlq")["QueueUrl"]
    function = LambdaFunction("stream-audit", HANDLER, timeout_s=10,
                              environment={"AUDIT_TABLE": "audit", "VERIFICATION_QUEUE_URL": queue})
    users = aws.resource("dynamodb").Table("users")
    yield {"users": users, "function": function, "queue": queue, "dlq": dlq, "sqs": sqs}
    function.shutdown()


def entries(item=None):
    """The audit table, in order: per item, by sequence."""
    rows = aws.resource("dynamodb").Table("audit").scan()["Items"]
    rows.sort(key=lambda r: (r["item"], r["sequence"]))
    return [r for r in rows if item is None or r["item"] == item]


def messages(sqs, queue):
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
        "Messages", [])]


def test_every_change_is_audited_in_order_and_an_email_change_is_flagged(env):
    users = env["users"]
    users.put_item(Item={"id": "u1", "email": "ann@example.com", "name": "Ann", "updated_by": "alice"})
    users.put_item(Item={"id": "u2", "email": "bob@example.com", "updated_by": "alice"})
    users.update_item(Key={"id": "u1"}, UpdateExpression="SET email = :e, updated_by = :w",
                      ExpressionAttributeValues={":e": "ann@new.example", ":w": "bob"})
    users.update_item(Key={"id": "u1"}, UpdateExpression="SET #n = :n", ExpressionAttributeNames={"#n": "name"},
                      ExpressionAttributeValues={":n": "Anna"})
    users.delete_item(Key={"id": "u2"})
    result = connect_dynamodb_stream("users", env["function"], function_response_types=RBIF).drain()
    assert result.ok and result.processed == 5

    u1 = entries("users#id=u1")
    assert [e["event"] for e in u1] == ["INSERT", "MODIFY", "MODIFY"]
    assert [e["sequence"] for e in u1] == sorted(e["sequence"] for e in u1) and len(u1[0]["sequence"]) == 40
    insert, email_change, rename = u1
    assert insert["who"] == "alice" and "old" not in insert and json.loads(insert["new"])["name"] == "Ann"
    assert email_change["flag"] == "email_change" and email_change["who"] == "bob"
    assert email_change["changed"] == ["email", "updated_by"]
    assert json.loads(email_change["old"])["email"] == "ann@example.com"
    assert json.loads(email_change["new"])["email"] == "ann@new.example"
    assert "flag" not in rename and rename["changed"] == ["name"]
    removed = entries("users#id=u2")[-1]
    assert removed["event"] == "REMOVE" and "new" not in removed and removed["changed"] == ["email", "id",
                                                                                            "updated_by"]
    assert messages(env["sqs"], env["queue"]) == [{
        "type": "email_change", "item": "users#id=u1", "sequence": email_change["sequence"],
        "old_email": "ann@example.com", "new_email": "ann@new.example"}]


def test_records_processed_again_overwrite_their_own_entries(env):
    env["users"].put_item(Item={"id": "u1", "email": "a@example.com"})
    env["users"].put_item(Item={"id": "u1", "email": "b@example.com"})
    connect_dynamodb_stream("users", env["function"], function_response_types=RBIF).drain()
    first = entries()
    again = connect_dynamodb_stream("users", env["function"], function_response_types=RBIF).drain()
    assert again.processed == 2 and entries() == first  # the same two entries, not four


def test_a_change_that_cannot_be_audited_is_reported_and_its_item_waits(env):
    users = env["users"]
    users.put_item(Item={"id": "big", "blob": "a" * 300_000})  # fits; its audit entry fits too
    users.put_item(Item={"id": "big", "blob": "b" * 300_000})  # old + new image: over DynamoDB's 400 KB item limit
    users.put_item(Item={"id": "u3", "email": "c@example.com"})
    users.put_item(Item={"id": "big", "blob": "small"})  # must wait for the change before it
    result = connect_dynamodb_stream("users", env["function"], function_response_types=RBIF,
                                     maximum_retry_attempts=1, on_failure=env["dlq"]).drain()
    first, retry = result.batches
    seqs = [r.sequence_number for r in first.records]
    assert first.outcome == "partial" and first.failed == (seqs[1], seqs[3])  # the failure and its item's next
    assert retry.kind == "partial-retry" and retry.sequence_numbers == seqs[1:]
    assert [(e["item"], e["event"]) for e in entries()] == [("users#id=big", "INSERT"), ("users#id=u3", "INSERT")]
    (message,) = messages(env["sqs"], env["dlq"])
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (seqs[1], seqs[3], 3)


def test_a_ttl_deletion_is_attributed_to_the_dynamodb_service(env):
    arn = aws.client("dynamodb").describe_table(TableName="users")["Table"]["LatestStreamArn"]
    record = {"eventID": "1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
              "awsRegion": "us-east-1", "eventSourceARN": arn,
              "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
              "dynamodb": {"ApproximateCreationDateTime": 1700000000, "Keys": {"id": {"S": "old"}},
                           "OldImage": {"id": {"S": "old"}, "n": {"N": "12345678901234567890"}},
                           "SequenceNumber": "42", "SizeBytes": 20, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    invocation = env["function"].invoke({"Records": [record]})
    assert invocation.response == {"batchItemFailures": []}
    (entry,) = entries()
    assert entry["who"] == "dynamodb.amazonaws.com" and entry["at"] == "2023-11-14T22:13:20Z"
    assert json.loads(entry["old"])["n"] == 12345678901234567890  # numbers keep every digit


def test_without_an_audit_table_the_whole_batch_fails(env):
    env["users"].put_item(Item={"id": "u1"})
    env["function"].update(environment={})
    result = connect_dynamodb_stream("users", env["function"], function_response_types=RBIF,
                                     maximum_retry_attempts=0).drain()
    (attempt,) = result.batches
    assert attempt.outcome == "error" and "ConfigurationError: Set AUDIT_TABLE" in attempt.detail
    assert result.discarded[0].size == 1 and entries() == []
