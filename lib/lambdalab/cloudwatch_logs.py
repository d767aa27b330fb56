"""Lambda's log lines on their way to CloudWatch Logs (``/aws/lambda/<name>``), as the Lambda service ships them.

The runtime hands each invocation's lines to ``shipper``; they are delivered in PutLogEvents batches within CloudWatch's
limits, before anything reads logs through ``aws.client("logs")`` and a moment after the last invocation. A failed
delivery keeps its lines for the next one: nothing is lost.
"""
from __future__ import annotations

import contextlib
import threading
import time

from . import aws


class LogShipper:
    """Buffers log events and delivers them to CloudWatch Logs in batches: before any read through
    ``aws.client("logs")``, and a moment after the last invocation for readers elsewhere."""

    DELAY_S = 0.5
    EVENT_LIMIT = 256 * 1024 - 26  # bytes of one log event's message (CloudWatch Logs counts 26 more per event)
    BATCH_BYTES, BATCH_EVENTS = 1_048_576, 10_000  # one PutLogEvents call

    def __init__(self):
        self._lock = threading.Lock()  # guards _pending and _timer
        self._sending = threading.RLock()  # one delivery at a time; re-entered by the logs client's read hook
        self._pending: dict[tuple[str, str], list] = {}
        self._known: set = set()
        self._timer: threading.Timer | None = None

    def add(self, group: str, stream: str, lines: list[str]) -> None:
        now = int(time.time() * 1000)
        with self._lock:
            self._pending.setdefault((group, stream), []).extend(
                {"timestamp": now, "message": truncate(line, self.EVENT_LIMIT)} for line in lines)
            if self._timer is None:
                self._timer = threading.Timer(self.DELAY_S, self._flush_quietly)
                self._timer.daemon = True
                self._timer.start()

    def _flush_quietly(self):
        try:
            self.flush()
        except Exception:  # a background flush must never disturb the notebook; readers flush again
            pass

    def flush(self) -> None:
        with self._sending:
            with self._lock:
                pending, self._pending = self._pending, {}
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            if not pending:
                return
            logs = aws.client("logs")
            items = list(pending.items())
            try:
                while items:
                    (group, stream), events = items[0]
                    self._deliver(logs, group, stream, events)
                    items.pop(0)
            except Exception:
                self._requeue(items)  # nothing is lost: the next flush (or reader) tries again
                raise

    def _deliver(self, logs, group, stream, events):
        """Send ``events`` to one stream in PutLogEvents batches; the list is emptied as batches are accepted."""
        recreated = False
        while events:
            self._ensure(logs, group, stream)
            batch = next(self._batches(events))
            try:
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            except logs.exceptions.ResourceNotFoundException:
                # The group or stream is gone (deleted by hand, or aws.reset() ran meanwhile): create it again, once.
                if recreated:
                    raise
                recreated = True
                self._known.discard(group)
                self._known.discard((group, stream))
                continue
            del events[:len(batch)]

    def _ensure(self, logs, group, stream):
        if group not in self._known:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
            self._known.add(group)
        if (group, stream) not in self._known:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            self._known.add((group, stream))

    def _requeue(self, items):
        with self._lock:
            for key, events in reversed(items):
                self._pending[key] = events + self._pending.get(key, [])

    def _batches(self, events):
        """Split events into PutLogEvents calls within CloudWatch's limits (1 MB and 10,000 events a call)."""
        batch, size = [], 0
        for event in events:
            cost = len(event["message"].encode()) + 26
            if batch and (size + cost > self.BATCH_BYTES or len(batch) == self.BATCH_EVENTS):
                yield batch
                batch, size = [], 0
            batch.append(event)
            size += cost
        if batch:
            yield batch

    def forget(self) -> None:
        """Drop what is pending (the backend is being wiped); waits for a delivery in flight to finish first."""
        with self._sending, self._lock:
            self._pending.clear()
            self._known.clear()


shipper = LogShipper()
aws.before_logs_read(shipper.flush)
aws.on_reset(shipper.forget)


def flush_logs() -> None:
    """Deliver every buffered log line to CloudWatch Logs now."""
    shipper.flush()


def truncate(line: str, limit: int) -> str:
    """A log line cut to ``limit`` UTF-8 bytes, as CloudWatch Logs keeps at most 256 KB of one event."""
    data = line.encode()
    return line if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")
