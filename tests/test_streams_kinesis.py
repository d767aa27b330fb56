"""Kinesis event source mappings against moto, through the real runtime: each of Lambda's rules pinned by a
deterministic scenario (records are placed on shards with ExplicitHashKey). Every scenario also checks that no record
is lost and none is delivered again after its checkpoint, except by Lambda's retry rules."""
import json

import pytest

from lambdalab import aws, clock
from lambdalab.triggers import connect_kinesis

RBIF = ["ReportBatchItemFailures"]


class Stream:
    """A Kinesis stream whose records go to the shard the test names."""

    def __init__(self, name, shards=1):
        self.name = name
        self.client = aws.client("kinesis")
        self.client.create_stream(StreamName=name, ShardCount=shards)
        found = self.client.list_shards(StreamName=name)["Shards"]
        self.shards = [s["ShardId"] for s in found]
        self.hash_keys = [s["HashKeyRange"]["StartingHashKey"] for s in found]
        self.arn = self.client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        self.written = []  # (shard id, sequence number as int), in write order
        self.ordinal = {}  # sequence number -> its place on its shard (1, 2, ...)

    def n(self, value):
        """Sequence numbers (in a string, an "a..b" range, a list, tuple or dict) as their place on their shard: AWS's
        are 56-digit numbers, so the scenarios below speak of the 1st, 2nd... record of a shard instead."""
        if isinstance(value, str):
            return "..".join(str(self.ordinal.get(part, part)) for part in value.split(".."))
        if isinstance(value, (list, tuple)):
            return type(value)(self.n(v) for v in value)
        if isinstance(value, dict):
            return {k: self.n(v) for k, v in value.items()}
        return value

    def put(self, *items, shard=0, key="k"):
        """Write ``items`` (bytes, or (shard, key, bytes)); returns their sequence numbers as strings."""
        entries = [item if isinstance(item, tuple) else (shard, key, item) for item in items]
        out = self.client.put_records(StreamName=self.name, Records=[
            {"Data": data, "PartitionKey": k, "ExplicitHashKey": self.hash_keys[s]} for s, k, data in entries])
        assert not out.get("FailedRecordCount")
        for r in out["Records"]:
            self.written.append((r["ShardId"], int(r["SequenceNumber"])))
            self.ordinal[r["SequenceNumber"]] = sum(shard == r["ShardId"] for shard, _ in self.written)
        return [r["SequenceNumber"] for r in out["Records"]]


def check_delivery(history, written, *, filtered=0):
    """No record lost; none delivered again once settled; every batch in order and from one shard.

    Settled means processed (a successful batch, or before the lowest failure of a partial one) or discarded.
    Records after a partial failure, and failed batches, may be delivered again: those are Lambda's retry rules.
    """
    events = [(b.round, 0, b) for b in history.batches] + [(d.round, 1, d) for d in history.discarded]
    settled, processed, discarded = set(), set(), set()
    for _, is_discard, item in sorted(events, key=lambda e: e[:2]):
        ids = [(r.shard_id, r.seq) for r in item.records]
        assert len({shard for shard, _ in ids}) <= 1, f"{item} mixes shards"
        assert [seq for _, seq in ids] == sorted(seq for _, seq in ids), f"{item} is out of order"
        if is_discard:
            assert not settled & set(ids), f"{item} discards settled records"
            discarded |= set(ids)
            settled |= set(ids)
            continue
        again = settled & set(ids)
        assert not again, f"{item} delivers {sorted(again)} again after their checkpoint"
        done = set(ids[:item.processed])
        processed |= done
        settled |= done
    assert history.processed == len(processed)
    unsettled = set(written) - settled
    assert len(unsettled) == filtered + sum(history.pending.values()), f"lost: {sorted(unsettled)}"
    return processed, discarded


@pytest.fixture
def make(new_function):
    """make(handler, **settings): a function running ``stream_handlers.<handler>``, shut down after the test."""
    return lambda handler, **kwargs: new_function(f"stream_handlers.{handler}", name=kwargs.pop("name", handler),
                                                  **kwargs)


