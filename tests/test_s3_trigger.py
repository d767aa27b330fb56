"""S3 notifications -> the thumbnail function, end to end: real bucket notifications on moto, the local Lambda
runtime (a worker process per execution environment), Lambda's asynchronous retries, destinations and loop stops."""
import html
import io
import json
import pathlib

import pytest
from PIL import Image

from lambdalab import aws, clock
from lambdalab.runtime import LambdaFunction
from lambdalab.triggers import connect_s3
from lambdalab.triggers.async_invoke import LOOP_LIMIT, LOOP_MESSAGE
from lambdalab.triggers.s3 import s3_event

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = ROOT / "data" / "images"
IN, OUT = "input-bucket", "output-bucket"
HANDLER = "lambdalab.handlers.thumbnail.handler"


@pytest.fixture(scope="module")
def thumbnail_fn():
    """One function for the module, so most tests run warm (moto is wiped between tests, the workers are not)."""
    aws.start()
    function = LambdaFunction("thumbnail", HANDLER, memory_mb=512, timeout_s=30,
                              environment={"OUTPUT_BUCKET": OUT})
    yield function
    function.shutdown()


@pytest.fixture
def s3(backend):
    client = aws.client("s3")
    for bucket in (IN, OUT):
        client.create_bucket(Bucket=bucket)
    return client


def upload(s3, key, name, bucket=IN):
    s3.put_object(Bucket=bucket, Key=key, Body=(IMAGES / name).read_bytes())


