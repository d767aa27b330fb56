"""Event source mappings for Amazon Kinesis Data Streams and Amazon DynamoDB Streams, run the way Lambda runs them.

    mapping = connect_kinesis("clicks", function, batch_size=100, bisect_batch_on_function_error=True,
                              maximum_retry_attempts=2, on_failure=queue_url)
    result = mapping.drain()   # poll every shard until nothing is pending; returns what happened
    result.plot()              # a per-shard timeline of batches, retries and failures

Settings use Lambda's defaults and ranges (StartingPosition, which AWS requires you to give, defaults to
TRIM_HORIZON here). Lambda's own names work too, so you can copy from the API reference:
``connect_kinesis("clicks", f, BatchSize=500, FunctionResponseTypes=["ReportBatchItemFailures"])``.
The poller itself lives in ``lambdalab.triggers.esm``.
"""
from __future__ import annotations

import uuid
import weakref

from .. import aws
from ..runtime import InvokeTarget, check_invoke_target
from ..security import enforcement
from .esm import settings as esm_settings
from .esm.engine import Engine
from .esm.filters import compile_filter
from .esm.records import DYNAMODB, KINESIS
from .esm.result import DrainResult
from .esm.sources import DynamoDBStreamSource, KinesisSource

__all__ = ["connect_kinesis", "connect_dynamodb_stream", "StreamMapping"]


def connect_kinesis(stream_name, function, **settings) -> "StreamMapping":
    """Map a Kinesis data stream (name or ARN) to ``function`` (a ``lambdalab.runtime.LambdaFunction``).

    ``on_failure`` is an SQS queue (name, URL or ARN) or SNS topic ARN for the metadata of discarded batches (AWS
    also accepts an S3 bucket, which gets the whole invocation record; not emulated here);
    ``function_response_types=["ReportBatchItemFailures"]`` turns on partial batch responses; ``filter_criteria``
    takes ``{"Filters": [{"Pattern": ...}]}`` or a pattern dict; ``starting_position_timestamp`` (epoch seconds or
    a datetime) goes with ``AT_TIMESTAMP``. Everything else is named as in Lambda, in seconds. The settings:

{table}
    """
    check_invoke_target(function)
    values = esm_settings.validate(KINESIS, settings)
    source = KinesisSource(stream_name, function.role_arn, values["starting_position"],
                           values["starting_position_timestamp"])
    return StreamMapping(source, function, values)


def connect_dynamodb_stream(table_name, function, **settings) -> "StreamMapping":
    """Map a DynamoDB table's stream to ``function``; the table must have a stream enabled.

    Same settings as ``connect_kinesis``, except the starting position is TRIM_HORIZON or LATEST, and filter
    patterns match the whole record (``eventName``, ``dynamodb.NewImage``...). The settings:

{table}
    """
    check_invoke_target(function)
    values = esm_settings.validate(DYNAMODB, settings)
    source = DynamoDBStreamSource(table_name, values["starting_position"])
    return StreamMapping(source, function, values)


for _connect, _kind, _first in ((connect_kinesis, KINESIS, "stream_name"),
                                (connect_dynamodb_stream, DYNAMODB, "table_name")):
    _connect.__signature__ = esm_settings.signature(_kind, _first, "function")
    _connect.__doc__ = _connect.__doc__.replace("{table}", esm_settings.table(_kind))


# --- the mapping -------------------------------------------------------------------------------------------------

_live: "weakref.WeakSet[StreamMapping]" = weakref.WeakSet()


def _forget_all() -> None:
    for mapping in list(_live):
        mapping._stale = True


aws.on_reset(_forget_all)


class StreamMapping:
    """An event source mapping: Lambda's poller between a stream and a function.

    ``drain()`` runs it until nothing is pending and returns a ``DrainResult``; ``history`` accumulates every drain;
    ``disable()`` pauses it without losing records, ``enable()`` resumes from the checkpoints.
    """

    def __init__(self, source, function: InvokeTarget, values: dict):
        self.uuid = str(uuid.uuid4())
        self.source = source
        self.function = function
        self.values = values  # every setting, checked (see esm.settings)
        self.settings = esm_settings.Settings.from_values(values)
        self.enabled = values["enabled"]
        self.title = (f"{'Kinesis stream' if source.kind == KINESIS else 'DynamoDB stream of table'} "
                      f"{source.name} -> {function.name}")
        destination = values["on_failure"]
        enforcement.check_event_source(function, source.arn, destination.arn if destination else None)
        self.engine = Engine(source, function, self.settings, compile_filter(values["filter_criteria"], source.kind),
                             destination, function.arn)
        self.history = DrainResult(title=self.title)
        self.history.checkpoints = self.checkpoints
        self._stale = False
        _live.add(self)

    @property
    def state(self) -> str:
        return "Enabled" if self.enabled else "Disabled"

    @property
    def checkpoints(self) -> dict:
        """Per shard (per ordered sub-sequence with ParallelizationFactor > 1): the sequence number settled up to."""
        return self.engine.checkpoints()

    def enable(self) -> "StreamMapping":
        """Resume: the next ``drain()`` starts from the checkpoints, so nothing written meanwhile is missed."""
        self.enabled = True
        return self

    def disable(self) -> "StreamMapping":
        """Pause: ``drain()`` reads nothing; records wait in the stream (until retention removes them)."""
        self.enabled = False
        return self

    def drain(self, block_after: int = 10, close_windows: bool = True, max_invocations: int = 10_000) -> DrainResult:
        """Poll every shard and invoke the function until no record is pending; return what happened.

        - ``block_after``: a batch that has failed this many times in a row, while Lambda would still retry it,
          marks its shard BLOCKED and the drain leaves that shard alone (Lambda would keep retrying until the
          records expire). Call ``drain()`` again to keep retrying, or ``clock.advance(...)`` to age the records.
        - ``close_windows``: with a tumbling window, wait (simulated time) for the open window to end and make its
          final invocation (``isFinalInvokeForWindow``).
        - ``max_invocations``: stop after this many invocations (a function that writes to its own stream loops).
        """
        for name, value in (("block_after", block_after), ("max_invocations", max_invocations)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"drain({name}=...) must be a whole number of at least 1; got {value!r}.")
        if self._stale:
            raise RuntimeError("The backend was reset after this mapping was created, so its stream is gone. Create "
                               "the stream again and connect a new mapping.")
        if not self.enabled:
            result = DrainResult(title=self.title, checkpoints=self.checkpoints,
                                 note="the mapping is disabled: nothing was read. Records wait in the stream; "
                                      "enable() and drain() to process them from the checkpoints.")
            return result
        result = self.engine.drain(block_after=block_after, close_windows=close_windows,
                                   max_invocations=max_invocations)
        result.title = self.title
        self.history.absorb(result)
        return result

    def plot(self, ax=None):
        """The timeline of every drain so far."""
        return self.history.plot(ax=ax)

    def describe(self) -> dict:
        """The mapping as Lambda's GetEventSourceMapping would show it."""
        return {"UUID": self.uuid, "EventSourceArn": self.source.arn, "FunctionArn": self.engine.function_arn,
                **esm_settings.describe(self.values), "State": self.state}

    def __repr__(self):
        return f"<StreamMapping {self.title} ({self.state}; {esm_settings.short(self.values)})>"
