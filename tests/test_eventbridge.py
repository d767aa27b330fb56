"""EventBridge rules -> a Lambda function, end to end on moto: real rules, buses and targets, the course's runtime, and
Lambda's asynchronous model (retries, on-failure destination). Also what a target receives (the moto patch),
S3 -> EventBridge -> rule -> function, schedules on the simulated clock and the infinite-loop trap."""
import json
import re
from datetime import datetime, timezone

import pytest

from lambdalab import aws, clock
from lambdalab.runtime import LambdaFunction
from lambdalab.triggers import connect_rule
from lambdalab.triggers.eventbridge import Schedule, send_event, send_s3_events_to_eventbridge
from test_event_patterns import CASES

ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


@pytest.fixture(scope="module")
def echo():
    """One function for the module, so most tests run warm (moto is wiped between tests, the workers are not)."""
    aws.start()
    function = LambdaFunction("echo", "eventbridge_handlers.echo")
    yield function
    function.shutdown()


def detail_cases():
    """The operator cases whose events differ only in ``detail`` (what PutEvents lets a test choose freely)."""
    for name, pattern, good, bad in CASES:
        if set(pattern) == {"detail"} and {k: v for k, v in good.items() if k != "detail"} == \
                {k: v for k, v in bad.items() if k != "detail"} and "ok" not in good["detail"]:
            yield pytest.param(pattern["detail"], good["detail"], bad["detail"], id=name)


@pytest.mark.parametrize("detail_pattern, good, bad", list(detail_cases()))
def test_rules_deliver_matching_events_and_no_others_for_every_operator(backend, echo, detail_pattern, good, bad):
    trigger = connect_rule("op-rule", echo, pattern={"source": ["test.ops"], "detail": detail_pattern})
    send_event("test.ops", "Case", bad)
    good_id = send_event("test.ops", "Case", good)
    send_event("other.source", "Case", good)
    report = trigger.drain()
    assert [r["id"] for r in report.responses] == [good_id]
    assert report.responses[0]["detail"] == good


def test_the_event_a_function_receives_has_eventbridges_envelope(backend, echo):
    trigger = connect_rule("orders", echo, pattern={"source": ["shop.orders"]})
    clock.advance(3600)
    event_id = send_event("shop.orders", "Order Placed", {"order": 7, "paid": True}, resources=["arn:aws:x"])
    (event,) = trigger.drain().responses
    assert set(event) == ENVELOPE and event["id"] == event_id
    assert event["account"] == backend.account_id and event["region"] == backend.region
    sent = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    assert abs(sent - clock.now()) < 30  # stamped with the simulated clock, an hour ahead of the wall clock
    assert event["detail"] == {"order": 7, "paid": True} and event["resources"] == ["arn:aws:x"]