def seen(result):
    """Sequence numbers delivered, per shard, in delivery order."""
    out = {}
    for b in result.batches:
        out.setdefault(b.shard_id, []).extend(b.sequence_numbers)
    return out


# --- what the function receives ----------------------------------------------------------------------------------

def test_the_event_has_lambdas_kinesis_record_shape(make):
    s = Stream("shape")
    seqs = s.put(b'{"page": "/home"}', key="user-1")
    f = make("records")
    result = connect_kinesis("shape", f).drain()
    event = result.batches[0].invocation.response["event"]
    assert list(event) == ["Records"]
    (record,) = event["Records"]
    assert set(record) == {"kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn",
                           "awsRegion", "eventSourceARN"}
    k = record["kinesis"]
    assert (k["kinesisSchemaVersion"], k["partitionKey"], k["sequenceNumber"]) == ("1.0", "user-1", seqs[0])
    assert k["data"] == "eyJwYWdlIjogIi9ob21lIn0="  # base64 of the JSON written
    assert abs(k["approximateArrivalTimestamp"] - clock.now()) < 60
    assert (record["eventSource"], record["eventVersion"], record["eventName"]) == (
        "aws:kinesis", "1.0", "aws:kinesis:record")
    assert record["eventID"] == f"shardId-000000000000:{seqs[0]}"
    assert record["eventSourceARN"] == s.arn and record["awsRegion"] == "us-east-1"
    assert record["invokeIdentityArn"] == f.role_arn


# --- order and concurrency ---------------------------------------------------------------------------------------

def test_every_shard_is_polled_and_order_is_kept_per_shard(make):
    s = Stream("orders", shards=3)
    for shard in range(3):
        s.put(*[(shard, f"key-{i}", b"r%d" % i) for i in range(25)])
    result = connect_kinesis("orders", make("echo"), batch_size=10).drain()
    assert result.ok and result.processed == 75
    for shard in s.shards:
        assert [b.size for b in result.shard(shard)] == [10, 10, 5]
        assert s.n(seen(result)[shard]) == [str(n) for n in range(1, 26)]
        assert s.n(result.checkpoints[shard]) == "25"
    assert result.peak_concurrency == 3  # one batch per shard at a time
    rounds = [[b.shard_id for b in result.batches if b.round == r] for r in {b.round for b in result.batches}]
    assert all(len(ids) == len(set(ids)) for ids in rounds)  # never two batches of one shard at once
    check_delivery(result, s.written)


def test_parallelization_factor_raises_concurrency_and_keeps_order_per_partition_key(make):
    s = Stream("pf", shards=1)
    keys = [f"user-{n}" for n in range(8)]
    s.put(*[(0, keys[i % 8], b"%d" % i) for i in range(48)])  # interleaved keys, 6 records each
    mapping = connect_kinesis("pf", make("echo"), batch_size=3, parallelization_factor=4)
    result = mapping.drain()
    assert result.ok and result.processed == 48
    assert set(result.checkpoints) == {f"shardId-000000000000#{n}" for n in range(4)}
    assert result.peak_concurrency > 1  # several batches of the one shard ran at once
    order, lane_of = {}, {}
    for b in result.batches:
        for r in b.records:
            order.setdefault(r.key, []).append(r.seq)
            assert lane_of.setdefault(r.key, b.lane) == b.lane  # a key stays in its sub-sequence
    for key, seqs in order.items():
        assert seqs == sorted(seqs) and len(seqs) == 6, key
    for r in {b.round for b in result.batches}:  # a key is never in two batches running at once
        batches_now = [{rec.key for rec in b.records} for b in result.batches if b.round == r]
        assert all(not (a & b) for i, a in enumerate(batches_now) for b in batches_now[i + 1:])
    for lane, checkpoint in result.checkpoints.items():  # each sub-sequence's checkpoint is its last record
        assert checkpoint == max((b.last for b in result.batches if b.lane == lane), key=int)
    check_delivery(result, s.written)


# --- failures ------------------------------------------------------------------------------------------------------

