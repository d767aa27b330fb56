"""Amazon S3 event notifications to a Lambda function: ``connect_s3(bucket, function, ...)``.

On AWS the bucket's notification configuration names the function (``LambdaFunctionConfigurations``) and S3 invokes
it asynchronously with one record per event. moto cannot run a Lambda function, so the trigger configures a real
notification to an SQS queue of its own (``QueueConfigurations``; the prefix, suffix and event-type filters are S3's
own), and ``drain()`` turns each message into the event Lambda would receive and invokes the function through
Lambda's asynchronous model (``async_invoke``: retries, on-failure destination, duplicates, recursive loop detection).

Where moto's record differs from AWS's, the trigger fills it in to AWS's shape (see ``lambda_record``).
"""
from __future__ import annotations

import itertools
import json
import re
import time
from urllib.parse import quote_plus, unquote_plus

from .. import aws, clock
from ..moto_patches.s3_events import EVENT_VERSION, s3_object
from ..runtime import InvokeTarget, check_invoke_target
from .async_invoke import MAX_EVENT_AGE_S, AsyncInvoker, AsyncReport, take_all

EVENT_TYPES = (  # every event type S3 notifications accept (Amazon S3 User Guide, "Supported event types")
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRestore:*", "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete", "s3:ReducedRedundancyLostObject", "s3:Replication:*",
    "s3:Replication:OperationFailedReplication", "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold", "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition", "s3:IntelligentTiering", "s3:ObjectTagging:*", "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put",
)
_sequencer = itertools.count(1)


def connect_s3(bucket: str, function: InvokeTarget, prefix: str | None = None, suffix: str | None = None,
               events=("s3:ObjectCreated:*",), on_failure: str | None = None, max_retries: int = 2,
               duplicates: float = 0.0, *, on_success: str | None = None,
               max_event_age_s: int = MAX_EVENT_AGE_S[1]) -> "S3Trigger":
    """Make every matching change in ``bucket`` invoke ``function`` (a ``runtime.LambdaFunction``) asynchronously.

    ``prefix`` / ``suffix`` filter object keys (``"uploads/"``, ``".jpg"``); ``events`` are S3 event types.
    ``on_failure`` is an SQS queue (name, URL or ARN) or SNS topic (ARN) for events that fail every attempt (or grow
    older than ``max_event_age_s``, 60 to 21,600); ``on_success`` one for the record of each success. ``duplicates`` (0 to 1)
    delivers that share of events twice, as S3 and Lambda sometimes do. Calling it again for the same bucket and
    function replaces the earlier configuration. Call ``.drain()`` to deliver what is pending.
    """
    return S3Trigger(bucket, function, prefix, suffix, events, on_failure, max_retries, duplicates,
                     on_success=on_success, max_event_age_s=max_event_age_s)