def keys(s3, bucket=OUT):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def image_at(s3, key, bucket=OUT):
    return Image.open(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_every_image_case_through_the_trigger(s3, thumbnail_fn):
    trigger = connect_s3(IN, thumbnail_fn)
    cases = {"vacation.jpg": ("JPEG", (150, 113)), "portrait-rotated.jpg": ("JPEG", (113, 150)),
             "logo-transparent.png": ("PNG", (150, 113)), "print-cmyk.jpg": ("JPEG", (150, 100)),
             "animation.gif": ("PNG", (150, 113)), "scan-16bit.png": ("PNG", (150, 105))}
    for name in cases:
        upload(s3, f"photos/{name}", name)
    report = trigger.drain()
    assert len(report.deliveries) == 6 and report.retries == 0 and report.failures == []
    assert all(d.outcome == "ok" for d in report.deliveries)
    for name, (fmt, size) in cases.items():
        stem = name.rsplit(".", 1)[0]
        image = image_at(s3, f"photos/thumb-{stem}.{'jpg' if fmt == 'JPEG' else 'png'}")
        assert (image.format, image.size) == (fmt, size), name
    assert "THUMBNAIL s3://input-bucket/photos/vacation.jpg" in "\n".join(i.logs for i in report.invocations)


def test_every_bad_input_is_rejected_without_retries_and_left_untouched(s3, thumbnail_fn):
    trigger = connect_s3(IN, thumbnail_fn)
    bad = {"holiday.jpg": "not an image", "truncated.jpg": "truncated or corrupt",
           "bomb.png": "decompression bomb", "too-big.png": "give it more memory"}
    for name in bad:
        upload(s3, f"uploads/{name}", f"bad/{name}")
    upload(s3, "uploads/good.jpg", "vacation.jpg")
    report = trigger.drain()
    assert report.retries == 0 and report.failures == [] and len(report.invocations) == 5
    reasons = {r["key"]: r["reason"] for resp in report.responses for r in resp["rejected"]}
    assert {key.split("/")[1] for key in reasons} == set(bad)
    for name, words in bad.items():
        assert words in reasons[f"uploads/{name}"]
        assert s3.get_object(Bucket=IN, Key=f"uploads/{name}")["Body"].read() == (IMAGES / "bad" / name).read_bytes()
    assert keys(s3) == ["uploads/thumb-good.jpg"]
    assert max(i.max_memory_used_mb for i in report.invocations) < thumbnail_fn.memory_mb  # never killed


def test_a_multi_record_event_processes_the_good_records(s3, thumbnail_fn):
    upload(s3, "a.jpg", "vacation.jpg")  # before connecting: only the hand-made event is delivered
    upload(s3, "b.png", "bad/holiday.jpg")
    upload(s3, "c.gif", "animation.gif")
    trigger = connect_s3(IN, thumbnail_fn)
    trigger.send(s3_event(IN, "a.jpg", "b.png", "c.gif"))
    report = trigger.drain()
    (response,) = report.responses
    assert [p["key"] for p in response["processed"]] == ["a.jpg", "c.gif"]
    assert [r["key"] for r in response["rejected"]] == ["b.png"]
    assert keys(s3) == ["thumb-a.jpg", "thumb-c.png"]


@pytest.mark.parametrize("key, encoded, thumb", [
    ("photos/my vacation photo (1).jpg", "photos/my+vacation+photo+%281%29.jpg", "photos/thumb-my vacation photo (1).jpg"),
    ("math/1+1=2.jpg", "math/1%2B1%3D2.jpg", "math/thumb-1+1=2.jpg"),
    ("été/café ☕.jpg", "%C3%A9t%C3%A9/caf%C3%A9+%E2%98%95.jpg", "été/thumb-café ☕.jpg"),
])
def test_tricky_keys_arrive_encoded_like_aws_and_are_decoded(s3, thumbnail_fn, key, encoded, thumb):
    trigger = connect_s3(IN, thumbnail_fn)
    upload(s3, key, "vacation.jpg")
    report = trigger.drain()
    assert report.deliveries[0].event["Records"][0]["s3"]["object"]["key"] == encoded  # '/' kept, as S3 does
    assert keys(s3) == [thumb]


def test_the_event_has_the_shape_s3_sends(s3, thumbnail_fn):
    trigger = connect_s3(IN, thumbnail_fn)
    upload(s3, "photos/vacation.jpg", "vacation.jpg")
    record = trigger.drain().deliveries[0].event["Records"][0]
    sample = json.loads((ROOT / "data" / "events" / "s3_put.json").read_text())["Records"][0]

    def shape(value):
        return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else type(value).__name__

    assert shape(record) == shape(sample)
    assert (record["eventName"], record["s3"]["bucket"]["arn"]) == ("ObjectCreated:Put", f"arn:aws:s3:::{IN}")
    assert record["s3"]["object"]["size"] == (IMAGES / "vacation.jpg").stat().st_size


def test_prefix_and_suffix_filters_are_s3s_own(s3, thumbnail_fn):
    trigger = connect_s3(IN, thumbnail_fn, prefix="uploads/", suffix=".jpg")
    for key in ("uploads/a.jpg", "other/b.jpg", "uploads/c.png"):
        upload(s3, key, "vacation.jpg")
    report = trigger.drain()
    assert [d.label for d in report.deliveries] == ["ObjectCreated:Put uploads/a.jpg"]
    config = s3.get_bucket_notification_configuration(Bucket=IN)["QueueConfigurations"]
    rules = [(r["Name"].lower(), r["Value"]) for c in config for r in c["Filter"]["Key"]["FilterRules"]]
    assert rules == [("prefix", "uploads/"), ("suffix", ".jpg")]  # AWS shows the names as Prefix / Suffix


def test_connecting_again_replaces_the_configuration_and_keeps_others(s3, thumbnail_fn):
    other = LambdaFunction("other-fn", lambda event, context: None)
    connect_s3(IN, other, suffix=".txt")
    connect_s3(IN, thumbnail_fn, suffix=".png")
    trigger = connect_s3(IN, thumbnail_fn, suffix=".jpg")
    ids = [c["Id"] for c in s3.get_bucket_notification_configuration(Bucket=IN)["QueueConfigurations"]]
    assert sorted(ids) == ["lambdalab-other-fn", "lambdalab-thumbnail"]
    upload(s3, "x.jpg", "vacation.jpg")
    assert len(trigger.drain().deliveries) == 1


def test_a_second_function_for_the_same_events_and_keys_is_refused_as_s3_refuses_it(s3, thumbnail_fn):
    other = LambdaFunction("other-fn", lambda event, context: None)
    first = connect_s3(IN, thumbnail_fn, prefix="photos/")
    with pytest.raises(ValueError, match="Configurations overlap.*already sends these events.*lambdalab-thumbnail"):
        connect_s3(IN, other, prefix="photos/2024/")
    ids = [c["Id"] for c in s3.get_bucket_notification_configuration(Bucket=IN)["QueueConfigurations"]]
    assert ids == ["lambdalab-thumbnail"]  # the bucket keeps what it had, the refused trigger's queue is gone
    assert not aws.client("sqs").list_queues(QueueNamePrefix=f"lambdalab-s3-{IN}-other-fn").get("QueueUrls")
    second = connect_s3(IN, other, prefix="archive/")  # keys that cannot overlap: fine
    second.disconnect()
    first.disconnect()
    other.shutdown()


@pytest.mark.parametrize("kwargs, message", [
    ({"bucket": "no-such-bucket"}, "does not exist"),
    ({"events": ["s3:ObjectCreated"]}, "Unknown S3 event type"),
    ({"on_failure": "no-such-queue"}, "does not exist"),
])
def test_bad_configuration_is_refused_clearly(s3, thumbnail_fn, kwargs, message):
    with pytest.raises(ValueError, match=message):
        connect_s3(**{"bucket": IN, "function": thumbnail_fn, **kwargs})


# --- recursion -----------------------------------------------------------------------------------------------------

def naive_same_bucket_handler():
    """The recursion trap: writes its output into the bucket that triggers it (defined here, shipped by value)."""
    def handler(event, context):
        from urllib.parse import unquote_plus

        import boto3

        s3 = boto3.client("s3")
        for record in event["Records"]:
            bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
            s3.put_object(Bucket=bucket, Key=f"copy-{key}", Body=b"thumbnail")
    return handler


def test_a_loop_is_stopped_after_16_invocations_and_sent_to_the_destination(s3):
    aws.client("sqs").create_queue(QueueName="failed-events")
    # a client made in the handler is ~0.3 s of CPU, ~4 s at 128 MB: a full vCPU keeps this test fast
    function = LambdaFunction("loop-fn", naive_same_bucket_handler(), memory_mb=1769)
    trigger = connect_s3(IN, function, on_failure="failed-events")
    s3.put_object(Bucket=IN, Key="start.jpg", Body=b"x")
    report = trigger.drain()
    assert len(report.invocations) == LOOP_LIMIT == 16
    (stopped,) = report.loop_stops
    assert stopped.depth == 17 and stopped.attempts == []
    assert LOOP_MESSAGE in repr(report) and html.escape(LOOP_MESSAGE) in report._repr_html_()
    assert len(keys(s3, IN)) == 17  # start.jpg + 16 copies; the 17th invocation never ran
    url = aws.client("sqs").get_queue_url(QueueName="failed-events")["QueueUrl"]
    (message,) = aws.client("sqs").receive_message(QueueUrl=url).get("Messages", [])
    assert json.loads(message["Body"])["requestContext"]["condition"] == "RecursiveInvocationException"
    function.shutdown()


def test_same_bucket_with_a_prefix_filter_does_not_loop(s3, thumbnail_fn):
    thumbnail_fn.update(environment={"OUTPUT_BUCKET": IN, "OUTPUT_PREFIX": "thumbnails/"})
    try:
        trigger = connect_s3(IN, thumbnail_fn, prefix="uploads/")
        upload(s3, "uploads/vacation.jpg", "vacation.jpg")
        report = trigger.drain()
        assert len(report.invocations) == 1 and keys(s3, IN) == ["thumbnails/uploads/thumb-vacation.jpg",
                                                                  "uploads/vacation.jpg"]
        trigger = connect_s3(IN, thumbnail_fn)  # no filter: the handler's own guard stops the chain at its output
        upload(s3, "uploads/beach.jpg", "vacation.jpg")
        report = trigger.drain()
        assert [d.depth for d in report.deliveries] == [1, 2]
        assert report.responses[1]["skipped"][0]["key"] == "thumbnails/uploads/thumb-beach.jpg"
    finally:
        thumbnail_fn.update(environment={"OUTPUT_BUCKET": OUT})


def test_the_handler_refuses_its_own_bucket_without_a_prefix(s3, thumbnail_fn):
    thumbnail_fn.update(environment={"OUTPUT_BUCKET": IN})
    try:
        trigger = connect_s3(IN, thumbnail_fn)
        upload(s3, "vacation.jpg", "vacation.jpg")
        report = trigger.drain()
        assert len(report.invocations) == 1 and keys(s3, IN) == ["vacation.jpg"]
        assert "recursive loop" in report.responses[0]["rejected"][0]["reason"]
    finally:
        thumbnail_fn.update(environment={"OUTPUT_BUCKET": OUT})


# --- retries, destinations, duplicates -----------------------------------------------------------------------------

def test_errors_are_retried_twice_with_back_off_then_sent_to_the_destination(s3):
    aws.client("sqs").create_queue(QueueName="thumbnail-failures")
    function = LambdaFunction("no-output", HANDLER, timeout_s=30, environment={"OUTPUT_BUCKET": "missing-bucket"})
    trigger = connect_s3(IN, function, on_failure="thumbnail-failures")
    upload(s3, "vacation.jpg", "vacation.jpg")
    started = clock.now()
    report = trigger.drain()
    (delivery,) = report.deliveries
    assert delivery.outcome == "failed" and len(delivery.attempts) == 3 and report.retries == 2
    gaps = [b - a for a, b in zip(delivery.times, delivery.times[1:])]  # back-off counts from the attempt's end
    assert 60 <= gaps[0] < 65 and 120 <= gaps[1] < 125 and clock.now() - started >= 180  # simulated minutes
    assert all(i.error["errorType"] == "NoSuchBucket" for i in delivery.attempts)
    assert len({i.request_id for i in delivery.attempts}) == 1, "Lambda keeps an async event's request ID"
    url = aws.client("sqs").get_queue_url(QueueName="thumbnail-failures")["QueueUrl"]
    (message,) = aws.client("sqs").receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["requestId"] == delivery.attempts[0].request_id
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"] == f"{function.arn}:$LATEST"
    assert record["requestPayload"] == delivery.event
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "NoSuchBucket"
    assert s3.get_object(Bucket=IN, Key="vacation.jpg")["Body"].read() == (IMAGES / "vacation.jpg").read_bytes()
    function.shutdown()


def test_a_failure_that_clears_up_succeeds_on_retry_and_without_a_destination_is_discarded(s3):
    def flaky(event, context):
        import os
        import tempfile

        marker = os.path.join(tempfile.gettempdir(), "attempted")
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("S3 was throttling (SlowDown)")
        return "ok"

    function = LambdaFunction("flaky", flaky)
    trigger = connect_s3(IN, function)
    s3.put_object(Bucket=IN, Key="a.jpg", Body=b"x")
    report = trigger.drain()
    assert [d.outcome for d in report.deliveries] == ["ok"] and report.retries == 1
    function.update(handler=lambda event, context: 1 / 0)
    s3.put_object(Bucket=IN, Key="b.jpg", Body=b"x")
    report = trigger.drain()
    assert report.deliveries[0].outcome == "failed" and not report.deliveries[0].sent_to_destination
    assert "discarded" in repr(report)
    function.shutdown()


def _messages(queue_name):
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_an_on_success_destination_receives_each_successful_invocations_record(s3, thumbnail_fn):
    aws.client("sqs").create_queue(QueueName="thumbnail-done")
    trigger = connect_s3(IN, thumbnail_fn, on_success="thumbnail-done")
    upload(s3, "vacation.jpg", "vacation.jpg")
    report = trigger.drain()
    (record,) = _messages("thumbnail-done")
    assert report.successes == [record]
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"] == f"{thumbnail_fn.arn}:$LATEST"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == report.deliveries[0].event
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}  # no functionError
    assert record["responsePayload"]["processed"][0]["output_key"] == "thumb-vacation.jpg"


