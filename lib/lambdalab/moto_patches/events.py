"""Amazon EventBridge as AWS runs it: the event-pattern matcher, pattern validation, the event a target receives and
the events S3 sends. Each correction below was tried against AWS's documentation and Event Ruler (the open-source
engine EventBridge matches with); moto 5.2.5 differs as the comments say.

Matching (``EventPattern.matches_event``): moto flattens the event into dotted names, so it
- treats ``true`` as the number 1 (Python's ``True == 1``): ``[1]``, ``{"numeric": ...}`` and ``anything-but``
  confused booleans with numbers; EventBridge compares JSON types strictly;
- never looks inside an array of objects: ``{"a": {"b": ["x"]}}`` must match ``{"a": [{"b": "y"}, {"b": "x"}]}``,
  and two fields must then match in the *same* element (Event Ruler's array-consistent matching);
- matched ``cidr`` against numbers (``ipaddress.ip_address(5)`` is ``0.0.0.5``).
Validation (``EventPatternParser.parse``): moto accepted unknown operators, wrongly typed values, mixed anything-but
lists and patterns that are not JSON objects (some then failed later with TypeError or AttributeError); this raises
moto's ``InvalidEventPatternException`` with Event Ruler's reason, as ``PutRule`` does on AWS.
Delivery (``Rule.send_to_targets``, SQS targets): the event keeps ``account``, ``time`` is the ISO string AWS sends
(and patterns on ``time`` see that string), moto's internal ``ingestion-time`` is dropped, a scheduled rule (no
pattern) receives no bus events (moto: all of them), nor does a disabled rule (moto: it still delivers); ``Input``, ``InputPath``
and an ``InputTransformer`` whose template is plain text (not JSON) are applied as on AWS.
A target that is another event bus gets the event unchanged (moto re-sends it, losing ``account``, ``id`` and
``time``), and across accounts only when the bus policy allows the sender. TestEventPattern answers with the same
matcher (moto: an empty response); PutTargets refuses a sixth target of
a rule with LimitExceededException (moto: no limit).
S3 -> EventBridge: ``etag`` (moto: ``eTag``), AWS's ``reason`` values (moto: ``ObjectCreated``) and
``deletion-type``, no ``version-id`` for unversioned buckets, and events go to the default bus only (moto: every bus).
Times follow ``lambdalab.clock``.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import operator
import random
import re
import string
import uuid
from datetime import datetime, timezone

from . import require

UNDEFINED = object()  # a field the event does not have (or that is not a leaf: an object, an empty array)
OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr",
             "exactly")
_RESERVED_IN_OR = set(OPERATORS) | {"=", "<", "<=", ">", ">=", "html", "regex"}  # Event Ruler's reserved names
NUMBER_LIMIT = 5e9  # Event Ruler compares numbers from -5.0e9 to 5.0e9, to six decimal places
S3_REASONS = {  # S3's EventBridge events: detail.reason (and detail.deletion-type) for each S3 event name
    "s3:ObjectCreated:Put": ("PutObject", None), "s3:ObjectCreated:Post": ("POST Object", None),
    "s3:ObjectCreated:Copy": ("CopyObject", None),
    "s3:ObjectCreated:CompleteMultipartUpload": ("CompleteMultipartUpload", None),
    "s3:ObjectRemoved:Delete": ("DeleteObject", "Permanently Deleted"),
    "s3:ObjectRemoved:DeleteMarkerCreated": ("DeleteObject", "Delete Marker Created"),
}
_original: dict = {}


# --- matching ---------------------------------------------------------------------------------------------------

def matches(pattern: dict, event) -> bool:
    """True when ``event`` (a dict) matches ``pattern`` (a validated pattern dict), as EventBridge decides."""
    return _object_matches(pattern, event if isinstance(event, dict) else {})


def _object_matches(pattern: dict, node: dict) -> bool:
    for key, want in pattern.items():
        if key == "$or":
            if not any(_object_matches(branch, node) for branch in want):
                return False
            continue
        value = node.get(key, UNDEFINED)
        if isinstance(want, dict):
            if not _nested_matches(want, value):
                return False
        elif not leaf_matches(want, value):
            return False
    return True


def _nested_matches(pattern: dict, value) -> bool:
    """A pattern object against the event's value there: an object, an array of objects (any one element must
    match all of the pattern on its own), or nothing (only absence tests like ``exists: false`` can match)."""
    if isinstance(value, list):
        objects = [v for v in _flatten(value) if isinstance(v, dict)]
        if objects:
            return any(_object_matches(pattern, o) for o in objects)
    return _object_matches(pattern, value if isinstance(value, dict) else {})


def _flatten(values: list) -> list:
    out = []
    for v in values:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


def leaf_values(value) -> list:
    """The JSON scalars an event has at a leaf: [] when the field is missing, an object, or an empty array."""
    if value is UNDEFINED or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [v for v in _flatten(value) if not isinstance(v, dict)]
    return [value]


def leaf_matches(filters: list, value) -> bool:
    """One field's list of filters (ORed) against the event's value there (an array matches if any element does)."""
    values = leaf_values(value)
    for f in filters:
        if isinstance(f, dict):
            (name, arg), = f.items()
            if name == "exists":
                if bool(values) == arg:
                    return True
            elif any(_operator_matches(name, arg, v) for v in values):
                return True
        elif any(same_value(f, v) for v in values):
            return True
    return False


def same_value(a, b) -> bool:
    """JSON equality: a boolean is never a number (moto: ``True == 1``); numbers compare by value (300 == 3.0e2)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _operator_matches(name: str, arg, v) -> bool:
    if name in ("prefix", "suffix", "equals-ignore-case", "wildcard", "exactly"):
        if not isinstance(v, str):
            return False  # string operators only ever match strings
        if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "x"}}
            return _string_matches(name, arg["equals-ignore-case"].casefold(), v.casefold())
        return _string_matches(name, arg, v)
    if name == "numeric":
        return _is_number(v) and _numeric_matches(arg, v)
    if name == "cidr":
        return isinstance(v, str) and _in_network(v, arg)
    if name == "anything-but":
        return not _excluded(arg, v)
    raise AssertionError(f"unvalidated operator {name!r}")


