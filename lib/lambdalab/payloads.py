"""Lambda's payload limits, and the one check every way into a function makes before anything runs.

A synchronous invocation (RequestResponse) takes up to 6 MB of request and returns up to 6 MB of response; the
same 6 MB caps an event source mapping's batch. An asynchronous invocation (S3, EventBridge) takes up to 1 MB
(256 KB before October 2025).
"""
from __future__ import annotations

import json

from ._worker import lambda_error

SYNC_LIMIT_BYTES = 6 * 1024 * 1024
RESPONSE_LIMIT_BYTES = SYNC_LIMIT_BYTES + 100  # the figure Lambda's ResponseSizeTooLarge error names (6291556)
ASYNC_LIMIT_BYTES = 1024 * 1024
_LIMITS = {SYNC_LIMIT_BYTES: "a synchronous invocation accepts at most {:,} bytes (6 MB)",
           ASYNC_LIMIT_BYTES: "an asynchronous invocation accepts at most {:,} bytes (1 MB)"}


def event_json(event, limit_bytes: int = SYNC_LIMIT_BYTES) -> str:
    """``event`` as the JSON text Lambda would receive; a clear error if it is not JSON or over ``limit_bytes``."""
    try:
        text = json.dumps(event)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The event must be JSON-serialisable, as every AWS event is ({exc}). Convert datetimes to ISO strings, "
            "bytes to base64 text and sets to lists before invoking.") from None
    size = len(text.encode())
    if size > limit_bytes:
        raise ValueError(f"The event is {size:,} bytes; {_LIMITS[limit_bytes].format(limit_bytes)}. Put large data "
                         "in S3 and send its key instead.")
    return text


def response_error(response_json: str) -> dict | None:
    """Lambda's error for a response over 6 MB (the function ran; the caller gets this instead), or None."""
    size = len(response_json.encode())
    if size <= RESPONSE_LIMIT_BYTES:
        return None
    return lambda_error("Function.ResponseSizeTooLarge", f"Response payload size ({size} bytes) exceeded maximum "
                        f"allowed payload size ({RESPONSE_LIMIT_BYTES} bytes).")