def test_a_poison_pill_with_default_settings_blocks_its_shard(make):
    s = Stream("poison", shards=2)
    s.put(b"ok1", b"ok2", b"POISON", b"ok4", shard=0)
    s.put(b"a", b"b", b"c", shard=1)
    mapping = connect_kinesis("poison", make("poison"))
    started = clock.now()
    result = mapping.drain(block_after=5)
    blocked = result.blocked["shardId-000000000000"]
    assert set(result.blocked) == {"shardId-000000000000"} and blocked.retries_left is None
    assert s.n(blocked.range) == "1..4" and blocked.attempts == 5 and "poison pill" in blocked.detail
    assert s.n(result.checkpoints) == {"shardId-000000000000": None, "shardId-000000000001": "3"}
    assert [b.outcome for b in result.shard("shardId-000000000000")] == ["error"] * 5
    assert result.retries == 4 and result.discarded == []
    assert clock.now() - started >= 1 + 2 + 4 + 8  # back-off waited on the simulated clock
    assert blocked.expires_at == pytest.approx(blocked.records[0].arrival + 24 * 3600)  # the stream's retention
    assert "BLOCKED" in repr(result) and "BLOCKED" in result._repr_html_()

    again = mapping.drain(block_after=3)  # still stuck: Lambda keeps retrying the same batch
    assert again.blocked and [b.attempt for b in again.batches] == [6, 7, 8]

    clock.advance(24 * 3600)  # the records reach the end of the stream's retention
    s.put(b"later", shard=0)
    final = mapping.drain()
    (gone,) = final.discarded
    assert s.n((gone.condition, gone.range, gone.destination)) == ("RecordAgeExceeded", "1..4", None)
    assert s.n(seen(final)) == {"shardId-000000000000": ["5"]}  # the whole batch is lost, good records too
    assert s.n(final.checkpoints["shardId-000000000000"]) == "5" and not final.blocked
    check_delivery(mapping.history, s.written)


def test_bisect_with_retries_and_a_destination_discards_only_the_poison_pill(make):
    s = Stream("bisect")
    data = [b"ok%d" % i for i in range(1, 17)]
    data[10] = b"POISON"  # sequence number 11
    s.put(*data)
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="bisect-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    f = make("poison")
    mapping = connect_kinesis("bisect", f, bisect_batch_on_function_error=True, maximum_retry_attempts=2,
                              on_failure=queue_arn)
    result = mapping.drain()
    processed, discarded = check_delivery(result, s.written)
    assert sorted(int(s.n(str(seq))) for _, seq in processed) == [n for n in range(1, 17) if n != 11]
    assert {(shard, s.n(str(seq))) for shard, seq in discarded} == {("shardId-000000000000", "11")}
    assert result.bisections == 4  # 16 -> 8 -> 4 -> 2 -> 1
    assert result.retries == 2  # the single poison pill, retried twice; splitting used none of the quota
    (gone,) = result.discarded
    assert s.n((gone.condition, gone.range, gone.destination)) == ("RetryAttemptsExhausted", "11", queue_arn)
    assert gone.attempts == 7  # 1 whole batch + 4 halves + 2 retries carried it
    (body,) = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    assert body == gone.message == result.destination_messages[0]
    info = body["KinesisBatchInfo"]
    assert s.n((info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"])) == (
        "shardId-000000000000", "11", "11", 1)
    assert info["streamArn"] == s.arn
    assert body["requestContext"]["functionArn"] == f.arn
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["responseContext"]["functionError"] == "Unhandled"
    assert s.n(result.checkpoints["shardId-000000000000"]) == "16"


def test_partial_batch_response_checkpoints_before_the_lowest_failure_and_retries_from_there(make):
    s = Stream("partial")
    s.put(*[b"BAD" if n in (4, 7) else b"ok" for n in range(1, 11)])
    result = connect_kinesis("partial", make("partial_unless_first"), function_response_types=RBIF).drain()
    assert s.n([(b.range, b.kind, b.outcome, b.failed) for b in result.batches]) == [
        ("1..10", "batch", "partial", ("4", "7")),  # checkpoint 3, retry from 4
        ("4..10", "partial-retry", "partial", ("7",)),  # checkpoint 6, retry from 7
        ("7..10", "partial-retry", "ok", ()),
    ]
    assert result.processed == 10 and result.ok and s.n(result.checkpoints["shardId-000000000000"]) == "10"
    check_delivery(result, s.written)


def test_a_partial_failure_counts_as_a_failed_attempt(make):
    s = Stream("partial-count")
    s.put(*[b"BAD" if n == 4 else b"ok" for n in range(1, 11)])
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="partial-dlq")["QueueUrl"]
    result = connect_kinesis("partial-count", make("partial"), function_response_types=RBIF,
                             maximum_retry_attempts=1, on_failure=queue).drain()
    assert s.n([(b.range, b.outcome) for b in result.batches]) == [("1..10", "partial"), ("4..10", "partial")]
    (gone,) = result.discarded
    assert s.n(gone.range) == "4..10" and gone.message["KinesisBatchInfo"]["batchSize"] == 7
    assert s.n(result.checkpoints["shardId-000000000000"]) == "10"
    check_delivery(result, s.written)


