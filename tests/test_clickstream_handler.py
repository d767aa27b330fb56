"""The Kinesis clickstream function, run by the course's event source mapping against moto: counts per page and
user, poison pills reported without counting anything twice, tumbling windows written once, S3 output."""
import json

import pytest

from lambdalab import aws, clock
from lambdalab.runtime import LambdaFunction
from lambdalab.triggers import connect_kinesis
from lambdalab.triggers.esm.records import iso

HANDLER = "lambdalab.handlers.clickstream.handler"
RBIF = ["ReportBatchItemFailures"]


@pytest.fixture
def env(backend):
    """A 2-shard click stream, the aggregates table, an output bucket, a DLQ, and a function factory."""
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    hash_keys = [s["HashKeyRange"]["StartingHashKey"] for s in kinesis.list_shards(StreamName="clicks")["Shards"]]
    aws.client("dynamodb").create_table(
        TableName="aggregates", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                           {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    aws.client("s3").create_bucket(Bucket="click-counts")
    dlq = aws.client("sqs").create_queue(QueueName="clicks-dlq")["QueueUrl"]
    functions = []

    def function(**environment):
        f = LambdaFunction(f"clickstream-{len(functions)}", HANDLER, timeout_s=10,
                           environment=environment or {"AGGREGATE_TABLE": "aggregates"})
        functions.append(f)
        return f

    def put(*clicks, shard=0):
        """Write clicks (dicts, or raw bytes for bad records) to one shard; returns their sequence numbers."""
        out = kinesis.put_records(StreamName="clicks", Records=[
            {"Data": c if isinstance(c, bytes) else json.dumps(c).encode(), "PartitionKey": "p",
             "ExplicitHashKey": hash_keys[shard]} for c in clicks])
        return [r["SequenceNumber"] for r in out["Records"]]

    yield {"function": function, "put": put, "dlq": dlq}
    for f in functions:
        f.shutdown()


def counts(sort_key="total"):
    items = aws.resource("dynamodb").Table("aggregates").scan()["Items"]
    return {i["pk"]: int(i["clicks"]) for i in items if i["sk"] == sort_key}


def click(user, page):
    return {"user": user, "page": page, "ts": clock.now()}


def test_clicks_are_counted_per_page_and_per_user_across_shards(env):
    # Each shard has its own pages and users: moto's server can lose an UpdateItem ADD when two invocations update
    # the same item at the same moment (DynamoDB itself applies ADD atomically).
    env["put"](*[click(f"u{i % 2}", ["/home", "/cart"][i % 2]) for i in range(15)], shard=0)
    env["put"](*[click(f"u{2 + i % 3}", "/products/1") for i in range(15)], shard=1)
    result = connect_kinesis("clicks", env["function"](), batch_size=4, function_response_types=RBIF).drain()
    assert all(b.ok for b in result.batches), [b for b in result.batches if not b.ok]
    assert result.ok and result.processed == 30 and result.peak_concurrency == 2
    assert counts() == {"page#/home": 8, "page#/cart": 7, "page#/products/1": 15,
                        "user#u0": 8, "user#u1": 7, "user#u2": 5, "user#u3": 5, "user#u4": 5}


def test_a_poison_pill_is_reported_and_never_makes_a_click_count_twice(env):
    seqs = env["put"](*[click("u1", "/a")] * 3, b"{not json", *[click("u2", "/b")] * 2)
    mapping = connect_kinesis("clicks", env["function"](), function_response_types=RBIF)
    blocked = mapping.drain(block_after=3)  # default settings: retried until the records expire
    assert [(b.range, b.outcome, b.failed) for b in blocked.batches] == [
        (f"{seqs[0]}..{seqs[5]}", "partial", (seqs[3],))] + [(f"{seqs[3]}..{seqs[5]}", "partial", (seqs[3],))] * 2
    assert "shardId-000000000000" in blocked.blocked
    assert counts() == {"page#/a": 3, "user#u1": 3}  # the 3 clicks before the poison pill, once

    fixed = connect_kinesis("clicks", env["function"](), function_response_types=RBIF, maximum_retry_attempts=1,
                            on_failure=env["dlq"], starting_position="LATEST")
    later = env["put"](click("u3", "/c"), b'"a string"', click("u3", "/c"))
    result = fixed.drain()
    (gone,) = result.discarded
    assert gone.sequence_numbers == later[1:]  # from the poison pill to the end of its batch
    (message,) = [json.loads(m["Body"]) for m in aws.client("sqs").receive_message(QueueUrl=env["dlq"])["Messages"]]
    assert (message["KinesisBatchInfo"]["startSequenceNumber"], message["KinesisBatchInfo"]["endSequenceNumber"]) == (
        later[1], later[2])


def test_with_batch_size_1_each_poison_pill_costs_only_itself(env):
    bad = [b"not json", b"[1, 2]", json.dumps({"page": "/x"}).encode(), json.dumps({"user": "u", "page": "x"}).encode()]
    env["put"](click("u1", "/a"), *bad, click("u1", "/a"))
    result = connect_kinesis("clicks", env["function"](), batch_size=1, function_response_types=RBIF,
                             maximum_retry_attempts=0, on_failure=env["dlq"]).drain()
    assert [d.size for d in result.discarded] == [1, 1, 1, 1]
    assert [b.invocation.response["batchItemFailures"] != [] for b in result.batches] == [False] + [True] * 4 + [False]
    assert counts() == {"page#/a": 2, "user#u1": 2}


def test_a_tumbling_window_writes_its_counts_once_when_it_closes(env):
    clock.advance(60 - clock.now() % 60 + 1)  # just after a minute boundary
    env["put"](*[click(f"u{i % 2}", "/a") for i in range(5)])
    clock.advance(60)
    env["put"](click("u0", "/b"), click("u0", "/a"))
    result = connect_kinesis("clicks", env["function"](), batch_size=2, tumbling_window_s=60,
                             function_response_types=RBIF).drain()
    assert [w.state["clicks"] for w in result.windows] == [5, 2]
    first, second = (f"window#{iso(w.start, millis=False)}" for w in result.windows)
    assert counts(first) == {"page#/a": 5, "user#u0": 3, "user#u1": 2}
    assert counts(second) == {"page#/a": 1, "page#/b": 1, "user#u0": 2}
    assert counts("total") == {}  # nothing is written before a window closes


def test_counts_can_go_to_s3_one_object_per_batch(env):
    env["put"](click("u1", "/a"), click("u2", "/a"), click("u1", "/b"))
    f = env["function"](OUTPUT_BUCKET="click-counts")
    result = connect_kinesis("clicks", f, batch_size=2).drain()
    s3 = aws.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="click-counts")["Contents"])
    assert keys == [f"clickstream/batches/shardId-000000000000/{b.first}-{b.last}.json" for b in result.batches]
    body = json.loads(s3.get_object(Bucket="click-counts", Key=keys[0])["Body"].read())
    assert body == {"clicks": 2, "pages": {"/a": 2}, "users": {"u1": 1, "u2": 1}}


def test_without_a_destination_for_the_counts_the_batch_fails(env):
    env["put"](click("u1", "/a"))
    f = env["function"](OUTPUT_PREFIX="x/")
    result = connect_kinesis("clicks", f, maximum_retry_attempts=0).drain()
    assert result.batches[0].outcome == "error" and "AGGREGATE_TABLE" in result.batches[0].detail
