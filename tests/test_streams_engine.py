"""The event source mapping engine's pure parts, without a backend or worker processes: how Lambda reads a response
(partial batch responses), record and failure-message shapes, checkpoints past filtered records, the 6 MB cap,
FilterCriteria compilation, and the retry back-off."""
import base64
import hashlib
import json
import math
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from lambdalab import clock
from lambdalab.triggers.esm import engine
from lambdalab.triggers.esm.engine import Engine, Lane, Settings, judge
from lambdalab.triggers.esm.filters import compile_filter
from lambdalab.triggers.esm.records import DYNAMODB, KINESIS, dynamodb_record, failure_message, kinesis_record

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
ROLE = "arn:aws:iam::123456789012:role/r"


def krecord(seq, data=b"x", key="k", shard="shardId-000000000000", arrival=None):
    raw = {"SequenceNumber": str(seq), "PartitionKey": key, "Data": data,
           "ApproximateArrivalTimestamp": clock.now() if arrival is None else arrival}
    return kinesis_record(raw, shard, ARN, "us-east-1", ROLE)


def invocation(response=None, error=None, status=None):
    return SimpleNamespace(response=response, error=error, status=status or ("error" if error else "ok"),
                           request_id="req-1")


class FakeSource:
    """Hands out prepared records, one page per read."""

    kind, arn, retention_s = KINESIS, ARN, 86400

    def __init__(self, pages):
        self.pages = {shard: list(p) for shard, p in pages.items()}

    def shard_ids(self):
        return list(self.pages)

    def read(self, shard):
        page = self.pages[shard]
        return (page.pop(0) if page else []), not page


class FakeFunction:
    """invoke / invoke_concurrently in this process, returning Invocation-like objects."""

    def __init__(self, handler):
        self.handler, self.events = handler, []

    def invoke(self, event):
        json.dumps(event)  # must be JSON, as for the real runtime
        self.events.append(event)
        try:
            return invocation(self.handler(event))
        except Exception as exc:
            return invocation(error={"errorType": type(exc).__name__, "errorMessage": str(exc)})

    def invoke_concurrently(self, events):
        return [self.invoke(e) for e in events]


# --- judge: how Lambda reads the response -----------------------------------------------------------------------

BATCH = [krecord(s) for s in (5, 9, 12)]


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "done",
                                      {"other": 1}])
def test_success_responses_with_report_batch_item_failures(response):
    assert judge(invocation(response), BATCH, report_item_failures=True, tumbling=False).outcome == "ok"


def test_partial_failure_retries_from_the_lowest_failed_sequence_number():
    v = judge(invocation({"batchItemFailures": [{"itemIdentifier": "12"}, {"itemIdentifier": "9"}]}), BATCH,
              report_item_failures=True, tumbling=False)
    assert (v.outcome, v.first_failed, v.failed) == ("partial", 1, ("12", "9"))


@pytest.mark.parametrize("failures", [
    [{"itemIdentifier": ""}],  # empty identifier
    [{"itemIdentifier": None}],  # null identifier
    [{"itemId": "9"}],  # wrongly named key
    [{"itemIdentifier": "9"}, {"ItemIdentifier": "12"}],  # one wrong key spoils the lot
    [{"itemIdentifier": "77"}],  # not in this batch
    ["9"],  # not an object
    {"itemIdentifier": "9"},  # not a list
])
def test_malformed_partial_responses_fail_the_whole_batch(failures):
    v = judge(invocation({"batchItemFailures": failures}), BATCH, report_item_failures=True, tumbling=False)
    assert v.outcome == "invalid" and v.first_failed is None and v.detail


def test_item_failures_are_ignored_without_report_batch_item_failures():
    v = judge(invocation({"batchItemFailures": [{"itemIdentifier": "9"}]}), BATCH, report_item_failures=False,
              tumbling=False)
    assert v.outcome == "ok"


def test_errors_and_timeouts_fail_the_batch():
    error = {"errorType": "ValueError", "errorMessage": "boom"}
    assert judge(invocation(error=error), BATCH, report_item_failures=True, tumbling=False).outcome == "error"
    timeout = judge(invocation(error={"errorType": "Sandbox.Timedout", "errorMessage": "t"}, status="timeout"),
                    BATCH, report_item_failures=False, tumbling=False)
    assert timeout.outcome == "timeout" and "Sandbox.Timedout" in timeout.detail


def test_tumbling_window_response_must_carry_state():
    assert judge(invocation({}), BATCH, report_item_failures=False, tumbling=True).outcome == "invalid"
    assert judge(invocation({"state": {"a": 1}}), BATCH, report_item_failures=False, tumbling=True).outcome == "ok"


# --- record shapes -----------------------------------------------------------------------------------------------