@pytest.mark.parametrize("marker", [b"EMPTY", b"WRONGKEY"])
def test_an_empty_identifier_or_a_wrong_key_fails_the_whole_batch(make, marker):
    s = Stream("malformed")
    s.put(*[marker if n == 5 else b"ok" for n in range(1, 8)])
    result = connect_kinesis("malformed", make("partial"), function_response_types=RBIF,
                             maximum_retry_attempts=1).drain()
    assert s.n([(b.range, b.outcome) for b in result.batches]) == [("1..7", "invalid"), ("1..7", "invalid")]
    assert result.processed == 0 and s.n(result.discarded[0].range) == "1..7"
    check_delivery(result, s.written)


def test_maximum_record_age_ends_the_retries(make):
    s = Stream("aged")
    s.put(b"POISON", b"ok")
    started = clock.now()
    result = connect_kinesis("aged", make("poison"), maximum_record_age_s=60).drain()
    (gone,) = result.discarded
    assert gone.condition == "RecordAgeExceeded" and s.n(gone.range) == "1..2"
    assert clock.now() - started > 60  # retried (1, 2, 4, ... s of back-off) until the records were a minute old
    assert len(result.batches) == 6 and not result.blocked  # waits 1+2+4+8+16 s, then 32 s takes it past 60 s
    check_delivery(result, s.written)


def test_records_already_too_old_are_discarded_without_an_invocation(make):
    s = Stream("stale")
    s.put(b"old1", b"old2", b"old3")
    clock.advance(120)
    s.put(b"new4", b"new5")
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="stale-dlq")["QueueUrl"]
    result = connect_kinesis("stale", make("echo"), maximum_record_age_s=60, on_failure=queue).drain()
    (gone,) = result.discarded
    assert s.n((gone.range, gone.condition, gone.attempts)) == ("1..3", "RecordAgeExceeded", 0)
    assert gone.message["requestContext"]["approximateInvokeCount"] == 0 and "responseContext" not in gone.message
    assert s.n(seen(result)) == {"shardId-000000000000": ["4", "5"]}
    check_delivery(result, s.written)


def test_a_timeout_is_a_failed_attempt_and_an_sns_topic_can_be_the_destination(make):
    s = Stream("slow")
    s.put(b"x")
    sqs, sns = aws.client("sqs"), aws.client("sns")
    topic = sns.create_topic(Name="stream-failures")["TopicArn"]
    inbox = sqs.create_queue(QueueName="failures-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    result = connect_kinesis("slow", make("sleepy", timeout_s=1), maximum_retry_attempts=0, on_failure=topic).drain()
    assert [b.outcome for b in result.batches] == ["timeout"]
    (gone,) = result.discarded
    assert gone.destination == topic and gone.message["responseContext"]["functionError"] == "Unhandled"
    (note,) = sqs.receive_message(QueueUrl=inbox)["Messages"]
    assert json.loads(json.loads(note["Body"])["Message"]) == gone.message


# --- filtering, windows, positions, pausing ----------------------------------------------------------------------

def test_filter_criteria_drop_records_before_the_function(make):
    s = Stream("filtered")
    kinds = ["click", "view", "click", "purchase", "view", "click", "view"]
    s.put(*[json.dumps({"type": k, "n": i}).encode() for i, k in enumerate(kinds)])
    s.put(b"click")  # not JSON: with a pattern on data, Lambda drops it
    pattern = {"data": {"type": ["click", "purchase"]}}
    result = connect_kinesis("filtered", make("echo"), batch_size=2,
                             FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]}).drain()
    assert s.n(seen(result)) == {"shardId-000000000000": ["1", "3", "4", "6"]}
    assert result.filtered == 4 and s.n(result.checkpoints["shardId-000000000000"]) == "8"  # past the filtered tail
    check_delivery(result, s.written, filtered=4)


