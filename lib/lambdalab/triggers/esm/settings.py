"""An event source mapping's settings: one declaration each, driving the keywords, validation, defaults, describe and
repr of ``connect_kinesis`` / ``connect_dynamodb_stream``, and the engine's ``Settings``.

Each ``Setting`` names the keyword (snake_case, seconds in ``_s``), Lambda's API name, the default (Lambda's, except
StartingPosition, which AWS requires and which defaults to TRIM_HORIZON here), the valid values, the sources that
accept it, and the ``Settings`` field the engine reads it from.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Callable

from ..destinations import FORMS, resolve_destination
from .filters import compile_filter
from .records import DYNAMODB, KINESIS

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
STARTING_POSITIONS = {KINESIS: ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"), DYNAMODB: ("TRIM_HORIZON", "LATEST")}
SOURCE_NAMES = {KINESIS: "Kinesis", DYNAMODB: "DynamoDB"}


class _Invalid(ValueError):
    """Raised by a check with what the value must be; ``Setting.validate`` words the whole message."""


# --- checks: each returns the value to use, or raises _Invalid("<what it must be>") --------------------------------

@dataclass(frozen=True)
class Whole:
    low: int
    high: int
    also: tuple = ()

    @property
    def expects(self) -> str:
        return f"a whole number from {self.low:,} to {self.high:,}" + _also(self.also)

    def __call__(self, value, kind):
        if isinstance(value, bool) or not isinstance(value, int) or not (self.low <= value <= self.high
                                                                         or value in self.also):
            raise _Invalid(self.expects)
        return value


@dataclass(frozen=True)
class Seconds:
    """A duration in whole seconds (Lambda's API takes an Integer for each of these)."""

    low: int
    high: int
    also: tuple = ()
    none_is: int | None = None  # what None means (None: refused)

    @property
    def expects(self) -> str:
        return f"{self.low:,} to {self.high:,} seconds" + _also(self.also) + ", a whole number"

    def __call__(self, value, kind):
        if value is None and self.none_is is not None:
            return self.none_is
        if isinstance(value, bool) or not isinstance(value, int) or not (self.low <= value <= self.high
                                                                         or value in self.also):
            raise _Invalid(self.expects)
        return value


def _also(values) -> str:
    return f" (or {', '.join(map(str, values))})" if values else ""


def _flag(value, kind):
    if not isinstance(value, bool):
        raise _Invalid("True or False")
    return value


_flag.expects = "True or False"


def _starting_position(value, kind):
    if value not in STARTING_POSITIONS[kind]:
        raise _Invalid(f"(for {SOURCE_NAMES[kind]} Streams) one of {', '.join(STARTING_POSITIONS[kind])}")
    return value


_starting_position.expects = "TRIM_HORIZON or LATEST (Kinesis also AT_TIMESTAMP)"


def _timestamp(value, kind):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(_timestamp.expects)
    return value


_timestamp.expects = "epoch seconds or a datetime, e.g. clock.now() - 3600"


def _response_types(value, kind):
    types = (value,) if isinstance(value, str) else tuple(value or ())
    if set(types) - {REPORT_BATCH_ITEM_FAILURES}:
        raise _Invalid(f"['{REPORT_BATCH_ITEM_FAILURES}'] or empty")
    return types


_response_types.expects = f"['{REPORT_BATCH_ITEM_FAILURES}'] or empty"


def _filter_criteria(value, kind):
    compile_filter(value, kind)  # refuses a bad pattern with its own message
    return value or None


_filter_criteria.expects = '{"Filters": [{"Pattern": ...}]}, or a pattern dict'


def _on_failure(value, kind):
    return resolve_destination(value) if value else None


_on_failure.expects = FORMS


def _destination_from_config(config):
    """Lambda's ``{"OnFailure": {"Destination": arn}}`` -> arn. ``{}`` and ``{"OnFailure": {}}`` mean no destination,
    as in Lambda (and as ``describe()`` shows a mapping without one)."""
    if config is None or config == {} or config == {"OnFailure": {}}:
        return None
    try:
        return config["OnFailure"]["Destination"]
    except (TypeError, KeyError):
        raise ValueError('DestinationConfig must look like {"OnFailure": {"Destination": "<queue or topic ARN>"}}.') \
            from None


# --- the table --------------------------------------------------------------------------------------------------

def _same(value):
    return value


@dataclass(frozen=True)
class Setting:
    """One event source mapping setting."""

    name: str  # the keyword, snake_case
    lambda_name: str  # as in Lambda's CreateEventSourceMapping
    default: Any
    check: Callable  # (value, source kind) -> the value to use
    field: str | None = None  # the engine's Settings field (None: the mapping itself uses it)
    to_field: Callable = _same  # value -> the Settings field's value
    sources: tuple = (KINESIS, DYNAMODB)
    from_lambda: Callable = _same  # Lambda's form of the value -> ours (DestinationConfig)
    to_lambda: Callable = _same  # ours -> how GetEventSourceMapping shows it
    described: Callable = lambda value: True  # whether describe() shows it
    in_repr: str = "changed"  # "always", "changed" (when not the default) or "never"

    def validate(self, value, kind: str):
        try:
            return self.check(value, kind)
        except _Invalid as bad:
            raise ValueError(f"{self.lambda_name} ({self.name}) must be {bad}; got {value!r}.") from None

    def short(self, value) -> str:
        """How ``repr`` shows it: a flag or a response type by name, others as Name=value."""
        if value is True:
            return self.lambda_name
        if isinstance(value, tuple):
            return ", ".join(value)
        return f"{self.lambda_name}={value}"


SETTINGS = (
    Setting("starting_position", "StartingPosition", "TRIM_HORIZON", _starting_position, in_repr="never"),
    Setting("starting_position_timestamp", "StartingPositionTimestamp", None, _timestamp, sources=(KINESIS,),
            described=lambda value: value is not None, in_repr="never"),
    Setting("batch_size", "BatchSize", 100, Whole(1, 10_000), "batch_size", in_repr="always"),
    Setting("maximum_batching_window_s", "MaximumBatchingWindowInSeconds", 0, Seconds(0, 300), "batching_window_s"),
    Setting("parallelization_factor", "ParallelizationFactor", 1, Whole(1, 10), "parallelization_factor"),
    Setting("bisect_batch_on_function_error", "BisectBatchOnFunctionError", False, _flag, "bisect"),
    Setting("maximum_retry_attempts", "MaximumRetryAttempts", -1, Whole(0, 10_000, also=(-1,)), "max_retries",
            in_repr="always"),
    Setting("maximum_record_age_s", "MaximumRecordAgeInSeconds", -1, Seconds(60, 604_800, also=(-1,)),
            "max_record_age_s"),
    Setting("on_failure", "DestinationConfig", None, _on_failure, from_lambda=_destination_from_config,
            to_lambda=lambda d: {"OnFailure": {"Destination": d.arn} if d else {}}, in_repr="never"),
    Setting("function_response_types", "FunctionResponseTypes", (), _response_types, "report_item_failures",
            to_field=bool, to_lambda=list),
    Setting("filter_criteria", "FilterCriteria", None, _filter_criteria, described=bool, in_repr="never"),
    Setting("tumbling_window_s", "TumblingWindowInSeconds", 0, Seconds(0, 900, none_is=0), "tumbling_window_s",
            described=bool),
    Setting("enabled", "Enabled", True, _flag, in_repr="never"),
)
BY_NAME = {s.name: s for s in SETTINGS}
BY_LAMBDA_NAME = {s.lambda_name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """What the engine reads while it runs, named for the engine (each field is one ``Setting``'s ``field``).

    Defaults come from the table, so ``Settings()`` is a mapping with every setting left at Lambda's default."""

    batch_size: int = BY_NAME["batch_size"].default
    batching_window_s: float = BY_NAME["maximum_batching_window_s"].default
    parallelization_factor: int = BY_NAME["parallelization_factor"].default
    bisect: bool = BY_NAME["bisect_batch_on_function_error"].default
    max_retries: int = BY_NAME["maximum_retry_attempts"].default  # -1: until the record expires
    max_record_age_s: float = BY_NAME["maximum_record_age_s"].default  # -1: until the stream's retention drops it
    report_item_failures: bool = bool(BY_NAME["function_response_types"].default)
    tumbling_window_s: float = BY_NAME["tumbling_window_s"].default  # 0: no tumbling window

    def age_limit(self, retention_s: float) -> float:
        if self.max_record_age_s == -1:
            return retention_s
        return min(self.max_record_age_s, retention_s)

    @classmethod
    def from_values(cls, values: dict) -> "Settings":
        return cls(**{s.field: s.to_field(values[s.name]) for s in SETTINGS if s.field})


assert {f.name for f in fields(Settings)} == {s.field for s in SETTINGS if s.field}, "Settings and SETTINGS disagree"


# --- using the table --------------------------------------------------------------------------------------------

def accepted(kind: str) -> tuple:
    """The settings a source accepts."""
    return tuple(s for s in SETTINGS if kind in s.sources)


def validate(kind: str, given: dict) -> dict:
    """Keywords (snake_case or Lambda's names) -> every accepted setting's checked value, defaults filled in.

    Refuses unknown names, the same setting twice, and values outside Lambda's ranges, each with what to do."""
    chosen = {}
    for key, value in given.items():
        setting = BY_NAME.get(key) or BY_LAMBDA_NAME.get(key)
        if setting is None or kind not in setting.sources:
            names = [s.name for s in accepted(kind)]
            where = f" for {SOURCE_NAMES[kind]} Streams" if setting else ""
            raise TypeError(f"{key!r} is not an event source mapping setting{where}. Use one of: "
                            f"{', '.join(names)} (or Lambda's names: "
                            f"{', '.join(s.lambda_name for s in accepted(kind))}).")
        if setting.name in chosen:
            raise TypeError(f"{setting.lambda_name} and {setting.name} are the same setting; give only one of them.")
        chosen[setting.name] = setting.from_lambda(value) if key == setting.lambda_name else value
    values = {s.name: s.validate(chosen.get(s.name, s.default), kind) for s in accepted(kind)}
    if values["starting_position"] == "AT_TIMESTAMP" and values.get("starting_position_timestamp") is None:
        raise ValueError("StartingPosition AT_TIMESTAMP needs starting_position_timestamp "
                         f"(StartingPositionTimestamp): {_timestamp.expects}.")
    if values["starting_position"] != "AT_TIMESTAMP" and values.get("starting_position_timestamp") is not None:
        raise ValueError("starting_position_timestamp (StartingPositionTimestamp) is only valid with "
                         f"starting_position='AT_TIMESTAMP'; this mapping starts at {values['starting_position']}.")
    return values


def describe(values: dict) -> dict:
    """The settings as Lambda's GetEventSourceMapping shows them (``Enabled`` becomes the mapping's ``State``)."""
    return {s.lambda_name: s.to_lambda(values[s.name]) for s in SETTINGS
            if s.name in values and s.name != "enabled" and s.described(values[s.name])}


def short(values: dict) -> str:
    """The settings worth a glance, for ``repr``: the always-shown ones and those changed from the default."""
    return ", ".join(s.short(values[s.name]) for s in SETTINGS if s.name in values and (
        s.in_repr == "always" or s.in_repr == "changed" and values[s.name] != s.default))


def signature(kind: str, *leading: str) -> inspect.Signature:
    """The connect function's signature for help() and Tab completion: its leading arguments, then every setting."""
    P = inspect.Parameter
    return inspect.Signature([P(name, P.POSITIONAL_OR_KEYWORD) for name in leading]
                             + [P(s.name, P.KEYWORD_ONLY, default=s.default) for s in accepted(kind)]
                             + [P("lambda_names", P.VAR_KEYWORD)])


def table(kind: str) -> str:
    """The settings as docstring lines: keyword (Lambda's name): default; valid values."""
    return "\n".join(f"    - ``{s.name}`` ({s.lambda_name}): default {s.default!r}; {s.check.expects}"
                     for s in accepted(kind))
