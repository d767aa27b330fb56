"""The event-pattern sandbox: ``test_pattern(pattern, event)`` says whether an EventBridge rule with ``pattern`` would
match ``event``, and for a miss, which fields failed and why.

The verdict is moto's matcher (``moto.events.models.EventPattern``), the same code that decides what rules on the
emulated backend deliver, as corrected in ``lambdalab.moto_patches.events`` where moto differs from EventBridge.
The reasons walk the pattern field by field with that matcher's own leaf test, so they never disagree with it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape

from ..moto_patches import events as matcher


class InvalidEventPatternException(ValueError):
    """The pattern is not one EventBridge accepts (PutRule and TestEventPattern refuse it with this error)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"Event pattern is not valid. Reason: {reason.rstrip('.')}. Each field's value must be an array of "
                         "values or operator objects such as {\"prefix\": \"...\"} (notebook 05 lists them all).")


@dataclass
class PatternResult:
    """``matches`` (bool) and ``reasons``: for a miss, one line per field that failed (its dotted path, what the
    pattern wanted, what the event had)."""

    matches: bool
    reasons: list = field(default_factory=list)
    pattern: dict = field(default_factory=dict, repr=False)
    event: dict = field(default_factory=dict, repr=False)

    def __bool__(self):
        return self.matches

    def __str__(self):
        if self.matches:
            return "matches"
        return "no match:\n" + "\n".join(f"  {r}" for r in self.reasons)

    def _repr_html_(self):
        if self.matches:
            return "<p style='color:#1b7f3b'><b>&#10004; matches</b></p>"
        items = "".join(f"<li><code>{escape(r)}</code></li>" for r in self.reasons)
        return f"<p style='color:#b3261e'><b>&#10008; no match</b></p><ul>{items}</ul>"


def test_pattern(pattern, event) -> PatternResult:
    """Would an EventBridge rule with ``pattern`` match ``event``? Both may be dicts or JSON text.

    Raises ``InvalidEventPatternException`` (EventBridge's error and reason) for a pattern EventBridge refuses.
    """
    pattern, event = _load(pattern, "pattern"), _load(event, "event")
    if not isinstance(event, dict):
        raise TypeError(f"The event must be a JSON object (a dict), not {type(event).__name__}.")
    compiled = compile_pattern(pattern)
    verdict = compiled.matches_event(event)
    reasons = [] if verdict else (_explain(pattern, event, "") or [
        "each field matches on its own, but not inside the same element of an array: EventBridge needs every "
        "field of one array element to match together"])
    return PatternResult(verdict, reasons, pattern, event)


test_pattern.__test__ = False  # a library function, not a pytest test


def compile_pattern(pattern):
    """moto's ``EventPattern`` for ``pattern`` (validated as EventBridge does)."""
    from moto.events.exceptions import InvalidEventPatternException as MotoInvalid
    from moto.events.models import EventPattern

    matcher.apply()  # idempotent; the sandbox works before aws.start() and on any backend
    try:
        return EventPattern.load(_json_text(pattern))
    except MotoInvalid as exc:
        raise InvalidEventPatternException(exc.message.split("Reason: ", 1)[-1]) from None


def _json_text(pattern) -> str:
    """``pattern`` as JSON text; a value JSON cannot hold (a set, an object) is EventBridge's "Invalid JSON"."""
    try:
        return json.dumps(pattern)
    except (TypeError, ValueError) as exc:
        raise InvalidEventPatternException(f"Invalid JSON: {exc} (a pattern holds only dicts, lists, strings, "
                                           "numbers, booleans and None; write a set {...} as a list [...])") from None


def _load(value, what: str):
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            if what == "pattern":
                raise InvalidEventPatternException("Invalid JSON") from None
            raise ValueError(f"The event is not valid JSON ({exc}).") from None
    if what == "pattern":
        return json.loads(_json_text(value))
    return json.loads(json.dumps(value))  # a copy with JSON's types (tuples -> lists); fails clearly if not JSON


# --- reasons ----------------------------------------------------------------------------------------------------

