"""Event sources: they read real state on the backend and invoke a ``LambdaFunction`` the way AWS would.

- ``connect_s3``: S3 event notifications, invoked asynchronously (retries, destinations, loop detection).
- ``connect_dynamodb_stream`` / ``connect_kinesis``: event source mappings (a poller, batches, retries, bisect...).
- ``connect_rule``: EventBridge rules; ``test_pattern``: does an event pattern match an event, and why not.

Each returns an object whose ``drain()`` delivers everything pending and reports what happened.
"""
import importlib

_WHERE = {
    "connect_s3": "s3",
    "connect_dynamodb_stream": "streams",
    "connect_kinesis": "streams",
    "connect_rule": "eventbridge",
    "test_pattern": "eventbridge",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lambdalab.triggers' has no attribute {name!r}")
