"""FilterCriteria: which stream records reach the function, in EventBridge pattern syntax.

Matching is moto's own EventBridge matcher (``EventPattern.load(pattern).matches_event(event)``), so every operator
(prefix, numeric, anything-but, exists, ...) behaves as it does for EventBridge rules. Patterns are ORed. Records that
match no pattern are dropped: the function never sees them and the checkpoint moves past them.

- Kinesis: patterns filter on the ``data`` key only, and only JSON data can match: as in Lambda, a record whose data
  is not JSON is dropped, and a pattern whose ``data`` part is not a JSON object (e.g. ``{"data": [{"prefix": "x"}]}``)
  is refused when the mapping is created.
- DynamoDB Streams: patterns match the whole event record (``eventName``, ``dynamodb.NewImage``...).
- ``{"Filters": []}`` (or ``{}``) means no filtering, as in Lambda's UpdateEventSourceMapping.
"""
from __future__ import annotations

import base64
import json

from .records import KINESIS

MAX_PATTERNS = 5  # Lambda's default quota per event source mapping (AWS raises it to 10 on request)


def _patterns(criteria) -> list:
    """Accept Lambda's ``{"Filters": [{"Pattern": "<json>"}]}``, a list of patterns, or one pattern."""
    if isinstance(criteria, dict) and "Filters" in criteria:
        filters = criteria["Filters"]
        if not isinstance(filters, list) or not all(isinstance(f, dict) and "Pattern" in f for f in filters):
            raise ValueError('FilterCriteria must look like {"Filters": [{"Pattern": "<JSON pattern>"}]}.')
        return [f["Pattern"] for f in filters]
    return list(criteria) if isinstance(criteria, list) else [criteria]


def compile_filter(criteria, source_kind: str):
    """A predicate ``keep(record) -> bool`` for ``criteria``, or None when there is nothing to filter."""
    if not criteria:
        return None
    from moto.events.models import EventPattern

    patterns = _patterns(criteria)
    if not patterns:  # {"Filters": []}: Lambda's way of saying "no filter"
        return None
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"FilterCriteria has {len(patterns)} patterns; an event source mapping accepts at most "
                         f"{MAX_PATTERNS} by default (they are ORed: merge some with arrays of values; on AWS a quota "
                         "increase allows up to 10).")
    compiled, without_data = [], []
    for pattern in patterns:
        try:
            parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
        except ValueError as exc:
            raise ValueError(f"Filter pattern {pattern!r} is not valid JSON ({exc}). A pattern is a JSON object, e.g. "
                             f'{{"data": {{"type": ["click"]}}}}.') from None
        if not isinstance(parsed, dict):
            raise ValueError(f"Filter pattern {pattern!r} must be a JSON object.")
        if source_kind == KINESIS and set(parsed) - {"data"}:
            raise ValueError(f"Kinesis event source mappings filter on the 'data' key only; this pattern names "
                             f"{sorted(set(parsed) - {'data'})}. Write e.g. {{\"data\": {{\"type\": [\"click\"]}}}}.")
        data_key = "data" if source_kind == KINESIS else "dynamodb"
        if data_key in parsed and not isinstance(parsed[data_key], dict):
            raise ValueError(f"The filter pattern for {data_key!r} must be a JSON object naming fields inside it, e.g. "
                             f'{{"{data_key}": {{"type": ["click"]}}}}; got {json.dumps(parsed[data_key])}. Lambda '
                             f"refuses a pattern that matches {data_key!r} as a plain string (only JSON data can be "
                             "filtered).")
        try:
            compiled.append(EventPattern.load(json.dumps(parsed)))
            if data_key not in parsed:
                without_data.append(compiled[-1])
        except Exception as exc:  # moto's InvalidEventPatternException carries the reason
            reason = getattr(exc, "message", None) or str(exc)
            raise ValueError(f"Filter pattern {json.dumps(parsed)} is not valid: {reason}") from None

    def keep(record) -> bool:
        if source_kind == KINESIS:
            subject = _kinesis_subject(record.event)
            if subject is None:  # data that is not JSON: only a pattern without a data part could match
                return any(p.matches_event({}) for p in without_data)
            return any(p.matches_event(subject) for p in compiled)
        return any(p.matches_event(record.event) for p in compiled)

    return keep


def _kinesis_subject(event_record: dict) -> dict | None:
    """What the pattern sees: ``{"data": <the decoded JSON>}``, or None when the data is not JSON (Lambda drops
    such a record when a pattern filters on ``data``)."""
    try:
        return {"data": json.loads(base64.b64decode(event_record["kinesis"]["data"]))}
    except ValueError:  # not UTF-8 / not JSON
        return None
