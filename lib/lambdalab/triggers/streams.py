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

import json
import uuid
import weakref
from datetime import datetime

from .. import aws
from .esm.engine import REPORT_BATCH_ITEM_FAILURES, Engine, Settings
from .esm.filters import compile_filter
from .esm.records import DYNAMODB, KINESIS
from .esm.result import DrainResult
from .esm.sources import DynamoDBStreamSource, KinesisSource

__all__ = ["connect_kinesis", "connect_dynamodb_stream", "StreamMapping"]

DEFAULTS = {
    "starting_position": "TRIM_HORIZON",
    "starting_position_timestamp": None,
    "batch_size": 100,
    "maximum_batching_window_s": 0,
    "parallelization_factor": 1,
    "bisect_batch_on_function_error": False,
    "maximum_retry_attempts": -1,
    "maximum_record_age_s": -1,
    "on_failure": None,
    "function_response_types": (),
    "filter_criteria": None,
    "tumbling_window_s": None,
    "enabled": True,
}
LAMBDA_NAMES = {
    "StartingPosition": "starting_position",
    "StartingPositionTimestamp": "starting_position_timestamp",
    "BatchSize": "batch_size",
    "MaximumBatchingWindowInSeconds": "maximum_batching_window_s",
    "ParallelizationFactor": "parallelization_factor",
    "BisectBatchOnFunctionError": "bisect_batch_on_function_error",
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "MaximumRecordAgeInSeconds": "maximum_record_age_s",
    "DestinationConfig": "on_failure",
    "FunctionResponseTypes": "function_response_types",
    "FilterCriteria": "filter_criteria",
    "TumblingWindowInSeconds": "tumbling_window_s",
    "Enabled": "enabled",
}
_CAMEL = {snake: camel for camel, snake in LAMBDA_NAMES.items()}
STARTING_POSITIONS = {KINESIS: ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"), DYNAMODB: ("TRIM_HORIZON", "LATEST")}


def connect_kinesis(stream_name, function, starting_position="TRIM_HORIZON", batch_size=100,
                    maximum_batching_window_s=0, parallelization_factor=1, bisect_batch_on_function_error=False,
                    maximum_retry_attempts=-1, maximum_record_age_s=-1, on_failure=None, function_response_types=(),
                    filter_criteria=None, tumbling_window_s=None, enabled=True, starting_position_timestamp=None,
                    **lambda_names) -> "StreamMapping":
    """Map a Kinesis data stream (name or ARN) to ``function`` (a ``lambdalab.runtime.LambdaFunction``).

    ``on_failure`` is an SQS queue (URL or ARN) or SNS topic ARN for the metadata of discarded batches (AWS also
    accepts an S3 bucket, which gets the whole invocation record; not emulated here);
    ``function_response_types=["ReportBatchItemFailures"]`` turns on partial batch responses; ``filter_criteria``
    takes ``{"Filters": [{"Pattern": ...}]}`` or a pattern dict; ``starting_position_timestamp`` (epoch seconds or
    a datetime) goes with ``AT_TIMESTAMP``. Everything else is named as in Lambda, in seconds.
    """
    options = _options({k: v for k, v in locals().items() if k in DEFAULTS}, lambda_names)
    settings, keep, destination = _validate(options, KINESIS, function)
    source = KinesisSource(stream_name, _identity_arn(function), options["starting_position"],
                           options["starting_position_timestamp"])
    return StreamMapping(source, function, settings, keep, destination, options)


def connect_dynamodb_stream(table_name, function, starting_position="TRIM_HORIZON", batch_size=100,
                            maximum_batching_window_s=0, parallelization_factor=1,
                            bisect_batch_on_function_error=False, maximum_retry_attempts=-1, maximum_record_age_s=-1,
                            on_failure=None, function_response_types=(), filter_criteria=None,
                            tumbling_window_s=None, enabled=True, **lambda_names) -> "StreamMapping":
    """Map a DynamoDB table's stream to ``function``; the table must have a stream enabled.

    Same settings as ``connect_kinesis``, except the starting position is TRIM_HORIZON or LATEST, and filter
    patterns match the whole record (``eventName``, ``dynamodb.NewImage``...).
    """
    options = _options({k: v for k, v in locals().items() if k in DEFAULTS}, lambda_names)
    settings, keep, destination = _validate(options, DYNAMODB, function)
    source = DynamoDBStreamSource(table_name, options["starting_position"])
    return StreamMapping(source, function, settings, keep, destination, options)


# --- settings ----------------------------------------------------------------------------------------------------

def _options(given: dict, lambda_names: dict) -> dict:
    """Merge Lambda's CamelCase names into the snake_case ones (refusing unknown names and the same one twice)."""
    options = {**DEFAULTS, **given}
    for camel, value in lambda_names.items():
        if camel not in LAMBDA_NAMES:
            raise TypeError(f"{camel!r} is not an event source mapping setting. Use one of: "
                            f"{', '.join(LAMBDA_NAMES)} (or their snake_case forms: {', '.join(DEFAULTS)}).")
        snake = LAMBDA_NAMES[camel]
        if options[snake] != DEFAULTS[snake]:
            raise TypeError(f"{camel} and {snake} are the same setting; give only one of them.")
        if camel == "DestinationConfig":
            value = _destination_from_config(value)
        options[snake] = value
    return options


def _destination_from_config(config):
    """``{"OnFailure": {"Destination": arn}}`` -> arn. ``{}`` and ``{"OnFailure": {}}`` mean no destination, as in
    Lambda (and as ``describe()`` shows a mapping without one)."""
    if config is None or config == {} or config == {"OnFailure": {}}:
        return None
    try:
        return config["OnFailure"]["Destination"]
    except (TypeError, KeyError):
        raise ValueError('DestinationConfig must look like {"OnFailure": {"Destination": "<queue or topic ARN>"}}.') \
            from None


def _whole(options, name, low, high, allowed=()):
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high or value in allowed):
        also = f" (or {', '.join(map(str, allowed))})" if allowed else ""
        raise ValueError(f"{_CAMEL[name]} ({name}) must be a whole number from {low:,} to {high:,}{also}; "
                         f"got {value!r}.")
    return value


