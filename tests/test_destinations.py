"""One on-failure destination resolver for S3 triggers and stream mappings: the same forms accepted by both."""
import json

import pytest

from lambdalab import aws
from lambdalab.triggers import connect_kinesis, connect_s3
from lambdalab.triggers.destinations import resolve_destination


@pytest.fixture
def queue(backend):
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"name": "failures", "url": url, "arn": arn}


@pytest.mark.parametrize("form", ["name", "url", "arn"])
def test_a_queue_by_name_url_or_arn_resolves_to_the_same_queue(queue, form):
    destination = resolve_destination(queue[form])
    assert destination.arn == queue["arn"] and destination.queue_url == queue["url"]
    destination({"hello": form})
    body = aws.client("sqs").receive_message(QueueUrl=queue["url"])["Messages"][0]["Body"]
    assert json.loads(body) == {"hello": form}


def test_a_topic_arn_resolves_and_publishes(backend):
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="failures-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="topic-copy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    destination = resolve_destination(topic)
    assert destination.arn == topic and destination.queue_url is None
    destination({"via": "sns"})
    assert json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]) == {"via": "sns"}


@pytest.mark.parametrize("target,message", [
    ("missing", "does not exist.*create_queue\\(QueueName='missing'\\)"),
    ("arn:aws:sqs:us-east-1:123456789012:missing", "does not exist"),
    ("arn:aws:sns:us-east-1:123456789012:missing", "does not exist"),
    ("arn:aws:s3:::a-bucket", "must be an SQS queue \\(name, URL or ARN\\) or an SNS topic ARN"),
    (42, "must be an SQS queue"),
    ("", "must be an SQS queue"),
])
def test_a_wrong_or_missing_destination_says_what_to_do(backend, target, message):
    with pytest.raises(ValueError, match=message):
        resolve_destination(target)


def test_a_fifo_queue_or_topic_is_refused_as_lambda_cannot_deliver_to_it(backend):
    url = aws.client("sqs").create_queue(QueueName="failures.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for form in ("failures.fifo", url):
        with pytest.raises(ValueError, match="is a FIFO queue, which Lambda does not support as a destination"):
            resolve_destination(form)
    topic = aws.client("sns").create_topic(Name="failures.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(ValueError, match="is a FIFO topic"):
        resolve_destination(topic)


def test_s3_and_streams_accept_the_same_forms(queue, new_function):
    aws.client("s3").create_bucket(Bucket="dest-bucket")
    aws.client("kinesis").create_stream(StreamName="dest-stream", ShardCount=1)
    function = new_function("stream_handlers.echo", name="echo")
    for form in ("name", "url", "arn"):
        trigger = connect_s3("dest-bucket", function, on_failure=queue[form])
        assert trigger.invoker.on_failure.arn == queue["arn"]
        mapping = connect_kinesis("dest-stream", function, on_failure=queue[form])
        assert mapping.describe()["DestinationConfig"] == {"OnFailure": {"Destination": queue["arn"]}}
