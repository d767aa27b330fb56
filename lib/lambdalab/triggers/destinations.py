"""On-failure destinations: where Lambda sends what it gave up on (one resolver for S3 triggers and stream mappings).

An asynchronous invocation that failed every attempt sends its *invocation record*; an event source mapping that
discards a batch sends the batch's metadata. Both accept the same forms here: an SQS queue by name, URL or ARN, or an
SNS topic by ARN. AWS also accepts an S3 bucket (streams), a Lambda function or an EventBridge bus (asynchronous
invocation); those are not emulated.
"""
from __future__ import annotations

import json

from .. import aws

FORMS = "an SQS queue (name, URL or ARN) or an SNS topic ARN"


class Destination:
    """A resolved on-failure destination: ``arn`` is what Lambda shows for it; calling it sends one message."""

    def __init__(self, arn: str, queue_url: str | None = None):
        self.arn = arn
        self.queue_url = queue_url  # None for an SNS topic

    def __call__(self, message: dict) -> None:
        body = json.dumps(message)
        if self.queue_url is None:
            aws.client("sns").publish(TopicArn=self.arn, Message=body)
        else:
            aws.client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=body)

    def __repr__(self):
        return f"Destination({self.arn})"


def resolve_destination(target) -> Destination:
    """``target`` (queue name, URL or ARN; topic ARN) -> a ``Destination``, checked to exist on the backend."""
    if not isinstance(target, str) or not target or target.startswith("arn:") and target.split(":")[2:3] not in (
            ["sqs"], ["sns"]):
        raise ValueError(f"An on-failure destination must be {FORMS}; got {target!r}.")
    try:
        if target.startswith("arn:aws:sns:"):
            aws.client("sns").get_topic_attributes(TopicArn=target)
            arn, url = target, None
        else:
            sqs = aws.client("sqs")
            if target.startswith("arn:"):
                _, _, _, _, account, name = target.split(":", 5)
                url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            elif target.startswith(("http://", "https://")):
                url = target
            else:
                url = sqs.get_queue_url(QueueName=target)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    except Exception as exc:
        name = target.rsplit(":", 1)[-1] if target.startswith("arn:") else target.rstrip("/").rsplit("/", 1)[-1]
        raise ValueError(f"The on-failure destination {target!r} does not exist on the backend ({exc}). Create it "
                         f"first, e.g. aws.client('sqs').create_queue(QueueName={name!r}).") from None
    if arn.endswith(".fifo"):  # Lambda cannot deliver to one (its DestinationDeliveryFailures metric counts them)
        raise ValueError(f"The on-failure destination {target!r} is a FIFO {'topic' if url is None else 'queue'}, "
                         "which Lambda does not support as a destination: use a standard SQS queue or SNS topic.")
    return Destination(arn, url)
