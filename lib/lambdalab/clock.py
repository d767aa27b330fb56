"""A simulated clock for the waits AWS measures in seconds or minutes (async retry back-off, batching windows, record
age), so a notebook can show an hour of retries at once.

Simulated time is wall-clock time plus an offset that only ever grows: ``sleep(60)`` returns immediately and moves
``now()`` one minute ahead. Everything in lambdalab that waits the way AWS waits asks this clock.
"""
import threading
import time
from datetime import datetime, timezone

_lock = threading.Lock()
_offset = 0.0


def now() -> float:
    """Simulated time in seconds since the epoch."""
    return time.time() + _offset


def now_datetime() -> datetime:
    """Simulated time as an aware UTC datetime."""
    return datetime.fromtimestamp(now(), tz=timezone.utc)


def now_ms() -> int:
    """Simulated time in whole milliseconds since the epoch (the unit Lambda and CloudWatch Logs use)."""
    return int(now() * 1000)


def sleep(seconds: float) -> None:
    """Advance the simulated clock by ``seconds`` without waiting."""
    advance(seconds)


def advance(seconds: float) -> float:
    """Move simulated time forward; returns the new ``now()``. Negative values are refused: time never runs back."""
    global _offset
    if seconds < 0:
        raise ValueError(f"the simulated clock only moves forward; got advance({seconds})")
    with _lock:
        _offset += seconds
    return now()


def offset() -> float:
    """How far (seconds) simulated time is ahead of the wall clock."""
    return _offset