def test_tumbling_windows_carry_state_and_end_with_a_final_invocation(make):
    s = Stream("windows")
    clock.advance(60 - clock.now() % 60 + 1)  # just after a minute boundary
    s.put(*[(0, key, b"x") for key in "aabab"])
    clock.advance(60)  # the next window
    s.put(*[(0, key, b"x") for key in "bb"])
    result = connect_kinesis("windows", make("count_window"), batch_size=2, tumbling_window_s=60).drain()
    responses = [b.invocation.response for b in result.batches]
    first_window = responses[0]["window"]
    assert [r["received"] for r in responses[:4]] == [{}, {"a": 2}, {"a": 3, "b": 1}, {"a": 3, "b": 2}]
    assert [r["final"] for r in responses] == [False, False, False, True, False, True]
    assert [b.size for b in result.batches] == [2, 2, 1, 0, 2, 0]  # a batch never spans two windows
    assert [w.state for w in result.windows] == [{"a": 3, "b": 2}, {"b": 2}]
    assert responses[4]["window"]["start"] == first_window["end"]
    assert responses[0]["shardId"] == "shardId-000000000000"
    check_delivery(result, s.written)


def test_latest_reads_only_new_records_trim_horizon_and_at_timestamp_read_back(make):
    s = Stream("positions")
    s.put(b"old1", b"old2")
    clock.advance(30)
    middle = clock.now()
    clock.advance(30)
    s.put(b"old3")
    f = make("echo")
    latest = connect_kinesis("positions", f, starting_position="LATEST")
    horizon = connect_kinesis("positions", f, StartingPosition="TRIM_HORIZON")
    at_time = connect_kinesis("positions", f, starting_position="AT_TIMESTAMP", starting_position_timestamp=middle)
    s.put(b"new4", b"new5")
    assert s.n(seen(latest.drain())) == {"shardId-000000000000": ["4", "5"]}
    assert s.n(seen(horizon.drain())) == {"shardId-000000000000": ["1", "2", "3", "4", "5"]}
    assert s.n(seen(at_time.drain())) == {"shardId-000000000000": ["3", "4", "5"]}


def test_a_disabled_mapping_resumes_where_it_stopped(make):
    s = Stream("paused")
    s.put(b"1", b"2", b"3")
    mapping = connect_kinesis("paused", make("echo"))
    assert s.n(seen(mapping.drain())) == {"shardId-000000000000": ["1", "2", "3"]}
    mapping.disable()
    s.put(b"4", b"5")
    paused = mapping.drain()
    assert paused.batches == [] and "disabled" in paused.note and mapping.state == "Disabled"
    s.put(b"6")
    mapping.enable()
    resumed = mapping.drain()
    assert s.n(seen(resumed)) == {"shardId-000000000000": ["4", "5", "6"]}
    assert s.n(mapping.checkpoints) == {"shardId-000000000000": "6"}
    check_delivery(mapping.history, s.written)


def test_a_batching_window_waits_on_the_simulated_clock_for_a_fuller_batch(make):
    s = Stream("window-batch")
    s.put(b"1", b"2", b"3")
    started = clock.now()
    result = connect_kinesis("window-batch", make("echo"), maximum_batching_window_s=20).drain()
    assert [b.size for b in result.batches] == [3]
    assert 20 <= clock.now() - started < 40


