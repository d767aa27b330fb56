"""Building blocks for lab checks: scratch buckets, real-shaped S3 events, calling a student's handler in this
process (with its environment variables and logs captured) or through the course's Lambda runtime."""
from __future__ import annotations

import contextlib
import io
import logging
import secrets
import uuid

from .. import aws
from ..runtime import temporary_environ
from ..triggers import s3 as triggers_s3
from .core import CheckFailed, Context, NotDone, student_error


def scratch_bucket(ctx: Context, label: str) -> str:
    """Create an empty bucket with a unique name; it is emptied and deleted after the check."""
    name = f"{ctx.lab.id}-{label}-{secrets.token_hex(4)}"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    ctx.on_cleanup(lambda: delete_bucket(name))
    return name


def delete_bucket(name: str) -> None:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


def keys_in(bucket: str) -> list[str]:
    """Every key in ``bucket``, sorted."""
    pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def read(bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is no such object."""
    s3 = aws.client("s3")
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def where_is(key: str) -> list[str]:
    """The buckets that hold ``key`` (to tell a student where their output went instead)."""
    s3 = aws.client("s3")
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        if key in keys_in(bucket["Name"]):
            found.append(bucket["Name"])
    return found


def s3_event(bucket: str, keys: list[str], *, encode_slash: bool = False) -> dict:
    """An ``ObjectCreated:Put`` notification for ``keys``, keys URL-encoded as S3 sends them ("a b.jpg" -> "a+b.jpg").

    Real S3 leaves "/" alone; moto encodes it as %2F (``encode_slash=True``): a correct decoder handles both.
    """
    event = triggers_s3.s3_event(bucket, *keys)
    if encode_slash:
        for record in event["Records"]:
            record["s3"]["object"]["key"] = record["s3"]["object"]["key"].replace("/", "%2F")
    return event


class _Capture(logging.Handler):
    def __init__(self, sink):
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record):
        with contextlib.suppress(Exception):
            self.sink.write(f"[{record.levelname}] {record.getMessage()}\n")


@contextlib.contextmanager
def captured_output():
    """Collect what the block prints and logs (INFO and up, any logger) into a StringIO."""
    sink = io.StringIO()
    root = logging.getLogger()
    handler, level = _Capture(sink), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield sink
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class LocalContext:
    """A stand-in for Lambda's ``context`` when a check calls a handler in this process."""

    def __init__(self, function_name: str = "lab-check", timeout_s: float = 30):
        import time

        self.function_name = function_name
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = "512"
        b = aws.backend()
        self.invoked_function_arn = f"arn:aws:lambda:{b.region}:{b.account_id}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "lab-check"
        self._deadline = time.time() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.time()) * 1000))


def call_handler(ctx: Context, name: str, event: dict, env: dict) -> tuple[object, str]:
    """Call the student's handler ``name`` in this process with ``env`` set; returns (response, printed logs)."""
    b = aws.backend()
    variables = {"AWS_REGION": b.region, "AWS_DEFAULT_REGION": b.region, **env}
    if not b.in_process:  # the handler's own boto3 clients must find the backend (and its credentials) by themselves
        variables.update(aws.worker_environment())
    shown = f"{name}(event with {len(event.get('Records', []))} record(s), context)"
    with temporary_environ(variables), captured_output() as logs:
        response = ctx.call_as(shown, name, event, LocalContext())
    return response, logs.getvalue()


def invoke_in_runtime(ctx: Context, name: str, event: dict, env: dict, *, timeout_s: float = 10,
                      memory_mb: int = 512):
    """Invoke the student's handler through ``lambdalab.runtime`` (a worker process, as Lambda does); returns
    the Invocation. A handler the runtime cannot ship fails the check with the runtime's own explanation."""
    from .. import runtime

    handler = ctx.get(name)
    try:
        function = runtime.LambdaFunction(f"{ctx.lab.id}-check-{secrets.token_hex(3)}", handler,
                                          memory_mb=memory_mb, timeout_s=timeout_s, environment=env)
    except runtime.LambdaConfigError as exc:
        raise CheckFailed(f"The Lambda runtime cannot run `{name}`: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. a handler whose globals cannot be copied
        raise student_error(exc, f"LambdaFunction(..., handler={name})") from None
    ctx.on_cleanup(function.shutdown)
    invocation = function.invoke(event)
    if invocation.error and invocation.error.get("errorType") == "NotImplementedError":
        raise NotDone(f"`{name}` (or a function it calls) is not written yet: it raised NotImplementedError when "
                      "run as a Lambda function.")
    return invocation
