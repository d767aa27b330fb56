"""The audit pipeline of notebook 03 in one call: a users table with a stream, an audit table, an SES sender, a
verification queue, the stream-audit function and the event source mapping between them.

    pipe = audit_pipeline.build(view="NEW_AND_OLD_IMAGES")
    pipe.users.put_item(Item={"id": "u1", "email": "ann@example.com"})
    pipe.drain()           # the mapping delivers the stream's records to the function
    pipe.entries()         # the audit table, per item in stream order (list of dicts)
    pipe.show()            # the same as an HTML table

Every ``build`` starts from empty tables, an empty queue and no sent email, so a notebook cell that calls it can run
twice.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

from . import aws, mail
from .triggers.async_invoke import take_all

HANDLER = "lambdalab.handlers.stream_audit.handler"
POWERTOOLS_HANDLER = "lambdalab.handlers.stream_audit_powertools.handler"
SENDER = "noreply@example.com"
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
SHOWN = ("item", "sequence", "event", "who", "changed", "unavailable", "flag", "effects")


def create_table(name: str, key: tuple = ("id",), view: str | None = None, ttl_attribute: str | None = None):
    """A fresh on-demand table (an existing one of that name is deleted first) with string keys: ``key`` is
    (partition,) or (partition, sort); ``view`` turns a stream on. Returns the boto3 ``Table`` resource."""
    if view is not None and view not in VIEW_TYPES:
        raise ValueError(f"view must be one of {', '.join(VIEW_TYPES)}; got {view!r}.")
    ddb = aws.client("dynamodb")
    try:
        ddb.delete_table(TableName=name)
    except ddb.exceptions.ResourceNotFoundException:
        pass
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}} if view else {}
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(key, ("HASH", "RANGE"))],
                     AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in key], **extra)
    if ttl_attribute:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                          "AttributeName": ttl_attribute})
    return aws.resource("dynamodb").Table(name)


def fresh_queue(name: str) -> str:
    """An empty SQS queue (created, or emptied if it exists; a FIFO queue if the name ends in .fifo); returns its
    URL."""
    sqs = aws.client("sqs")
    fifo = {"Attributes": {"FifoQueue": "true"}} if name.endswith(".fifo") else {}
    url = sqs.create_queue(QueueName=name, **fifo)["QueueUrl"]
    take_all(sqs, url)  # whatever an earlier run left there
    return url


def read_queue(url: str) -> list[dict]:
    """Every message waiting in the queue (JSON bodies decoded), removed from it."""
    return [json.loads(body) for body in take_all(aws.client("sqs"), url)]


@dataclass
class Pipeline:
    """What ``build`` made: ``users`` (boto3 Table), ``function``, ``mapping``, ``queue_url``, table names."""

    users: object
    function: object
    mapping: object
    queue_url: str
    audit_table: str
    idempotency_table: str
    view: str
    results: list = field(default_factory=list)

    def drain(self, **kwargs):
        """Deliver everything pending in the stream (``StreamMapping.drain``); returns the ``DrainResult``."""
        result = self.mapping.drain(**kwargs)
        self.results.append(result)
        return result

    def entries(self, item: str | None = None) -> list[dict]:
        """The audit table, per item by sequence (only ``item``'s entries if given, e.g. ``"users#id=u1"``)."""
        return audit_entries(self.audit_table, item)

    def show(self, item: str | None = None, columns=SHOWN):
        """The audit table as HTML: one row per change."""
        return entries_table(self.entries(item), columns)

    def messages(self) -> list[dict]:
        """The verification queue's messages (read and removed)."""
        return read_queue(self.queue_url)

    def emails(self) -> list[dict]:
        """The emails SES sent (``mail.sent()``)."""
        return mail.sent()

    def redeliver(self, batch=None):
        """Invoke the function again with a batch it already had (default: the last drain's first batch), as Lambda
        does after a timeout or a retry; returns the ``Invocation``."""
        if batch is None:
            batch = next(b for r in reversed(self.results) for b in r.batches)
        return self.function.invoke({"Records": [record.event for record in batch.records]})


def build(view: str = "NEW_AND_OLD_IMAGES", *, handler: str = HANDLER, users: str = "users", audit: str = "audit",
          queue: str = "verify-email", sender: str | None = SENDER, idempotency: str = "idempotency",
          name: str = "stream-audit", timeout_s: float = 10, ttl_attribute: str | None = None,
          environment: dict | None = None, **mapping_settings) -> Pipeline:
    """Create the whole pipeline from scratch and connect it; ``mapping_settings`` go to
    ``connect_dynamodb_stream`` (ReportBatchItemFailures is on unless you give ``function_response_types``)."""
    from .runtime import LambdaFunction
    from .triggers import connect_dynamodb_stream

    aws.start()
    table = create_table(users, view=view, ttl_attribute=ttl_attribute)
    create_table(audit, key=("item", "sequence"))
    create_table(idempotency)
    queue_url = fresh_queue(queue)
    mail.clear()
    env = {"AUDIT_TABLE": audit, "VERIFICATION_QUEUE_URL": queue_url, "IDEMPOTENCY_TABLE": idempotency}
    if sender:
        aws.client("ses").verify_email_identity(EmailAddress=sender)
        env["SENDER_EMAIL"] = sender
    env.update(environment or {})
    _shutdown(name)
    function = LambdaFunction(name, handler, timeout_s=timeout_s, environment=env)
    _functions[name] = function
    mapping_settings.setdefault("function_response_types", ["ReportBatchItemFailures"])
    mapping = connect_dynamodb_stream(users, function, **mapping_settings)
    return Pipeline(table, function, mapping, queue_url, audit, idempotency, view)


_functions: dict = {}


def _shutdown(name: str) -> None:
    old = _functions.pop(name, None)
    if old is not None:
        old.shutdown()


def audit_entries(table: str = "audit", item: str | None = None) -> list[dict]:
    """Every audit entry (per item, by sequence), as boto3 reads them (numbers as Decimal, sets as sets)."""
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer().deserialize
    rows = [{k: des(v) for k, v in raw.items()} for page in pages for raw in page["Items"]]
    rows.sort(key=lambda r: (r["item"], r["sequence"]))
    return [r for r in rows if item is None or r["item"] == item]


def entries_table(rows: list[dict], columns=SHOWN):
    """Audit entries as an HTML table (sequence numbers shortened to their last 6 digits)."""
    from IPython.display import HTML

    def cell(column, value):
        if value is None:
            return ""
        if column == "sequence":
            return "…" + str(value)[-6:]
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "-"
        return str(value)

    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(c, row.get(c)))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    return HTML(f"<table><tr>{head}</tr>{body}</table>" if rows else "<p><em>The audit table is empty.</em></p>")