def _seconds(options, name, low, high, allowed=()):
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high or value in allowed):
        also = f" (or {', '.join(map(str, allowed))})" if allowed else ""
        raise ValueError(f"{_CAMEL[name]} ({name}) must be {low:,} to {high:,} seconds{also}; got {value!r}.")
    return value


def _flag(options, name):
    if not isinstance(options[name], bool):
        raise ValueError(f"{_CAMEL[name]} ({name}) must be True or False; got {options[name]!r}.")
    return options[name]


def _validate(options: dict, kind: str, function):
    """Check every setting against Lambda's ranges; returns (Settings, filter predicate, destination)."""
    if not callable(getattr(function, "invoke", None)) or not callable(getattr(function, "invoke_concurrently", None)):
        raise TypeError(f"function must be a lambdalab.runtime.LambdaFunction (something with invoke() and "
                        f"invoke_concurrently()), not {type(function).__name__}.")
    positions = STARTING_POSITIONS[kind]
    if options["starting_position"] not in positions:
        raise ValueError(f"StartingPosition (starting_position) for {'Kinesis' if kind == KINESIS else 'DynamoDB'} "
                         f"Streams must be one of {', '.join(positions)}; got {options['starting_position']!r}.")
    if options["starting_position"] == "AT_TIMESTAMP":
        stamp = options["starting_position_timestamp"]
        if isinstance(stamp, datetime):
            options["starting_position_timestamp"] = stamp.timestamp()
        elif isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
            raise ValueError("StartingPosition AT_TIMESTAMP needs starting_position_timestamp "
                             "(StartingPositionTimestamp): epoch seconds or a datetime, e.g. clock.now() - 3600.")
    types = options["function_response_types"]
    types = [types] if isinstance(types, str) else list(types or ())
    if set(types) - {REPORT_BATCH_ITEM_FAILURES}:
        raise ValueError(f"FunctionResponseTypes (function_response_types) accepts only "
                         f"['{REPORT_BATCH_ITEM_FAILURES}']; got {types!r}.")
    options["function_response_types"] = tuple(types)
    tumbling = options["tumbling_window_s"]
    settings = Settings(
        batch_size=_whole(options, "batch_size", 1, 10_000),
        batching_window_s=_seconds(options, "maximum_batching_window_s", 0, 300),
        parallelization_factor=_whole(options, "parallelization_factor", 1, 10),
        bisect=_flag(options, "bisect_batch_on_function_error"),
        max_retries=_whole(options, "maximum_retry_attempts", 0, 10_000, allowed=(-1,)),
        max_record_age_s=_seconds(options, "maximum_record_age_s", 60, 604_800, allowed=(-1,)),
        report_item_failures=bool(types),
        tumbling_window_s=0 if tumbling is None else _seconds(options, "tumbling_window_s", 0, 900),
    )
    _flag(options, "enabled")
    keep = compile_filter(options["filter_criteria"], kind)
    destination = _Destination(options["on_failure"]) if options["on_failure"] else None
    return settings, keep, destination


# --- on-failure destination --------------------------------------------------------------------------------------

