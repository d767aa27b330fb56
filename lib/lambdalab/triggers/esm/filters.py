"""FilterCriteria: which stream records reach the function, in EventBridge pattern syntax.

Matching is moto's own EventBridge matcher (``EventPattern.load(pattern).matches_event(event)``), so every operator
(prefix, numeric, anything-but, exists, ...) behaves as it does for EventBridge rules. Patterns are ORed. Records that
match no pattern are dropped: the function never sees them and the checkpoint moves past them.

- Kinesis: patterns filter on the ``data`` key only; JSON data is matched as an object, other data as its text.
- DynamoDB Streams: patterns match the whole event record (``eventName``, ``dynamodb.NewImage``...).
"""
from __future__ import annotations

import base64
import json

from .records import KINESIS

MAX_PATTERNS = 5


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
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"FilterCriteria has {len(patterns)} patterns; an event source mapping accepts at most "
                         f"{MAX_PATTERNS} (they are ORed: merge some with arrays of values).")
    compiled = []
    for pattern in patterns:
        parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
        if not isinstance(parsed, dict):
            raise ValueError(f"Filter pattern {pattern!r} must be a JSON object.")
        if source_kind == KINESIS and set(parsed) - {"data"}:
            raise ValueError(f"Kinesis event source mappings filter on the 'data' key only; this pattern names "
                             f"{sorted(set(parsed) - {'data'})}. Write e.g. {{\"data\": {{\"type\": [\"click\"]}}}}.")
        try:
            compiled.append(EventPattern.load(json.dumps(parsed)))
        except Exception as exc:  # moto's InvalidEventPatternException carries the reason
            reason = getattr(exc, "message", None) or str(exc)
            raise ValueError(f"Filter pattern {json.dumps(parsed)} is not valid: {reason}") from None

    def keep(record) -> bool:
        subject = _kinesis_subject(record.event) if source_kind == KINESIS else record.event
        return any(p.matches_event(subject) for p in compiled)

    return keep


def _kinesis_subject(event_record: dict) -> dict:
    raw = base64.b64decode(event_record["kinesis"]["data"])
    try:
        return {"data": json.loads(raw)}
    except ValueError:
        return {"data": raw.decode("utf-8", errors="replace")}