def _string_matches(name: str, arg: str, v: str) -> bool:
    if name == "prefix":
        return v.startswith(arg)
    if name == "suffix":
        return v.endswith(arg)
    if name == "wildcard":
        from moto.events.models import EventPattern

        return EventPattern._wildcard_match(v, arg)  # moto's own wildcard (escapes \* and \\): correct
    return v == arg if name == "exactly" else v.casefold() == arg.casefold()


def _excluded(arg, v) -> bool:
    """True when ``v`` is one of the values an anything-but names (so anything-but does not match it)."""
    if isinstance(arg, dict):
        (name, inner), = arg.items()
        values = inner if isinstance(inner, list) else [inner]
        if name == "equals-ignore-case":
            return isinstance(v, str) and any(v.casefold() == x.casefold() for x in values)
        return isinstance(v, str) and any(_string_matches(name, x, v) for x in values)
    values = arg if isinstance(arg, list) else [arg]
    return any(same_value(x, v) for x in values)


def _numeric_matches(terms: list, v) -> bool:
    checks = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    return all(checks[op](v, bound) for op, bound in zip(terms[::2], terms[1::2]))


def _in_network(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


# --- validation (Event Ruler's JsonRuleCompiler, reasons in its words) ------------------------------------------

class PatternError(ValueError):
    """An invalid event pattern; ``reason`` is what EventBridge's InvalidEventPatternException says."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def validate(pattern) -> None:
    """Raise ``PatternError`` unless ``pattern`` (parsed JSON) is a pattern EventBridge accepts."""
    if not isinstance(pattern, dict):
        raise PatternError("Filter is not an object")
    _validate_object(pattern, in_or=False)


def _validate_object(node: dict, in_or: bool) -> None:
    if not node:
        raise PatternError("Empty objects are not allowed")
    for key, value in node.items():
        if key == "$or":
            if not isinstance(value, list):
                raise PatternError("It must be an Array followed with $or.")
            if not all(isinstance(b, dict) for b in value):
                raise PatternError("Only JSON object is allowed in array of $or relationship.")
            if len(value) < 2:
                raise PatternError("There must have at least 2 Objects in $or relationship.")
            for branch in value:
                _validate_object(branch, in_or=True)
            continue
        if in_or and key in _RESERVED_IN_OR:
            raise PatternError(f"{key} is Ruler reserved fieldName which cannot be used inside $or.")
        if isinstance(value, dict):
            _validate_object(value, in_or)
        elif isinstance(value, list):
            _validate_values(value)
        else:
            raise PatternError(f'"{key}" must be an object or an array')


def _validate_values(values: list) -> None:
    if not values:
        raise PatternError("Empty arrays are not allowed")
    for v in values:
        if isinstance(v, dict):
            _validate_operator(v)
        elif isinstance(v, list):
            raise PatternError("Match value must be String, number, true, false, or null")
        elif _is_number(v):
            _check_number(v)


def _validate_operator(expression: dict) -> None:
    if len(expression) != 1:
        raise PatternError("Only one key allowed in match expression" if expression
                           else "Match expression name not found")
    (name, arg), = expression.items()
    if name in ("prefix", "suffix"):
        if isinstance(arg, dict):
            _only_equals_ignore_case(name, arg)
        elif not isinstance(arg, str):
            raise PatternError(f"{name} match pattern must be a string")
    elif name in ("equals-ignore-case", "exactly"):
        if not isinstance(arg, str):
            raise PatternError(f"{name.replace('exactly', 'exact')} match pattern must be a string")
    elif name == "wildcard":
        _check_wildcard(arg)
    elif name == "numeric":
        _check_numeric(arg)
    elif name == "exists":
        if not isinstance(arg, bool):
            raise PatternError("exists match pattern must be either true or false.")
    elif name == "cidr":
        _check_cidr(arg)
    elif name == "anything-but":
        _check_anything_but(arg)
    else:
        raise PatternError(f"Unrecognized match type {name}")


def _only_equals_ignore_case(name: str, arg: dict) -> None:
    if len(arg) != 1:
        raise PatternError("Only one key allowed in match expression")
    (inner, text), = arg.items()
    if inner != "equals-ignore-case":
        raise PatternError(f"Unsupported {name} pattern: {inner}")
    if not isinstance(text, str):
        raise PatternError("equals-ignore-case match pattern must be a string")


def _check_wildcard(arg) -> None:
    if not isinstance(arg, str):
        raise PatternError("wildcard match pattern must be a string")
    i = 0
    while i < len(arg):
        if arg[i] == "*" and arg[i + 1:i + 2] == "*":
            raise PatternError(f"Consecutive wildcard characters at pos {i}")
        if arg[i] == "\\":
            if arg[i + 1:i + 2] not in ("*", "\\"):
                raise PatternError(f"Invalid escape character at pos {i}")
            i += 1
        i += 1


def _check_number(v) -> None:
    if not -NUMBER_LIMIT <= v <= NUMBER_LIMIT:
        raise PatternError(f"Value must be between {-NUMBER_LIMIT} and {NUMBER_LIMIT}, inclusive")


def _check_numeric(terms) -> None:
    if not isinstance(terms, list):
        raise PatternError("Value of numeric must be an array.")
    if not terms or not isinstance(terms[0], str):
        raise PatternError(f"Invalid member in numeric match: {terms[0] if terms else ']'}")
    op = terms[0]
    if op not in ("=", "<", "<=", ">", ">="):
        raise PatternError(f"Unrecognized numeric range operator: {op}")
    if len(terms) < 2 or not _is_number(terms[1]):
        raise PatternError(f"Value of {'equals' if op == '=' else op} must be numeric")
    _check_number(terms[1])
    if len(terms) == 2:
        return
    if op in ("=", "<", "<="):
        raise PatternError("Too many elements in numeric expression")
    upper = terms[2]
    if not isinstance(upper, str):
        raise PatternError(f"Bad value in numeric range: {upper}")
    if upper not in ("<", "<="):
        raise PatternError(f"Bad numeric range operator: {upper}")
    if len(terms) < 4 or not _is_number(terms[3]):
        raise PatternError(f"Value of {upper} must be numeric")
    _check_number(terms[3])
    if len(terms) > 4:
        raise PatternError("Too many terms in numeric range expression")


def _check_cidr(arg) -> None:
    if not isinstance(arg, str):
        raise PatternError("prefix match pattern must be a string")  # sic: Event Ruler's message for cidr
    address, slash, bits = arg.partition("/")
    if not slash or "/" in bits:
        raise PatternError("Malformed CIDR, one '/' required")
    if not bits.lstrip("-").isdigit():
        raise PatternError("Malformed CIDR, mask bits must be an integer")
    try:
        network = ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise PatternError(f"Invalid IP address: {address}") from None
    if int(bits) > network.max_prefixlen:
        raise PatternError(f"IPv{network.version} mask bits must be < {network.max_prefixlen + 1}")


def _check_anything_but(arg) -> None:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise PatternError("Only one key allowed in match expression")
        (name, inner), = arg.items()
        if name not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise PatternError(f"Unsupported anything-but pattern: {name}")
        values = inner if isinstance(inner, list) else [inner]
        if not isinstance(inner, (list, str)) or not values or not all(isinstance(v, str) for v in values):
            raise PatternError("wildcard match pattern must be a string" if name == "wildcard" else
                               "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not "
                               "supported." if name == "equals-ignore-case" else
                               "prefix/suffix match pattern must be a string")
        if name in ("prefix", "suffix") and "" in values:
            raise PatternError("Null prefix/suffix not allowed")
        if name == "wildcard":
            for v in values:
                _check_wildcard(v)
        return
    if isinstance(arg, list):
        if not all(isinstance(v, str) or _is_number(v) for v in arg):
            raise PatternError("Inside anything but list, start|null|boolean is not supported.")
        kinds = {isinstance(v, str) for v in arg}
        if len(kinds) != 1:
            raise PatternError("Inside anything but list, either all values are number or string, mixed type is "
                               "not supported")
        for v in arg:
            if _is_number(v):
                _check_number(v)
        return
    if not (isinstance(arg, str) or _is_number(arg)):
        raise PatternError("Value of anything-but must be an array or single string/number value.")


def parse(raw: str | None) -> dict:
    """A pattern's JSON text -> the pattern dict, validated; moto's InvalidEventPatternException otherwise."""
    from moto.events.exceptions import InvalidEventPatternException

    if not raw:
        return {}
    try:
        pattern = json.loads(raw)
    except (TypeError, ValueError):
        raise InvalidEventPatternException(reason="Invalid JSON") from None
    try:
        validate(pattern)
    except PatternError as exc:
        raise InvalidEventPatternException(reason=exc.reason) from None
    return pattern


# --- what a target receives -------------------------------------------------------------------------------------

def iso_time(value) -> str:
    """EventBridge's ``time``: ISO 8601 in UTC to the second, ``2026-12-02T09:30:00Z`` (moto keeps epoch seconds)."""
    if isinstance(value, str):
        return value
    return datetime.fromtimestamp(float(value), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_event(event: dict) -> dict:
    """moto's internal event message as EventBridge shapes it: ISO ``time``, ``account`` kept, no ingestion-time."""
    shaped = {k: v for k, v in event.items() if k != "ingestion-time"}
    if "time" in shaped:
        shaped["time"] = iso_time(shaped["time"])
    return shaped


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def json_path(event, path: str):
    """The value at a simple JSONPath (``$``, ``$.detail.object.key``, ``$.resources[0]``); None when absent."""
    if path.strip() == "$":
        return event
    node = event
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path.strip()[1:]):
        key, index = part
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def target_input(event: dict, target: dict, rule_arn: str | None = None, rule_name: str | None = None):
    """What a target receives: ``Input`` (constant JSON), ``InputPath`` (part of the event) or ``InputTransformer``
    (values picked by ``InputPathsMap`` put into ``InputTemplate``, plus EventBridge's predefined
    ``<aws.events.rule-arn>``, ``<aws.events.rule-name>``, ``<aws.events.event.ingestion-time>``,
    ``<aws.events.event>`` (the event without ``detail``) and ``<aws.events.event.json>``); the whole event otherwise."""
    from .. import clock

    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        return json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if not transformer:
        return event
    values = {name: json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    values.update({"aws.events.rule-arn": rule_arn, "aws.events.rule-name": rule_name,
                   "aws.events.event.ingestion-time": iso_time(clock.now()),
                   "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
                   "aws.events.event.json": event})
    return _fill_template(transformer["InputTemplate"], values)


def _fill_template(template: str, values: dict):
    """Inside a JSON string a placeholder becomes the value's text; elsewhere its JSON. A template that is not
    JSON after filling is sent as a plain string (moto fails on it)."""
    out, in_string, i = [], False, 0
    while i < len(template):
        c = template[i]
        if c == '"' and (i == 0 or template[i - 1] != "\\"):
            in_string = not in_string
        match = _PLACEHOLDER.match(template, i) if c == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                out.append(json.dumps(value)[1:-1] if isinstance(value, str) else json.dumps(value))
            else:
                out.append(json.dumps(value))
            i = match.end()
            continue
        out.append(c)
        i += 1
    text = "".join(out)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _send_to_targets(self, original_event, transform_input: bool = True) -> None:
    """moto's ``Rule.send_to_targets``, corrected for SQS targets (the ones the course routes through)."""
    from moto.sqs.models import sqs_backends
    from moto.utilities.arns import parse_arn

    if self.state != "ENABLED":
        return  # a disabled rule matches nothing (moto: it still delivers)
    if not self.event_pattern.get_pattern():
        return  # a rule with a schedule and no pattern matches no event (moto: every event on the bus)
    event = aws_event(original_event)
    if not matches(self.event_pattern.get_pattern(), event):
        return
    others = []
    for target in self.targets:
        arn = parse_arn(target["Arn"])
        if arn.service == "events" and arn.resource_type == "event-bus":
            _send_to_bus(self.account_id, arn, event)
            continue
        if arn.service != "sqs":
            others.append(target)
            continue
        payload = target_input(event, target, rule_arn=self.arn, rule_name=self.name)
        body = payload if isinstance(payload, str) else json.dumps(payload)
        group_id = target.get("SqsParameters", {}).get("MessageGroupId")
        sqs_backends[arn.account][arn.region].send_message(queue_name=arn.resource_id, message_body=body,
                                                         group_id=group_id)
    if others:  # logs, archives, other buses, API destinations: moto's own code
        saved = self.targets
        self.targets = others
        try:
            _original["send_to_targets"](self, original_event, transform_input)
        finally:
            self.targets = saved


def _send_to_bus(sender_account: str, arn, event: dict) -> None:
    """A rule whose target is another event bus forwards the event unchanged (its id, time and the sender's
    ``account``; moto re-sends it through PutEvents, losing them). Across accounts, the receiving bus's policy must
    allow the sender's account to call events:PutEvents, or EventBridge drops the event (moto delivers it)."""
    from moto.events.models import events_backends

    bus = events_backends[arn.account][arn.region].event_buses.get(arn.resource_id.split("/")[-1])
    if bus is None or (arn.account != sender_account and not _policy_allows(bus.policy, sender_account)):
        return
    for rule in list(bus.rules.values()):
        rule.send_to_targets(dict(event))


def _policy_allows(policy: str | None, account: str) -> bool:
    """True when a bus policy has an Allow statement for events:PutEvents (or events:*) whose principal is ``*``,
    the account, or its root ARN. Conditions (e.g. aws:PrincipalOrgID) are not evaluated."""
    if not policy:
        return False
    for statement in json.loads(policy).get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        principal = statement.get("Principal", {})
        principals = principal.get("AWS", []) if isinstance(principal, dict) else principal
        principals = [principals] if isinstance(principals, str) else principals
        if (statement.get("Effect") == "Allow" and {"events:PutEvents", "events:*"} & set(actions)
                and {"*", account, f"arn:aws:iam::{account}:root"} & set(principals)):
            return True
    return False


# --- S3 -> EventBridge ------------------------------------------------------------------------------------------

def s3_event(account_id: str, bucket, event_name: str, key) -> dict:
    """The event S3 sends EventBridge for ``event_name`` on ``key`` (AWS's shape; see the module docstring)."""
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3.notifications import _detail_type

    from .. import clock
    from .s3_events import EMPTY_ETAG

    reason, deletion_type = S3_REASONS.get(event_name, (None, None))
    if event_name.removeprefix("s3:").startswith("ObjectRemoved:"):  # AWS's "Object Deleted": no size
        obj = {"key": key.name, "etag": EMPTY_ETAG}
    else:
        obj = {"key": key.name, "size": key.size, "etag": key.etag.replace('"', "")}
    obj["sequencer"] = f"{clock.now_ms():016X}"
    if getattr(key, "version_id", None) and key.version_id != "null":
        obj["version-id"] = key.version_id
    request_id = "".join(random.choices(string.ascii_uppercase + string.digits, k=16))
    detail = {"version": "0", "bucket": {"name": bucket.name}, "object": obj, "request-id": request_id,
              "requester": account_id, "source-ip-address": "127.0.0.1"}
    if reason:
        detail["reason"] = reason
    if deletion_type:
        detail["deletion-type"] = deletion_type
    event = copy.deepcopy(_BASE_EVENT_MESSAGE)
    event.update({"id": str(uuid.uuid4()), "detail-type": _detail_type(event_name), "source": "aws.s3",
                  "account": account_id,
                  "time": clock.now(), "region": bucket.region_name, "resources": [bucket.arn], "detail": detail})
    return event


def _send_s3_event(account_id: str, bucket, event_name: str, key) -> None:
    """S3 sends to the default event bus of the bucket's account and Region only. moto also sends "Object Tags
    Added" for every upload, even without tags; S3 does not."""
    from moto.events.models import events_backends
    from moto.s3.models import s3_backends

    if event_name == "s3:ObjectTagging:Put":
        tags = s3_backends[account_id][bucket.partition].tagger.list_tags_for_resource(key.arn).get("Tags")
        if not tags:
            return
    event = s3_event(account_id, bucket, event_name, key)
    for rule in list(events_backends[account_id][bucket.region_name].event_buses["default"].rules.values()):
        if rule.state == "ENABLED":
            rule.send_to_targets(event)


# --- limits -----------------------------------------------------------------------------------------------------

TARGETS_PER_RULE = 5  # EventBridge's limit (moto: none)


def _put_targets(self, name: str, event_bus_arn, targets: list) -> None:
    from moto.core.exceptions import JsonRESTError

    bus = self._get_event_bus(self._normalize_event_bus_arn(event_bus_arn))
    rule = bus.rules.get(name)
    if rule is not None:
        ids = {t["Id"] for t in rule.targets} | {t["Id"] for t in targets}
        if len(ids) > TARGETS_PER_RULE:
            raise JsonRESTError("LimitExceededException",
                                f"The requested resource exceeds the maximum number allowed ({TARGETS_PER_RULE} "
                                f"targets per rule).")
    _original["put_targets"](self, name, event_bus_arn, targets)


# --- TestEventPattern -------------------------------------------------------------------------------------------

def _test_event_pattern(self):
    """The TestEventPattern API (moto: an empty answer): {"Result": true|false} with the same matcher."""
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventPattern

    pattern = EventPattern.load(self._get_param("EventPattern"))  # InvalidEventPatternException when invalid
    try:
        event = json.loads(self._get_param("Event") or "")
    except ValueError:
        raise ValidationException("Parameter Event is not valid.") from None
    if not isinstance(event, dict):
        raise ValidationException("Parameter Event is not valid.")
    return self._create_response({"Result": matches(pattern.get_pattern(), aws_event(event))})


# --- apply / verify ---------------------------------------------------------------------------------------------

def _matches_event(self, event) -> bool:
    return matches(self.get_pattern(), json.loads(json.dumps(event)))


def _parse(self) -> dict:
    return parse(self.pattern)


def _unix_time(dt=None):
    from .. import clock

    return clock.now() if dt is None else _original["unix_time"](dt)


def apply(server=None) -> None:
    import moto.events.models as events_models
    import moto.events.responses as events_responses
    import moto.s3.notifications as s3_notifications

    events_responses.EventsHandler.test_event_pattern = _test_event_pattern
    if not _original:
        _original.update(send_to_targets=events_models.Rule.send_to_targets, unix_time=events_models.unix_time,
                         put_targets=events_models.EventsBackend.put_targets)
    events_models.EventsBackend.put_targets = _put_targets
    events_models.EventPattern.matches_event = _matches_event
    events_models.EventPatternParser.parse = _parse
    events_models.Rule.send_to_targets = _send_to_targets
    events_models.unix_time = _unix_time  # PutEvents stamps `time` with the simulated clock
    s3_notifications._send_event_bridge_message = _send_s3_event


def verify() -> None:
    import moto.events.models as events_models
    import moto.s3.notifications as s3_notifications

    pattern = events_models.EventPattern.load('{"a": {"b": [true]}}')
    require(pattern.matches_event({"a": [{"b": 1}, {"b": True}]}) and not pattern.matches_event({"a": {"b": 1}}),
            __name__, "moto's EventPattern does not use the corrected matcher")
    try:
        events_models.EventPattern.load('{"a": [{"nope": 1}]}')
    except Exception as exc:  # noqa: BLE001 - the kind is checked below
        require(type(exc).__name__ == "InvalidEventPatternException", __name__,
                f"an unknown operator raised {type(exc).__name__}, not InvalidEventPatternException")
    else:
        require(False, __name__, "an unknown operator was accepted")
    require(events_models.Rule.send_to_targets is _send_to_targets, __name__,
            "moto's Rule.send_to_targets is not the corrected one")
    require(s3_notifications._send_event_bridge_message is _send_s3_event and "_send_event_bridge_message("
            in _source(s3_notifications), __name__, "S3's EventBridge notifications are not the corrected ones")
    require(events_models.unix_time is _unix_time, __name__, "EventBridge times do not follow the simulated clock")
    import moto.events.responses as events_responses

    require(events_responses.EventsHandler.test_event_pattern is _test_event_pattern, __name__,
            "TestEventPattern is not answered")
    require(events_models.EventsBackend.put_targets is _put_targets, __name__, "PutTargets has no 5-target limit")


def _source(module) -> str:
    import inspect

    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return "_send_event_bridge_message("  # no source to read: trust the assignment
