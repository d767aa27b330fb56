"""The runtime's side of enforced execution roles: what a worker needs to act as the role, and where its calls go.

At each cold start of a function that has a role, the runtime asks ``worker_settings`` for the role's policies (read
from IAM on the backend at that moment, as Lambda reads the role's credentials at INIT) and a file to record calls in;
the worker (``lambdalab._call_recorder``) evaluates every AWS call against them and appends it to the file.
A function left on the default role is not enforced and records nothing, so it costs nothing.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import weakref

from .. import aws
from ..runtime import DEFAULT_ROLE
from . import roles

_lock = threading.Lock()
_folders: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # function -> its records folder
_base: str | None = None


# What Lambda itself does with a function's execution role for a stream event source mapping: read the stream (the
# four actions CreateEventSourceMapping checks and names when one is missing) and send what it discards to the
# on-failure destination.
STREAM_READ_ACTIONS = {
    "kinesis": ("kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListStreams"),
    "dynamodb": ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                 "dynamodb:ListStreams"),
}
DESTINATION_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}
_event_sources: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # function -> {(action, resource)}


class EventSourceAccessError(ValueError):
    """The execution role cannot do what Lambda needs for an event source mapping (CreateEventSourceMapping's
    InvalidParameterValueException)."""


def check_event_source(function, stream_arn: str, destination_arn: str | None = None) -> None:
    """Check, as CreateEventSourceMapping does, that the function's role lets Lambda read the stream and send to the
    on-failure destination; remember those calls for the function's report. Nothing for the default role."""
    if not enforced(function):
        return
    from . import policy as iam

    service = stream_arn.split(":")[2]
    needed = [(action, stream_arn) for action in STREAM_READ_ACTIONS[service]]
    if destination_arn:
        needed.append((DESTINATION_ACTIONS[destination_arn.split(":")[2]], destination_arn))
    policies = roles.role_policies(function.role)
    missing = [(a, r) for a, r in needed if not (policies and iam.evaluate(policies, a, r).allowed)]
    if missing:
        if any(r == stream_arn for _, r in missing):
            why = (f"Cannot access stream {stream_arn}. Please ensure the role can perform the GetRecords, "
                   "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.")
        else:
            action, resource = missing[0]
            why = (f"The provided execution role does not have permissions to call {action.split(':')[1]} on "
                   f"{resource}.")
        statement = {"Effect": "Allow", "Action": sorted({a for a, _ in missing}),
                     "Resource": sorted({r for _, r in missing})}
        raise EventSourceAccessError(
            f"InvalidParameterValueException: {why} Lambda polls the stream with {function.name}'s execution role "
            f"({function.role_arn}); add this statement to its policy: {json.dumps(statement)}")
    with _lock:
        _event_sources.setdefault(function, set()).update(needed)


def event_source_calls(function) -> set:
    """The (action, resource) pairs Lambda uses for the function's event source mappings (see check_event_source)."""
    with _lock:
        return set(_event_sources.get(function, ()))


def enforced(function) -> bool:
    """True when the function was given a role of its own (its calls are then checked and recorded)."""
    return bool(function.role) and function.role != DEFAULT_ROLE


def _folder(function) -> str:
    global _base
    with _lock:
        if _base is None:
            _base = tempfile.mkdtemp(prefix="lambdalab-calls-")
            atexit.register(shutil.rmtree, _base, True)
        if function not in _folders:
            _folders[function] = tempfile.mkdtemp(prefix=f"{function.name}-", dir=_base)
            weakref.finalize(function, shutil.rmtree, _folders[function], True)  # the records go with the function
        return _folders[function]


def worker_settings(function, environment_id: str) -> dict | None:
    """What a new execution environment of ``function`` needs to run as its role (None: no role, nothing to do)."""
    if not enforced(function):
        return None
    roles.check_lambda_may_assume(function.role)
    backend = aws.backend()
    return {"role_arn": function.role_arn, "function_name": function.name, "account": backend.account_id,
            "region": backend.region, "policies": roles.role_policies(function.role),
            "record_path": os.path.join(_folder(function), f"{environment_id}.jsonl"),
            "environment": environment_id}


def role_changed(role_name: str) -> None:
    """A role's policies changed: environments read them when they start, so discard the idle environments of every
    function running as that role. On AWS a policy change reaches running functions within seconds; here the next
    invocation starts a fresh environment with the new policies."""
    with _lock:
        functions = list(_folders.keys())
    for function in functions:
        if enforced(function) and roles.role_name(function.role) == role_name:
            function.shutdown()


def recorded(function) -> list[dict]:
    """Everything the function's environments recorded, oldest first (environments started, calls made)."""
    with _lock:
        folder = _folders.get(function)
    if folder is None or not os.path.isdir(folder):
        return []
    records = []
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), encoding="utf-8") as lines:
            for line in lines:
                if line.endswith("\n"):  # a line still being written is read next time
                    records.append(json.loads(line))
    return sorted(records, key=lambda r: r["t"])


def forget(function) -> None:
    """Start the function's record afresh (before a new experiment with the same function). Warm environments keep
    recording: their files are emptied, not removed."""
    with _lock:
        folder = _folders.get(function)
    if folder and os.path.isdir(folder):
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "r+", encoding="utf-8") as records:
                records.truncate(0)