class S3Trigger:
    """A bucket's notifications wired to a function. ``drain()`` delivers what is pending and reports it."""

    def __init__(self, bucket, function, prefix, suffix, events, on_failure, max_retries, duplicates, *,
                 on_success=None, max_event_age_s=MAX_EVENT_AGE_S[1]):
        check_invoke_target(function)
        events = [events] if isinstance(events, str) else list(events)
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown or not events:
            raise ValueError(f"Unknown S3 event type(s) {unknown}: use names like 's3:ObjectCreated:*' "
                             f"(one of {', '.join(EVENT_TYPES)}).")
        self.bucket, self.function, self.prefix, self.suffix, self.events = bucket, function, prefix, suffix, events
        self.s3, self.sqs = aws.client("s3"), aws.client("sqs")
        try:
            self.s3.head_bucket(Bucket=bucket)
        except self.s3.exceptions.ClientError:
            raise ValueError(f"Bucket {bucket!r} does not exist (or is not yours). Create it first: "
                             f"aws.client('s3').create_bucket(Bucket={bucket!r})") from None
        self.invoker = AsyncInvoker(function, on_failure=on_failure, max_retries=max_retries, duplicates=duplicates,
                                    on_success=on_success, max_event_age_s=max_event_age_s)
        self.configuration_id = f"lambdalab-{function.name}"
        self.queue_url, queue_arn = self._create_queue()
        self._configure(queue_arn)

    # --- setup ----------------------------------------------------------------------------------------------------
    def _create_queue(self):
        prefix = aws.backend().prefix  # real AWS: the course's names start with LAMBDALAB_PREFIX (lambdalab.safety)
        name = prefix + re.sub(r"[^A-Za-z0-9_-]", "-", f"lambdalab-s3-{self.bucket}-{self.function.name}")[:80 - len(prefix)]
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def _configure(self, queue_arn):
        """Add (or replace) this trigger's entry in the bucket's notification configuration, keeping the others."""
        current = self.s3.get_bucket_notification_configuration(Bucket=self.bucket)
        current.pop("ResponseMetadata", None)
        queues = [c for c in current.get("QueueConfigurations", []) if c.get("Id") != self.configuration_id]
        entry = {"Id": self.configuration_id, "QueueArn": queue_arn, "Events": self.events}
        rules = [{"Name": n, "Value": v} for n, v in (("prefix", self.prefix), ("suffix", self.suffix)) if v]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        current["QueueConfigurations"] = queues + [entry]
        try:
            self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration=current)
        except self.s3.exceptions.ClientError as error:
            self.sqs.delete_queue(QueueUrl=self.queue_url)
            others = [c.get("Id") for c in queues] + [c.get("Id") for c in current.get("TopicConfigurations", [])]
            raise ValueError(
                f"S3 refused the notification for {self.function.name}: {error.response['Error']['Message']} "
                f"Bucket {self.bucket!r} already sends these events for overlapping keys to {', '.join(others)}. "
                "Disconnect that trigger first (trigger.disconnect()), or give the two configurations prefixes or "
                "suffixes that do not overlap (e.g. prefix='uploads/' and prefix='archive/').") from None
        self._queue_new()  # S3 just sent an s3:TestEvent (dropped: Lambda never sees it); keep anything else

    def disconnect(self) -> None:
        """Remove this trigger from the bucket's notifications and delete its queue."""
        current = self.s3.get_bucket_notification_configuration(Bucket=self.bucket)
        current.pop("ResponseMetadata", None)
        current["QueueConfigurations"] = [c for c in current.get("QueueConfigurations", [])
                                          if c.get("Id") != self.configuration_id]
        self.s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration=current)
        self.sqs.delete_queue(QueueUrl=self.queue_url)

    # --- delivery -------------------------------------------------------------------------------------------------
    def drain(self) -> AsyncReport:
        """Deliver every pending S3 event (and whatever those invocations cause), with retries; report it all."""
        report = AsyncReport(self.function.name, source=f"s3://{self.bucket} -> {self.function.name}")
        self._queue_new()

        def after_each(delivery):
            self._queue_new(parent=delivery)

        return self.invoker.run(report, after_each=after_each)

    def send(self, event: dict, label: str | None = None) -> None:
        """Queue a hand-made event (a test event, or several records at once) for the next ``drain()``."""
        self.invoker.submit(event, label=label or _label(event))

    def _queue_new(self, parent=None) -> None:
        for record in self._receive_all():
            event = {"Records": [lambda_record(record)]}
            self.invoker.submit(event, label=_label(event), parent=parent)

    def _receive_all(self) -> list[dict]:
        """Every S3 record waiting in the trigger's queue (S3's test events dropped); deletes them from the queue."""
        return [record for body in take_all(self.sqs, self.queue_url) for record in json.loads(body).get("Records", [])]

    @property
    def pending(self) -> int:
        """Events waiting for ``drain()`` (approximate, like SQS's own count)."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                                   AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + self.invoker.pending

    def __repr__(self):
        filters = ", ".join(f"{n}={v!r}" for n, v in (("prefix", self.prefix), ("suffix", self.suffix)) if v)
        return (f"S3Trigger(s3://{self.bucket} {self.events} -> {self.function.name}"
                f"{', ' + filters if filters else ''})")


def lambda_record(record: dict) -> dict:
    """moto's S3 notification record, completed to the shape S3 sends Lambda.

    moto leaves out userIdentity, requestParameters, responseElements, the bucket's ownerIdentity and the object's
    sequencer, and encodes ``/`` in the key as ``%2F``. S3 encodes keys like HTML forms (space -> ``+``, other
    special characters -> ``%XX``) but keeps ``/``. The object's fields per event type (no size or eTag on a
    removal, ``versionId`` on versioned buckets) and ``eventVersion`` are S3's already: ``moto_patches.s3_events``.
    """
    key = unquote_plus(record["s3"]["object"]["key"])
    request_id = f"{next(_sequencer):016X}"
    return {
        "eventVersion": record.get("eventVersion", EVENT_VERSION),
        "eventSource": "aws:s3",
        "awsRegion": record.get("awsRegion", aws.backend().region),
        "eventTime": record["eventTime"],
        "eventName": record["eventName"],
        "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": request_id,
                             "x-amz-id-2": f"lambdalab/{request_id}/emulated-request-host-id"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": record["s3"].get("configurationId", ""),
            "bucket": {"name": record["s3"]["bucket"]["name"],
                       "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": record["s3"]["bucket"].get("arn", f"arn:aws:s3:::{record['s3']['bucket']['name']}")},
            "object": {**{k: v for k, v in record["s3"]["object"].items() if k != "key"},
                       "key": quote_plus(key, safe="/"),
                       "sequencer": f"{time.time_ns():X}"},
        },
    }


def s3_event(bucket: str, *keys: str, event_name: str = "ObjectCreated:Put", size: int = 0,
             version_id: str | None = None) -> dict:
    """A hand-made S3 event with one record per key, shaped and encoded as S3 sends it (for tests and demos).

    ``version_id``: the object's version, as on a bucket with versioning enabled."""
    when = clock.now_datetime().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    records = [{"eventVersion": EVENT_VERSION, "eventTime": when, "eventName": event_name,
                "s3": {"configurationId": "manual", "bucket": {"name": bucket},
                       "object": s3_object(event_name, {"key": quote_plus(key), "size": size, "eTag": ""},
                                           version_id)}} for key in keys]
    return {"Records": [lambda_record(r) for r in records]}


def _label(event: dict) -> str:
    records = event.get("Records") or []
    names = [f"{r.get('eventName', '?')} {unquote_plus(r.get('s3', {}).get('object', {}).get('key', '?'))}"
             for r in records]
    return "; ".join(names) if names else json.dumps(event, default=repr)[:80]