def test_kinesis_record_has_lambdas_exact_shape_and_size():
    r = kinesis_record({"SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                        "PartitionKey": 'pk "1" é', "Data": b"Hello, this is a test.",
                        "ApproximateArrivalTimestamp": datetime(2018, 12, 17, 22, 10, 50, 987000, timezone.utc)},
                       "shardId-000000000006", ARN, "us-east-2", ROLE)
    assert r.event == {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": 'pk "1" é',
                    "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                    "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==", "approximateArrivalTimestamp": 1545084650.987},
        "eventSource": "aws:kinesis", "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": ROLE, "awsRegion": "us-east-2",
        "eventSourceARN": ARN}
    assert r.size == len(json.dumps(r.event)) + 2  # computed, not serialised, but exact
    assert r.seq == 49590338271490256608559692538361571095921575989136588898


def test_sequence_numbers_compare_as_numbers():
    assert krecord(10).seq > krecord(9).seq  # "10" < "9" as strings


def test_dynamodb_record_matches_lambdas_shape():
    raw = {"eventID": "e1", "eventName": "MODIFY", "eventVersion": "1.0", "eventSource": "aws:dynamodb",
           "awsRegion": "us-east-1",
           "dynamodb": {"ApproximateCreationDateTime": datetime(2024, 1, 2, 3, 4, 5, 791000, tzinfo=timezone.utc),
                        "Keys": {"id": {"S": "a"}}, "NewImage": {"id": {"S": "a"}, "b": {"B": b"\x00\x01"},
                                                                  "s": {"BS": [b"x"]}},
                        "OldImage": {"id": {"S": "a"}}, "SequenceNumber": "1100000000017454423010",
                        "SizeBytes": 33, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    r = dynamodb_record(raw, "shardId-1", "arn:aws:dynamodb:us-east-1:1:table/t/stream/x", "us-east-1")
    assert r.event["eventVersion"] == "1.1"
    assert r.event["eventSourceARN"] == "arn:aws:dynamodb:us-east-1:1:table/t/stream/x"
    assert r.event["dynamodb"]["ApproximateCreationDateTime"] == 1704164645
    assert r.arrival == 1704164645  # what Lambda knows of the arrival: whole seconds, as in the event
    assert r.event["dynamodb"]["NewImage"]["b"] == {"B": "AAE="} and r.event["dynamodb"]["NewImage"]["s"] == {
        "BS": ["eA=="]}
    assert list(r.event["dynamodb"]) == ["ApproximateCreationDateTime", "Keys", "NewImage", "OldImage",
                                         "SequenceNumber", "SizeBytes", "StreamViewType"]
    assert r.key == '{"id": {"S": "a"}}' and r.seq == 1100000000017454423010
    json.dumps(r.event)


@pytest.mark.parametrize("kind,info,first,last", [
    # Lambda's documented invocation records: Kinesis arrivals keep milliseconds ("2019-11-14T00:38:04.835Z"),
    # DynamoDB Streams ones are whole seconds ("2019-11-14T00:13:19Z"), as the stream stamps its records
    (KINESIS, "KinesisBatchInfo", "2019-11-14T00:13:49.964Z", "2019-11-14T00:13:50.500Z"),
    (DYNAMODB, "DDBStreamBatchInfo", "2019-11-14T00:13:49Z", "2019-11-14T00:13:50Z"),
])
def test_failure_message_names_the_discarded_range(kind, info, first, last):
    batch = [krecord(7, arrival=1573690429.964), krecord(8, arrival=1573690430.5)]
    m = failure_message(kind, function_arn="arn:fn", stream_arn=ARN, shard_id="shardId-000000000001",
                        records=batch, condition="RetryAttemptsExhausted", invoke_count=3, request_id="r-1",
                        function_error=True, now=1573690529.717)
    assert m == {"requestContext": {"requestId": "r-1", "functionArn": "arn:fn", "condition": "RetryAttemptsExhausted",
                                    "approximateInvokeCount": 3},
                 "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                 "version": "1.0", "timestamp": "2019-11-14T00:15:29.717Z",
                 info: {"shardId": "shardId-000000000001", "startSequenceNumber": "7", "endSequenceNumber": "8",
                        "approximateArrivalOfFirstRecord": first,
                        "approximateArrivalOfLastRecord": last, "batchSize": 2,
                        "streamArn": ARN}}


# --- checkpoints, batching, back-off -------------------------------------------------------------------------------

def test_checkpoint_moves_past_filtered_records_only_once_nothing_earlier_is_outstanding():
    lane = Lane("shardId-000000000000", 0, 1)
    a, f1, b, f2 = krecord(1), krecord(2), krecord(3), krecord(4)
    lane.pending.extend([a, b])
    lane.skip(f1)
    lane.skip(f2)
    assert lane.checkpoint is None  # record 1 is still outstanding
    lane.pending.popleft()
    lane.settle(a)
    assert lane.checkpoint == "2"  # 1 processed, 2 filtered; 3 still outstanding
    lane.pending.popleft()
    lane.settle(b)
    assert lane.checkpoint == "4"


def test_filtered_records_never_reach_the_function_and_the_checkpoint_passes_them():
    recs = [krecord(i, data=b'{"type": "%s"}' % (b"click" if i % 3 else b"view")) for i in range(1, 10)]
    seen = []
    fn = FakeFunction(lambda e: seen.extend(r["kinesis"]["sequenceNumber"] for r in e["Records"]))
    keep = compile_filter({"Filters": [{"Pattern": json.dumps({"data": {"type": ["click"]}})}]}, KINESIS)
    e = Engine(FakeSource({"shardId-000000000000": [recs]}), fn, Settings(batch_size=4), keep=keep)
    result = e.drain()
    assert seen == ["1", "2", "4", "5", "7", "8"]
    assert (result.filtered, result.processed) == (3, 6)
    assert result.checkpoints == {"shardId-000000000000": "9"}


def test_a_batch_never_exceeds_6_mb():
    big = [krecord(i, data=b"x" * 1_000_000) for i in range(1, 16)]  # ~1.33 MB each in base64
    fn = FakeFunction(lambda e: None)
    result = Engine(FakeSource({"shardId-000000000000": [big]}), fn, Settings(batch_size=100)).drain()
    sizes = [len(json.dumps(ev)) for ev in fn.events]
    assert [b.size for b in result.batches] == [4, 4, 4, 3]
    assert max(sizes) <= engine.PAYLOAD_LIMIT_BYTES
    assert result.processed == 15


def test_backoff_doubles_up_to_a_minute():
    assert [engine.backoff_s(n) for n in (1, 2, 3, 4, 7, 8, 50)] == [1, 2, 4, 8, 60, 60, 60]


def test_record_age_limit_is_the_smaller_of_maximum_record_age_and_retention():
    assert Settings().age_limit(86400) == 86400
    assert Settings(max_record_age_s=60).age_limit(86400) == 60
    assert Settings(max_record_age_s=604_800).age_limit(86400) == 86400
    assert math.isfinite(Settings().age_limit(86400))


# --- filters -----------------------------------------------------------------------------------------------------

def test_kinesis_filters_match_json_data_and_drop_records_whose_data_is_not_json():
    """Lambda: non-JSON data + a JSON pattern for data -> the record is dropped; a data pattern that is not a JSON
    object is refused when the mapping is created ("Properly filtering Kinesis and DynamoDB messages")."""
    keep = compile_filter([{"data": {"n": [{"numeric": [">", 5]}]}}, {"data": {"level": ["ERROR"]}}], KINESIS)
    assert keep(krecord(1, b'{"n": 6}')) and not keep(krecord(2, b'{"n": 5}'))
    assert keep(krecord(3, b'{"level": "ERROR"}'))
    assert not keep(krecord(4, b"ERROR disk full")) and not keep(krecord(5, b"\xff\xfe binary"))
    with pytest.raises(ValueError, match="must be a JSON object naming fields"):
        compile_filter({"data": [{"prefix": "ERROR"}]}, KINESIS)
    with pytest.raises(ValueError, match="'dynamodb' must be a JSON object"):
        compile_filter({"dynamodb": ["x"]}, DYNAMODB)


def test_an_empty_filter_list_means_no_filter():
    """``{"Filters": []}`` removes filtering (as UpdateEventSourceMapping does); it must not drop every record."""
    assert compile_filter({"Filters": []}, KINESIS) is None
    assert compile_filter({"Filters": []}, DYNAMODB) is None
    fn = FakeFunction(lambda e: None)
    recs = [krecord(i) for i in (1, 2, 3)]
    keep = compile_filter({"Filters": []}, KINESIS)
    result = Engine(FakeSource({"shardId-000000000000": [recs]}), fn, Settings(), keep=keep).drain()
    assert (result.processed, result.filtered) == (3, 0)


def test_filter_criteria_are_validated():
    with pytest.raises(ValueError, match="'data' key only"):
        compile_filter({"partitionKey": ["a"]}, KINESIS)
    with pytest.raises(ValueError, match="at most 5"):
        compile_filter([{"data": {"a": [i]}} for i in range(6)], KINESIS)
    with pytest.raises(ValueError, match="not valid"):
        compile_filter({"data": {"a": "not-a-list"}}, KINESIS)
    with pytest.raises(ValueError, match="Filters"):
        compile_filter({"Filters": [{"pattern": "{}"}]}, KINESIS)
    with pytest.raises(ValueError, match="is not valid JSON .* e.g."):  # not a bare JSONDecodeError
        compile_filter({"Filters": [{"Pattern": "{data: {type: [click]}}"}]}, KINESIS)
    assert compile_filter(None, KINESIS) is None


def test_dynamodb_filters_match_the_whole_record():
    keep = compile_filter({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["new"]}}}}, DYNAMODB)
    rec = SimpleNamespace(event={"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "new"}}}})
    other = SimpleNamespace(event={"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "new"}}}})
    assert keep(rec) and not keep(other)


def test_base64_data_round_trips():
    r = krecord(1, b"\x00\xffbinary")
    assert base64.b64decode(r.event["kinesis"]["data"]) == b"\x00\xffbinary"


# --- engine paths the backend scenarios do not reach ---------------------------------------------------------------

def test_a_blocked_report_says_how_many_retries_lambda_has_left():
    def fail(event):
        raise RuntimeError("down")

    result = Engine(FakeSource({"shardId-000000000000": [[krecord(1)]]}), FakeFunction(fail),
                    Settings(max_retries=20)).drain(block_after=3)
    blocked = result.blocked["shardId-000000000000"]
    assert blocked.attempts == 3 and blocked.retries_left == 18
    assert "up to 18 more times (MaximumRetryAttempts) or until its oldest record expires" in str(blocked)


def test_a_window_state_over_1_mb_ends_the_window_early_and_it_goes_on_with_fresh_state():
    start = math.floor(clock.now() / 300) * 300 + 1
    recs = [krecord(i, arrival=start) for i in range(1, 5)]

    def handler(event):  # the first invocation returns a state over 1 MB
        if event["isFinalInvokeForWindow"]:
            return {"state": event["state"]}
        return {"state": {"blob": "x" * (1_100_000 if len(fn.events) == 1 else 10)}}

    fn = FakeFunction(handler)
    result = Engine(FakeSource({"shardId-000000000000": [recs]}), fn,
                    Settings(batch_size=2, tumbling_window_s=300)).drain()
    flags = [(len(e["Records"]), e["isFinalInvokeForWindow"], e["isWindowTerminatedEarly"]) for e in fn.events]
    assert flags == [(2, False, False), (0, True, True), (2, False, False), (0, True, False)]
    assert fn.events[2]["state"] == {} and fn.events[2]["window"] == fn.events[0]["window"]
    assert [w.terminated_early for w in result.windows] == [True, False]


def test_a_blocked_sub_sequence_does_not_hold_back_the_other_partition_keys():
    """ParallelizationFactor keeps order per partition key: while one key's batch keeps failing, the shard's other
    keys (another sub-sequence) are still read and processed, even when they sit behind a long backlog."""
    def lane_of(key):
        return int.from_bytes(hashlib.md5(key.encode()).digest()[:8], "big") % 2

    stuck = next(k for k in (f"a{i}" for i in range(100)) if lane_of(k) == 0)
    free = next(k for k in (f"b{i}" for i in range(100)) if lane_of(k) == 1)
    first_page = [krecord(1, b"POISON", key=stuck)] + [krecord(i, b"ok", key=stuck) for i in range(2, 11)]
    second_page = [krecord(i, b"ok", key=free) for i in range(11, 14)]

    def handler(event):
        if any(base64.b64decode(r["kinesis"]["data"]) == b"POISON" for r in event["Records"]):
            raise ValueError("poison")

    source = FakeSource({"shardId-000000000000": [first_page, second_page]})
    result = Engine(source, FakeFunction(handler), Settings(batch_size=2, parallelization_factor=2)).drain(
        block_after=3)
    assert set(result.blocked) == {"shardId-000000000000#0"}
    assert result.checkpoints == {"shardId-000000000000#0": None, "shardId-000000000000#1": "13"}
    assert result.processed == 3


def test_the_tumbling_window_state_counts_towards_the_6_mb_payload():
    start = math.floor(clock.now() / 300) * 300 + 1
    big = [krecord(i, data=b"x" * 1_000_000, arrival=start) for i in range(1, 13)]  # ~1.33 MB each in base64

    def handler(event):  # carries ~0.99 MB of state (under the 1 MB limit) from one invocation to the next
        return {"state": {"blob": "s" * 990_000}}

    fn = FakeFunction(handler)
    result = Engine(FakeSource({"shardId-000000000000": [big]}), fn,
                    Settings(batch_size=100, tumbling_window_s=300)).drain()
    assert result.processed == 12
    assert max(len(json.dumps(event)) for event in fn.events) <= engine.PAYLOAD_LIMIT_BYTES