def _explain(pattern: dict, node, path: str) -> list[str]:
    node = node if isinstance(node, dict) else {}
    reasons = []
    for key, want in pattern.items():
        if key == "$or":
            branches = [_explain(b, node, path) for b in want]
            if all(branches):
                where = path or "(top level)"
                reasons.append(f"{where}: none of the {len(want)} $or alternatives matched")
                for n, branch in enumerate(branches, 1):
                    reasons.extend(f"  alternative {n}: {line}" for line in branch)
            continue
        child = f"{path}.{key}" if path else key
        value = node.get(key, matcher.UNDEFINED)
        if isinstance(want, dict):
            reasons.extend(_explain_nested(want, value, child))
        elif not matcher.leaf_matches(want, value):
            reasons.append(f"{child}: wanted {describe_filters(want)}, got {describe_value(value)}")
    return reasons


def _explain_nested(pattern: dict, value, path: str) -> list[str]:
    if isinstance(value, list):
        objects = [v for v in matcher._flatten(value) if isinstance(v, dict)]
        if objects:
            per_element = [_explain(pattern, o, f"{path}[{i}]") for i, o in enumerate(objects)]
            if not all(per_element):
                return []
            return [line for lines in per_element[:3] for line in lines]
    return _explain(pattern, value, path)


def describe_filters(filters: list) -> str:
    """``["a", {"prefix": "b"}]`` -> ``"a" or prefix "b"``."""
    return " or ".join(_describe(f) for f in filters)


def _describe(f) -> str:
    if not isinstance(f, dict):
        return json.dumps(f)
    (name, arg), = f.items()
    if name in ("prefix", "suffix") and isinstance(arg, dict):
        return f"{name} {json.dumps(arg['equals-ignore-case'])} in any case"
    if name == "equals-ignore-case":
        return f"{json.dumps(arg)} in any case"
    if name == "numeric":
        terms = [f"{op} {json.dumps(bound)}" for op, bound in zip(arg[::2], arg[1::2])]
        return "a number " + " and ".join(terms)
    if name == "exists":
        return "the field to exist" if arg else "no such field"
    if name == "cidr":
        return f"an IP address in {arg}"
    if name == "anything-but":
        if isinstance(arg, dict):
            (inner, value), = arg.items()
            values = value if isinstance(value, list) else [value]
            return f"anything but {inner} " + ", ".join(json.dumps(v) for v in values)
        return "anything but " + ", ".join(json.dumps(v) for v in (arg if isinstance(arg, list) else [arg]))
    return f"{name} {json.dumps(arg)}"


def describe_value(value) -> str:
    if value is matcher.UNDEFINED:
        return "no such field"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class Comparison:
    """One pattern against several labelled events: a verdict (and reasons) per event, shown as a table."""

    pattern: dict
    results: dict  # label -> PatternResult

    def __repr__(self):
        lines = [json.dumps(self.pattern)]
        for label, result in self.results.items():
            lines.append(f"  {label}: {'matches' if result.matches else 'no match'}")
            lines.extend(f"      {r}" for r in result.reasons)
        return "\n".join(lines)

    def _repr_html_(self):
        rows = []
        for label, result in self.results.items():
            verdict = ("<span style='color:#1b7f3b'>&#10004; matches</span>" if result.matches else
                       "<span style='color:#b3261e'>&#10008; no match</span>")
            why = "<br>".join(escape(r) for r in result.reasons)
            rows.append(f"<tr><td style='text-align:left'>{escape(label)}</td><td>{verdict}</td>"
                        f"<td style='text-align:left'><code>{why}</code></td></tr>")
        return (f"<p><code>{escape(json.dumps(self.pattern))}</code></p><table><tr><th>event</th><th>verdict</th>"
                f"<th>why not</th></tr>{''.join(rows)}</table>")


def compare(pattern, events: dict) -> Comparison:
    """``test_pattern`` for each of ``events`` ({label: event}): which ones would the rule deliver, and why not."""
    return Comparison(_load(pattern, "pattern"), {label: test_pattern(pattern, e) for label, e in events.items()})