def test_a_plain_moto_rule_with_an_sqs_target_gets_the_same_envelope(backend):
    """The correction is in moto itself: a rule made with boto3 alone delivers AWS's shape too."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="plain", EventPattern=json.dumps({"time": [{"prefix": clock.now_datetime().strftime("%Y")}]}))
    events.put_targets(Rule="plain", Targets=[{"Id": "q", "Arn": arn}])
    send_event("any.source", "Thing", {"x": 1})
    body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert set(body) == ENVELOPE and body["account"] == backend.account_id and body["time"].endswith("Z")


def test_a_disabled_rule_delivers_nothing_until_enabled_again(backend, echo):
    trigger = connect_rule("orders", echo, pattern={"source": ["shop"]})
    aws.client("events").disable_rule(Name="orders")
    send_event("shop", "Order Placed", {"id": 1})
    assert trigger.drain().responses == []
    aws.client("events").enable_rule(Name="orders")
    send_event("shop", "Order Placed", {"id": 2})
    assert [e["detail"]["id"] for e in trigger.drain().responses] == [2]


def test_custom_bus_input_path_and_input_transformer(backend, echo):
    with pytest.raises(ValueError, match="create_event_bus"):
        connect_rule("r", echo, pattern={"source": ["a"]}, bus="orders-bus")
    aws.client("events").create_event_bus(Name="orders-bus")
    whole = connect_rule("r", echo, pattern={"source": ["a"]}, bus="orders-bus", input_path="$.detail")
    send_event("a", "Order Placed", {"id": 1}, bus="orders-bus")
    send_event("a", "Order Placed", {"id": 2})  # the default bus: this rule never sees it
    assert whole.drain().responses == [{"id": 1}]
    shaped = connect_rule("t", echo, pattern={"source": ["a"]}, input_transformer={
        "InputPathsMap": {"id": "$.detail.id", "kind": "$.detail-type"},
        "InputTemplate": '{"order": <id>, "what": "<kind> #<id>"}'})
    text = connect_rule("s", echo, pattern={"source": ["a"]}, input_transformer={
        "InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '"Order <id> arrived"'})
    send_event("a", "Order Placed", {"id": 3})
    assert shaped.drain().responses == [{"order": 3, "what": "Order Placed #3"}]
    assert text.drain().responses == ["Order 3 arrived"]


def test_cross_account_routing_needs_the_bus_policy(backend, echo):
    from lambdalab.triggers.eventbridge import account_client

    events = aws.client("events")
    events.create_event_bus(Name="central-audit")
    audit = connect_rule("audit", echo, pattern={"source": ["shop"]}, bus="central-audit")
    shop = account_client("events", "111122223333")
    shop.put_rule(Name="forward", EventPattern=json.dumps({"source": ["shop"]}))
    shop.put_targets(Rule="forward", Targets=[{"Id": "central", "Arn": events.describe_event_bus(
        Name="central-audit")["Arn"], "RoleArn": "arn:aws:iam::111122223333:role/put-events"}])

    def shop_sends(order):
        shop.put_events(Entries=[{"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps(order)}])

    shop_sends({"id": 1})
    assert audit.drain().responses == []  # no policy yet: EventBridge drops it
    events.put_permission(EventBusName="central-audit", Action="events:PutEvents", Principal="111122223333",
                          StatementId="from-shop")
    shop_sends({"id": 2})
    (event,) = audit.drain().responses
    assert event["account"] == "111122223333" and event["detail"] == {"id": 2}  # the sender's account, kept


def test_up_to_five_targets_per_rule(backend):
    functions = [LambdaFunction(f"fan-{n}", "eventbridge_handlers.echo") for n in range(6)]
    try:
        triggers = [connect_rule("fan", f, pattern={"source": ["a"]}) for f in functions[:5]]
        with pytest.raises(ValueError, match="at most 5"):
            connect_rule("fan", functions[5], pattern={"source": ["a"]})
        send_event("a", "Thing", {"n": 1})
        assert [len(t.drain().responses) for t in triggers] == [1] * 5
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError, match="LimitExceededException"):  # plain boto3 too, as on AWS
            aws.client("events").put_targets(Rule="fan", Targets=[{"Id": "sixth", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
        triggers[0].disconnect()
        assert len(aws.client("events").list_targets_by_rule(Rule="fan")["Targets"]) == 4
    finally:
        for f in functions:
            f.shutdown()


def test_retries_then_the_on_failure_destination(backend):
    sqs = aws.client("sqs")
    dlq = sqs.create_queue(QueueName="failed-orders")["QueueUrl"]
    failing = LambdaFunction("fails", "eventbridge_handlers.always_fails")
    try:
        trigger = connect_rule("orders", failing, pattern={"source": ["shop"]}, on_failure="failed-orders")
        event_id = send_event("shop", "Order Placed", {"id": 9})
        report = trigger.drain()
        (delivery,) = report.deliveries
        assert len(delivery.attempts) == 3 and report.retries == 2 and delivery.outcome == "failed"
        gaps = [later - earlier for earlier, later in zip(delivery.times, delivery.times[1:])]
        assert 60 <= gaps[0] < 70 and 120 <= gaps[1] < 130  # 1 then 2 minutes after each attempt ends
        record = json.loads(sqs.receive_message(QueueUrl=dlq)["Messages"][0]["Body"])
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestPayload"]["id"] == event_id
        assert record["responsePayload"]["errorType"] == "RuntimeError"
    finally:
        failing.shutdown()


def test_s3_upload_through_eventbridge_to_the_function(backend, echo):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="reports-inbox")
    send_s3_events_to_eventbridge("reports-inbox")
    trigger = connect_rule("zip-uploads", echo, pattern={
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["reports-inbox"]}, "object": {"key": [{"suffix": ".zip"}]}}})
    aws.client("events").create_event_bus(Name="elsewhere")
    other_bus = connect_rule("zip-uploads", LambdaFunction("other", "eventbridge_handlers.echo"),
                             pattern={"source": ["aws.s3"]}, bus="elsewhere")
    for key in ("q3/sales.zip", "q3/notes.pdf", "archive.zip.txt", "q4/big data.zip"):
        s3.put_object(Bucket="reports-inbox", Key=key, Body=b"x" * 100)
    events = trigger.drain().responses
    assert [e["detail"]["object"]["key"] for e in events] == ["q3/sales.zip", "q4/big data.zip"]
    obj = events[0]["detail"]["object"]
    assert obj["etag"] and obj["size"] == 100 and "eTag" not in obj and "version-id" not in obj
    assert events[0]["detail"]["reason"] == "PutObject" and events[0]["resources"] == ["arn:aws:s3:::reports-inbox"]
    assert other_bus.drain().responses == []  # S3 sends to the default bus only
    other_bus.function.shutdown()
    send_s3_events_to_eventbridge("reports-inbox", enabled=False)
    s3.put_object(Bucket="reports-inbox", Key="late.zip", Body=b"x")
    assert trigger.drain().responses == []


def test_deleting_an_object_sends_object_deleted(backend, echo):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="scratch-area")
    send_s3_events_to_eventbridge("scratch-area")
    trigger = connect_rule("deletes", echo, pattern={"source": ["aws.s3"], "detail-type": ["Object Deleted"]})
    s3.put_object(Bucket="scratch-area", Key="a.txt", Body=b"1")
    s3.delete_object(Bucket="scratch-area", Key="a.txt")
    (event,) = trigger.drain().responses
    assert event["detail"]["reason"] == "DeleteObject" and event["detail"]["deletion-type"] == "Permanently Deleted"
    assert "size" not in event["detail"]["object"]  # AWS's "Object Deleted" carries no size


def test_a_versioned_delete_sends_delete_marker_created_and_every_event_has_its_own_id(backend, echo):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="kept-versions")
    s3.put_bucket_versioning(Bucket="kept-versions", VersioningConfiguration={"Status": "Enabled"})
    send_s3_events_to_eventbridge("kept-versions")
    trigger = connect_rule("all-s3", echo, pattern={"source": ["aws.s3"]})
    s3.put_object(Bucket="kept-versions", Key="a.txt", Body=b"1")
    s3.put_object(Bucket="kept-versions", Key="a.txt", Body=b"22")
    s3.delete_object(Bucket="kept-versions", Key="a.txt")  # a delete marker: the call itself must succeed
    events = trigger.drain().responses
    assert [e["detail-type"] for e in events] == ["Object Created", "Object Created", "Object Deleted"]
    assert len({e["id"] for e in events}) == 3 and len({e["detail"]["request-id"] for e in events}) == 3
    deleted = events[-1]["detail"]
    assert deleted["deletion-type"] == "Delete Marker Created" and "size" not in deleted["object"]
    assert deleted["object"]["etag"] == "d41d8cd98f00b204e9800998ecf8427e" and deleted["object"]["version-id"]
    assert events[1]["detail"]["object"]["size"] == 2 and events[1]["detail"]["object"]["version-id"]


def test_schedules_fire_the_right_number_of_times_over_a_simulated_day(backend, echo):
    before = clock.now()
    hourly = connect_rule("hourly", echo, schedule="rate(1 hour)")
    every5 = connect_rule("every-5", echo, schedule="rate(5 minutes)")
    noon = connect_rule("noon", echo, schedule="cron(0 12 * * ? *)")
    weekdays = connect_rule("weekday-9", echo, schedule="cron(0 9 ? * MON-FRI *)")
    after = clock.now()
    clock.advance(86400)
    assert hourly.pending == 24
    events = hourly.drain().responses
    assert len(events) == 24 and len(every5.drain().responses) == 288
    assert len(noon.drain().responses) == 1
    assert len(weekdays.drain().responses) in (0, 1)
    event = events[0]
    assert set(event) == ENVELOPE and event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [hourly.rule_arn] and event["detail"] == {}
    fired = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    # an hour after the rule was created (the event's time is in whole seconds)
    assert before + 3600 - 1 <= fired <= after + 3600 + 1
    send_event("any.source", "Thing", {"x": 1})  # a scheduled rule has no pattern: bus events never reach it
    assert noon.drain().responses == []
    clock.advance(6 * 86400)
    assert len(weekdays.drain().responses) in (4, 5, 6) and len(hourly.drain().responses) == 144
    assert hourly.drain().responses == []  # nothing fires twice


@pytest.mark.parametrize("bad", ["rate(1 minutes)", "rate(5 minute)", "rate(0 hours)", "cron(0 12 * * * *)",
                                 "cron(0 12 * *)", "every 5 minutes"])
def test_bad_schedule_expressions_are_refused(bad):
    with pytest.raises(ValueError, match="ScheduleExpression is not valid"):
        Schedule(bad)


def test_a_rule_needs_a_pattern_or_a_schedule(backend, echo):
    with pytest.raises(ValueError, match="either pattern"):
        connect_rule("r", echo)
    with pytest.raises(ValueError, match="default event bus"):
        aws.client("events").create_event_bus(Name="b2")
        connect_rule("r", echo, schedule="rate(1 hour)", bus="b2")


def test_the_infinite_loop_is_bounded_and_reported(backend):
    looping = LambdaFunction("emits-again", "eventbridge_handlers.emits_again")
    try:
        trigger = connect_rule("orders-loop", looping, pattern={"source": ["shop.orders"]})
        send_event("shop.orders", "Order Placed", {"count": 0})
        report = trigger.drain(max_invocations=20)
        assert report.stopped_early and len(report.invocations) == 20 and report.left_pending == 1
        assert report.responses == list(range(1, 21))
        assert [d.depth for d in report.deliveries] == list(range(1, 21))  # one chain, never stopped by Lambda
        assert "Lambda does not stop EventBridge loops" in report.summary()
        assert trigger.pending >= 1  # nothing dropped: the next drain() carries on
        trigger.disconnect()
    finally:
        looping.shutdown()


def test_the_input_transformers_predefined_variables(backend, echo):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="transform-me")
    send_s3_events_to_eventbridge("transform-me")
    trigger = connect_rule("named-rule", echo, pattern={"source": ["aws.s3"]}, input_transformer={
        "InputPathsMap": {"key": "$.detail.object.key"},
        "InputTemplate": '{"key": <key>, "rule": <aws.events.rule-name>, "arn": <aws.events.rule-arn>, '
                         '"at": <aws.events.event.ingestion-time>, "envelope": <aws.events.event>, '
                         '"said": "<aws.events.rule-name> saw <key>"}'})
    s3.put_object(Bucket="transform-me", Key="a.txt", Body=b"1")
    (got,) = trigger.drain().responses
    assert got["key"] == "a.txt" and got["rule"] == "named-rule" and got["said"] == "named-rule saw a.txt"
    assert got["arn"] == "arn:aws:events:us-east-1:123456789012:rule/named-rule"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got["at"])
    assert got["envelope"]["source"] == "aws.s3" and "detail" not in got["envelope"]


def test_a_rule_targets_functions_destinations_are_lambdas_own(backend, echo):
    """EventBridge invokes the function asynchronously, so Lambda's on-success destination receives each record."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="orders-done")["QueueUrl"]
    trigger = connect_rule("orders-ok", echo, pattern={"source": ["shop"]}, on_success="orders-done")
    event_id = send_event("shop", "Order Placed", {"order": 1})
    report = trigger.drain()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert report.successes == [record] and record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"]["id"] == event_id and record["responsePayload"]["id"] == event_id