def test_an_event_older_than_the_maximum_event_age_is_not_retried_but_discarded(s3):
    aws.client("sqs").create_queue(QueueName="too-old")
    function = LambdaFunction("always-fails", lambda event, context: 1 / 0)
    trigger = connect_s3(IN, function, on_failure="too-old", max_event_age_s=100)
    s3.put_object(Bucket=IN, Key="a.jpg", Body=b"x")
    report = trigger.drain()
    (delivery,) = report.deliveries
    # attempt 1 at 0 s, the retry at ~60 s (younger than 100 s), the next one would be at ~180 s: too old
    assert delivery.outcome == "failed" and len(delivery.attempts) == 2
    (record,) = _messages("too-old")
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert "too old to retry" in repr(report)
    for bad in (59, 21_601, 90.5):
        with pytest.raises(ValueError, match="60 to 21,600 seconds"):
            connect_s3(IN, function, max_event_age_s=bad)
    function.shutdown()


def test_duplicate_deliveries_are_harmless(s3, thumbnail_fn):
    trigger = connect_s3(IN, thumbnail_fn, duplicates=1.0)
    upload(s3, "photos/vacation.jpg", "vacation.jpg")
    report = trigger.drain()
    assert len(report.invocations) == 2 and report.duplicates == 1
    assert all(d.outcome == "ok" for d in report.deliveries)
    assert keys(s3) == ["photos/thumb-vacation.jpg"]
    assert report.responses[0]["processed"] == report.responses[1]["processed"]  # same thumbnail, same bytes


