"""Event sources: they read real state on the backend and invoke a ``LambdaFunction`` the way AWS would.

- ``connect_s3``: S3 event notifications, invoked asynchronously (retries, destinations, loop detection).
- ``connect_dynamodb_stream`` / ``connect_kinesis``: event source mappings (a poller, batches, retries, bisect...).
- ``connect_rule``: EventBridge rules; ``test_pattern``: does an event pattern match an event, and why not.

Each returns an object whose ``drain()`` delivers everything pending and reports what happened. The names are
imported here (not on first use) so Tab completion and go-to-definition find them.
"""
from .eventbridge import connect_rule, test_pattern
from .s3 import connect_s3
from .streams import connect_dynamodb_stream, connect_kinesis

__all__ = ["connect_s3", "connect_dynamodb_stream", "connect_kinesis", "connect_rule", "test_pattern"]