# --- settings, views ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings,message", [
    ({"batch_size": 0}, r"BatchSize \(batch_size\) must be a whole number from 1 to 10,000"),
    ({"BatchSize": 10_001}, "1 to 10,000"),
    ({"parallelization_factor": 11}, "ParallelizationFactor"),
    ({"maximum_retry_attempts": -2}, "from 0 to 10,000 \\(or -1\\)"),
    ({"maximum_record_age_s": 30}, "60 to 604,800 seconds \\(or -1\\)"),
    ({"maximum_batching_window_s": 301}, "0 to 300 seconds"),
    ({"tumbling_window_s": 901}, "0 to 900 seconds"),
    ({"maximum_batching_window_s": 0.5}, "0 to 300 seconds, a whole number"),  # Lambda's API takes an Integer
    ({"starting_position_timestamp": 1_700_000_000}, "only valid with starting_position='AT_TIMESTAMP'"),
    ({"starting_position": "NEWEST"}, "TRIM_HORIZON, LATEST, AT_TIMESTAMP"),
    ({"starting_position": "AT_TIMESTAMP"}, "starting_position_timestamp"),
    ({"function_response_types": ["ReportItems"]}, "ReportBatchItemFailures"),
    ({"bisect_batch_on_function_error": "yes"}, "True or False"),
])
def test_settings_are_checked_like_lambda_does(make, settings, message):
    Stream("checked")
    with pytest.raises(ValueError, match=message):
        connect_kinesis("checked", make("echo"), **settings)


def test_lambda_names_are_accepted_and_described(make):
    s = Stream("named")
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="named-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    f = make("echo")
    mapping = connect_kinesis(s.arn, f, BatchSize=500, ParallelizationFactor=2, BisectBatchOnFunctionError=True,
                              MaximumRetryAttempts=3, MaximumRecordAgeInSeconds=3600,
                              DestinationConfig={"OnFailure": {"Destination": arn}},
                              FunctionResponseTypes=["ReportBatchItemFailures"], Enabled=False)
    d = mapping.describe()
    assert (d["BatchSize"], d["ParallelizationFactor"], d["MaximumRetryAttempts"], d["State"]) == (
        500, 2, 3, "Disabled")
    assert d["DestinationConfig"] == {"OnFailure": {"Destination": arn}} and d["EventSourceArn"] == s.arn
    assert d["FunctionArn"] == f.arn and d["FunctionResponseTypes"] == RBIF
    plain = connect_kinesis("named", f, DestinationConfig={"OnFailure": {}})  # Lambda's "no destination"
    assert plain.engine.deliver is None and connect_kinesis("named", f, DestinationConfig={}).engine.deliver is None
    assert connect_kinesis("named", f, DestinationConfig=plain.describe()["DestinationConfig"]).engine.deliver is None
    with pytest.raises(TypeError, match="same setting"):
        connect_kinesis("named", f, batch_size=10, BatchSize=20)
    with pytest.raises(TypeError, match="not an event source mapping setting"):
        connect_kinesis("named", f, BatchSizes=20)
    with pytest.raises(ValueError, match="no Kinesis stream named 'nope'"):
        connect_kinesis("nope", f)
    with pytest.raises(ValueError, match="does not exist"):
        connect_kinesis("named", f, on_failure="arn:aws:sqs:us-east-1:123456789012:missing")


def test_results_read_as_a_table_and_a_timeline(make):
    s = Stream("views", shards=2)
    s.put(*[(i % 2, f"k{i}", b"POISON" if i == 3 else b"ok") for i in range(12)])
    mapping = connect_kinesis("views", make("poison"), batch_size=4, bisect_batch_on_function_error=True,
                              maximum_retry_attempts=1)
    result = mapping.drain()
    text, html = repr(result), result._repr_html_()
    assert "11 processed" in text and "1 discarded" in text
    assert "<table>" in html and "shardId-000000000001" in html
    assert result.counts["bisections"] == result.bisections > 0
    figure = result.plot()
    ax = figure.axes[0]
    assert "views" in ax.get_title() and ax.get_xlabel().startswith("polling round") and ax.get_ylabel() == "shard"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["shard 0", "shard 1"]
    assert mapping.plot().axes[0].get_title() == ax.get_title()
    assert len(mapping.history.batches) == len(result.batches)


def test_a_reset_backend_makes_old_mappings_say_so(make):
    Stream("gone")
    mapping = connect_kinesis("gone", make("echo"))
    aws.reset()
    with pytest.raises(RuntimeError, match="reset"):
        mapping.drain()