def test_the_report_reads_well(s3, thumbnail_fn):
    trigger = connect_s3(IN, thumbnail_fn)
    upload(s3, "photos/vacation.jpg", "vacation.jpg")
    report = trigger.drain()
    assert "1 deliveries, 1 invocations, 0 retries" in repr(report)
    assert "ObjectCreated:Put photos/vacation.jpg" in report._repr_html_()
    assert trigger.pending == 0 and "S3Trigger(s3://input-bucket" in repr(trigger)


def test_an_event_lambda_would_refuse_is_refused_when_sent_and_nothing_else_is_lost(s3, thumbnail_fn):
    """Asynchronous invocation takes at most 1 MB of JSON; a bad event used to crash drain() halfway."""
    trigger = connect_s3(IN, thumbnail_fn)
    with pytest.raises(ValueError, match=r"1 MB\)\. Put large data in S3"):
        trigger.send({"Records": [], "padding": "x" * (1024 * 1024)})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        trigger.send({"Records": [], "when": object()})
    upload(s3, "photos/vacation.jpg", "vacation.jpg")
    report = trigger.drain()
    assert [d.outcome for d in report.deliveries] == ["ok"] and trigger.pending == 0


def test_every_event_type_s3_accepts_is_accepted(s3, thumbnail_fn):
    from lambdalab.triggers.s3 import EVENT_TYPES

    assert len(EVENT_TYPES) == 27 and "s3:LifecycleExpiration:Delete" in EVENT_TYPES
    trigger = connect_s3(IN, thumbnail_fn, events=["s3:ObjectRestore:Completed", "s3:ObjectTagging:Put"])
    (config,) = s3.get_bucket_notification_configuration(Bucket=IN)["QueueConfigurations"]
    assert config["Events"] == ["s3:ObjectRestore:Completed", "s3:ObjectTagging:Put"]
    trigger.disconnect()