class _Destination:
    """Delivers on-failure messages to an SQS queue (URL or ARN) or an SNS topic (ARN) on the backend."""

    def __init__(self, target):
        if not isinstance(target, str):
            raise ValueError(f"on_failure must be an SQS queue URL or ARN, or an SNS topic ARN; got {target!r}.")
        self.sns = target.startswith("arn:aws:sns:")
        try:
            if self.sns:
                aws.client("sns").get_topic_attributes(TopicArn=target)
                self.destination = self.target = target
                return
            sqs = aws.client("sqs")
            if target.startswith("arn:aws:sqs:"):
                _, _, _, _, account, name = target.split(":", 5)
                self.target = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            elif target.startswith(("http://", "https://")):
                self.target = target
            else:
                raise ValueError(f"on_failure must be an SQS queue URL or ARN, or an SNS topic ARN; got {target!r}.")
            self.destination = sqs.get_queue_attributes(QueueUrl=self.target, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"The on-failure destination {target!r} does not exist on the backend ({exc}). "
                             "Create the queue (or topic) first.") from None

    def __call__(self, message: dict) -> None:
        body = json.dumps(message)
        if self.sns:
            aws.client("sns").publish(TopicArn=self.target, Message=body)
        else:
            aws.client("sqs").send_message(QueueUrl=self.target, MessageBody=body)


# --- the mapping -------------------------------------------------------------------------------------------------

_live: "weakref.WeakSet[StreamMapping]" = weakref.WeakSet()


def _forget_all() -> None:
    for mapping in list(_live):
        mapping._stale = True


aws.on_reset(_forget_all)


def _identity_arn(function) -> str:
    role = getattr(function, "role_arn", None)
    return role if isinstance(role, str) else f"arn:aws:iam::{aws.backend().account_id}:role/lambdalab-execution-role"


def _function_arn(function) -> str:
    arn = getattr(function, "arn", None)
    if isinstance(arn, str):
        return arn
    b = aws.backend()
    return f"arn:aws:lambda:{b.region}:{b.account_id}:function:{getattr(function, 'name', 'function')}"


class StreamMapping:
    """An event source mapping: Lambda's poller between a stream and a function.

    ``drain()`` runs it until nothing is pending and returns a ``DrainResult``; ``history`` accumulates every drain;
    ``disable()`` pauses it without losing records, ``enable()`` resumes from the checkpoints.
    """

    def __init__(self, source, function, settings: Settings, keep, destination, options: dict):
        self.uuid = str(uuid.uuid4())
        self.source = source
        self.function = function
        self.settings = settings
        self.options = options
        self.enabled = options["enabled"]
        self.title = (f"{'Kinesis stream' if source.kind == KINESIS else 'DynamoDB stream of table'} "
                      f"{source.name} -> {getattr(function, 'name', 'function')}")
        self.engine = Engine(source, function, settings, keep, destination, _function_arn(function))
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
        o, s = self.options, self.settings
        described = {
            "UUID": self.uuid,
            "EventSourceArn": self.source.arn,
            "FunctionArn": self.engine.function_arn,
            "StartingPosition": o["starting_position"],
            "BatchSize": s.batch_size,
            "MaximumBatchingWindowInSeconds": s.batching_window_s,
            "ParallelizationFactor": s.parallelization_factor,
            "BisectBatchOnFunctionError": s.bisect,
            "MaximumRetryAttempts": s.max_retries,
            "MaximumRecordAgeInSeconds": s.max_record_age_s,
            "DestinationConfig": {"OnFailure": {"Destination": self.engine.deliver.destination}
                                  if self.engine.deliver else {}},
            "FunctionResponseTypes": list(o["function_response_types"]),
            "State": self.state,
        }
        if s.tumbling_window_s:
            described["TumblingWindowInSeconds"] = s.tumbling_window_s
        if o["filter_criteria"]:
            described["FilterCriteria"] = o["filter_criteria"]
        if o["starting_position"] == "AT_TIMESTAMP":
            described["StartingPositionTimestamp"] = o["starting_position_timestamp"]
        return described

    def __repr__(self):
        s = self.settings
        extras = [f"BatchSize={s.batch_size}"]
        if s.parallelization_factor > 1:
            extras.append(f"ParallelizationFactor={s.parallelization_factor}")
        if s.bisect:
            extras.append("BisectBatchOnFunctionError")
        extras.append(f"MaximumRetryAttempts={s.max_retries}")
        if s.report_item_failures:
            extras.append(REPORT_BATCH_ITEM_FAILURES)
        if s.tumbling_window_s:
            extras.append(f"TumblingWindowInSeconds={s.tumbling_window_s}")
        return f"<StreamMapping {self.title} ({self.state}; {', '.join(extras)})>"
