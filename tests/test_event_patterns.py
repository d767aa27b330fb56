"""The pattern sandbox and the moto patch behind it: verdicts on the examples of AWS's "Content filtering in Amazon
EventBridge event patterns" page and Event Ruler's README, one case per operator (a match and a miss), the reasons
given for a miss, and EventBridge's InvalidEventPatternException for patterns it refuses."""
import json

import pytest

from lambdalab.triggers import test_pattern as sandbox
from lambdalab.triggers.patterns import InvalidEventPatternException

EC2_EVENT = {  # AWS's example event (Event Ruler README), used by several of the documentation's patterns
    "version": "0", "id": "ddddd4-aaaa-7777-4444-345dd43cc333", "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2", "account": "012345679012", "time": "2017-10-02T16:24:49Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
               "instance-id": "i-000000aaaaaa00000", "state": "running"},
}


def with_detail(**detail):
    return {**EC2_EVENT, "detail": detail}


# (name, pattern, an event it matches, an event it does not match)
CASES = [
    ("exact", {"detail": {"state": ["initializing", "running"]}}, EC2_EVENT, with_detail(state="stopped")),
    ("exact number equals its other spellings", {"detail": {"x-limit": [3.018e2]}}, EC2_EVENT,
     with_detail(**{"x-limit": 301.9})),
    ("prefix", {"time": [{"prefix": "2017-10-02"}]}, EC2_EVENT, {**EC2_EVENT, "time": "2017-10-03T16:24:49Z"}),
    ("prefix ignoring case", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
     with_detail(service="EVENTBRIDGE"), with_detail(service="Lambda")),
    ("suffix", {"detail": {"FileName": [{"suffix": ".png"}]}}, with_detail(FileName="photo.png"),
     with_detail(FileName="photo.PNG")),
    ("suffix ignoring case", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
     with_detail(FileName="photo.PNG"), with_detail(FileName="photo.jpg")),
    ("equals-ignore-case", {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
     EC2_EVENT, {**EC2_EVENT, "detail-type": "EC2 Spot Instance Interruption Warning"}),
    ("wildcard", {"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}},
     with_detail(EventBusArn="arn:aws:events:us-east-1:123456789012:event-bus/orders"),
     with_detail(EventBusArn="arn:aws:events:eu-west-1:123456789012:event-bus/orders")),
    ("wildcard with an escaped asterisk", {"detail": {"name": [{"wildcard": "a\\*b"}]}},
     with_detail(name="a*b"), with_detail(name="axb")),
    ("anything-but a string", {"detail": {"state": [{"anything-but": "initializing"}]}}, EC2_EVENT,
     with_detail(state="initializing")),
    ("anything-but a number", {"detail": {"x-limit": [{"anything-but": 123}]}}, EC2_EVENT,
     with_detail(**{"x-limit": 123})),
    ("anything-but a list of strings", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
     EC2_EVENT, with_detail(state="overloaded")),
    ("anything-but a list of numbers", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, EC2_EVENT,
     with_detail(**{"x-limit": 200})),
    ("anything-but a prefix", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, EC2_EVENT,
     with_detail(state="initializing")),
    ("anything-but a suffix", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
     with_detail(FileName="data.csv"), with_detail(FileName="notes.txt")),
    ("anything-but ignoring case", {"detail": {"state": [{"anything-but": {"equals-ignore-case":
                                                                            ["Stopped", "OverLoaded"]}}]}},
     EC2_EVENT, with_detail(state="STOPPED")),
    ("anything-but a wildcard", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
     with_detail(FilePath="/usr/bin/tool"), with_detail(FilePath="/usr/lib/tool")),
    ("anything-but needs the field", {"detail": {"state": [{"anything-but": "initializing"}]}}, EC2_EVENT,
     with_detail(other="x")),
    ("numeric range", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}],
                                  "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}},
     EC2_EVENT, with_detail(**{"c-count": 6, "d-count": 3, "x-limit": 301.8})),
    ("numeric ignores numbers written as strings", {"detail": {"c-count": [{"numeric": [">=", 5]}]}}, EC2_EVENT,
     with_detail(**{"c-count": "5"})),
    ("cidr IPv4", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2_EVENT,
     with_detail(**{"source-ip": "10.0.1.33"})),
    ("cidr IPv6", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}},
     with_detail(sourceIPAddress="2001:db8::1"), with_detail(sourceIPAddress="2001:db9::1")),
    ("cidr does not treat numbers as addresses", {"detail": {"ip": [{"cidr": "0.0.0.0/8"}]}},
     with_detail(ip="0.0.0.5"), with_detail(ip=5)),
    ("exists true", {"detail": {"state": [{"exists": True}]}}, EC2_EVENT, with_detail(**{"c-count": {"c1": 100}})),
    ("exists false", {"detail": {"c-count": [{"exists": False}]}}, with_detail(state="running"), EC2_EVENT),
    ("exists works on leaves only", {"detail": {"c-count": [{"exists": False}]}},
     with_detail(**{"c-count": {"c1": 100}}), with_detail(**{"c-count": 0})),
    ("null", {"detail": {"responseElements": [None]}}, with_detail(responseElements=None),
     with_detail(other="x")),
    ("empty string", {"detail": {"eventVersion": [""]}}, with_detail(eventVersion=""), with_detail(other="x")),
    ("array of values", {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000",
                                       "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]},
     EC2_EVENT, {**EC2_EVENT, "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-other"]}),
    ("array of objects", {"employees": {"firstName": ["Anna"]}},
     {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]},
     {"employees": [{"firstName": "John", "lastName": "Doe"}]}),
    ("array of objects: fields of one element", {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
     {"employees": [{"firstName": "Anna", "lastName": "Smith"}]},
     {"employees": [{"firstName": "Anna", "lastName": "Doe"}, {"firstName": "Peter", "lastName": "Smith"}]}),
    ("$or", {"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]},
                                {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}},
     with_detail(**{"c-count": 9, "d-count": 3}), with_detail(**{"c-count": 9, "d-count": 30, "x-limit": 1})),
    ("$or with an AND inside", {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]},
        {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]}]},
     {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"},
     {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/S3"}),
    ("true is not the number 1", {"detail": {"ok": [True]}}, with_detail(ok=True), with_detail(ok=1)),
    ("the number 1 is not true", {"detail": {"n": [1]}}, with_detail(n=1), with_detail(n=True)),
    ("numeric never matches a boolean", {"detail": {"n": [{"numeric": [">=", 1]}]}}, with_detail(n=1),
     with_detail(n=True)),
    ("anything-but 1 matches true", {"detail": {"n": [{"anything-but": 1}]}}, with_detail(n=True),
     with_detail(n=1)),
]


@pytest.mark.parametrize("name, pattern, good, bad", CASES, ids=[c[0] for c in CASES])
def test_every_operator_matches_and_misses_as_eventbridge_does(name, pattern, good, bad):
    assert sandbox(pattern, good).matches is True
    result = sandbox(pattern, bad)
    assert result.matches is False and result.reasons


def test_a_miss_names_the_field_what_was_wanted_and_what_the_event_had():
    pattern = {"source": ["aws.s3"], "detail": {"object": {"key": [{"suffix": ".zip"}], "size": [{"numeric": [">", 1048576]}]}}}
    event = {"source": "aws.s3", "detail": {"object": {"key": "report.pdf", "size": 10}}}
    result = sandbox(pattern, event)
    assert result.reasons == ['detail.object.key: wanted suffix ".zip", got "report.pdf"',
                              "detail.object.size: wanted a number > 1048576, got 10"]
    assert "report.pdf" in result._repr_html_() and "no match" in str(result)
    missing = sandbox({"detail": {"state": ["running"]}}, {"detail": {}})
    assert missing.reasons == ['detail.state: wanted "running", got no such field']


def test_reasons_for_or_and_arrays():
    result = sandbox({"detail": {"$or": [{"a": [1]}, {"b": [{"prefix": "x"}]}]}}, {"detail": {"a": 2, "b": "y"}})
    assert result.reasons[0] == "detail: none of the 2 $or alternatives matched"
    assert '  alternative 2: detail.b: wanted prefix "x", got "y"' in result.reasons
    split = sandbox({"e": {"first": ["Anna"], "last": ["Smith"]}},
                    {"e": [{"first": "Anna", "last": "Doe"}, {"first": "Bo", "last": "Smith"}]})
    assert 'e[0].last: wanted "Smith", got "Doe"' in split.reasons and 'e[1].first: wanted "Anna", got "Bo"' in split.reasons


def test_patterns_and_events_may_be_json_text_and_the_result_is_truthy():
    assert sandbox('{"source": ["a"]}', '{"source": "a"}')
    assert not sandbox({"source": ["a"]}, {"source": "b"})


INVALID = [
    ([{"source": ["a"]}], "Filter is not an object"),
    ({"source": "aws.s3"}, '"source" must be an object or an array'),
    ({"source": []}, "Empty arrays are not allowed"),
    ({"detail": {}}, "Empty objects are not allowed"),
    ({"a": [{"startswith": "x"}]}, "Unrecognized match type startswith"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
    ({"a": [{"prefix": ["x", "y"]}]}, "prefix match pattern must be a string"),
    ({"a": [{"numeric": [">", "5"]}]}, "Value of > must be numeric"),
    ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "Too many elements in numeric expression"),
    ({"a": [{"numeric": [">", 1, ">", 5]}]}, "Bad numeric range operator: >"),
    ({"a": [{"numeric": ["!=", 1]}]}, "Unrecognized numeric range operator: !="),
    ({"a": [{"numeric": [">", 6e9]}]}, "Value must be between -5000000000.0 and 5000000000.0, inclusive"),
    ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
    ({"a": [{"anything-but": ["x", 1]}]}, "mixed type is not supported"),
    ({"a": [{"anything-but": [True]}]}, "Inside anything but list, start|null|boolean is not supported."),
    ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "Unsupported anything-but pattern: numeric"),
    ({"a": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters at pos 1"),
    ({"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 1"),
    ({"a": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
    ({"a": [{"cidr": "10.0.0.300/24"}]}, "Invalid IP address: 10.0.0.300"),
    ({"a": [["x"]]}, "Match value must be String, number, true, false, or null"),
    ({"$or": [{"a": ["x"]}]}, "There must have at least 2 Objects in $or relationship."),
    ({"$or": [{"prefix": ["x"]}, {"a": ["y"]}]}, "prefix is Ruler reserved fieldName which cannot be used inside $or."),
]


@pytest.mark.parametrize("pattern, reason", INVALID, ids=[r for _, r in INVALID])
def test_invalid_patterns_get_eventbridges_error(pattern, reason):
    with pytest.raises(InvalidEventPatternException) as caught:
        sandbox(pattern, EC2_EVENT)
    assert reason in caught.value.reason
    assert str(caught.value).startswith("Event pattern is not valid. Reason: ")


def test_put_rule_refuses_the_same_patterns_with_the_same_error(backend):
    from botocore.exceptions import ClientError

    from lambdalab import aws

    for pattern, reason in INVALID[:8]:
        with pytest.raises(ClientError) as caught:
            aws.client("events").put_rule(Name="r", EventPattern=json.dumps(pattern))
        assert caught.value.response["Error"]["Code"] == "InvalidEventPatternException"
        assert reason in caught.value.response["Error"]["Message"]
    with pytest.raises(InvalidEventPatternException, match="Invalid JSON"):
        sandbox("{not json", EC2_EVENT)


def test_a_pattern_json_cannot_hold_is_invalid_json_not_a_type_error():
    """A Python set (a common slip for a list) gets EventBridge's error, from the sandbox and from compile_pattern."""
    from lambdalab.triggers.patterns import compile_pattern

    for check in (lambda p: sandbox(p, EC2_EVENT), compile_pattern):
        with pytest.raises(InvalidEventPatternException, match=r"Invalid JSON: .*set.*as a list"):
            check({"source": {"aws.ec2"}})
    with pytest.raises(InvalidEventPatternException) as caught:
        sandbox({"$or": [{"a": ["x"]}]}, EC2_EVENT)
    assert "relationship.." not in str(caught.value)


def test_the_moto_patch_is_in_force(backend):
    from moto.events.models import EventPattern

    from lambdalab.moto_patches import events

    events.verify()
    pattern = EventPattern.load(json.dumps({"a": {"b": ["x"]}}))
    assert pattern.matches_event({"a": [{"b": "y"}, {"b": "x"}]})  # moto 5.2.5 alone: False
    assert not EventPattern.load('{"ok": [1]}').matches_event({"ok": True})  # moto alone: True


def test_the_test_event_pattern_api_answers_with_the_same_matcher(backend):
    from botocore.exceptions import ClientError

    from lambdalab import aws

    events = aws.client("events")
    for name, pattern, good, bad in CASES[:12]:
        assert events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(good))["Result"], name
        assert not events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(bad))["Result"], name
    with pytest.raises(ClientError, match="InvalidEventPatternException"):
        events.test_event_pattern(EventPattern='{"a": "x"}', Event=json.dumps(EC2_EVENT))


def test_star_import_gives_every_trigger_name():
    namespace = {}
    exec("from lambdalab.triggers import *", namespace)
    for name in ("connect_s3", "connect_kinesis", "connect_dynamodb_stream", "connect_rule", "test_pattern"):
        assert callable(namespace[name]), name
