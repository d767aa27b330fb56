"""The names the engine, its results and its timeline share: how a batch came about, and what came of it.

Each equals its text (``Outcome.OK == "ok"``), so results read and compare as plain words.
"""
from ...runtime import StateName, Status


class BatchKind(StateName):
    """How a batch came about."""

    BATCH = "batch"  # cut from new records
    RETRY = "retry"  # the same records again after a failure
    BISECT = "bisect"  # one half of a failed batch (BisectBatchOnFunctionError)
    PARTIAL_RETRY = "partial-retry"  # from the lowest failed record of a partial batch response
    WINDOW_END = "window-end"  # a tumbling window's final invocation (no records)


RETRIES = (BatchKind.RETRY, BatchKind.PARTIAL_RETRY)


class Outcome(StateName):
    """What Lambda made of one invocation with a batch."""

    OK = "ok"
    PARTIAL = "partial"  # ReportBatchItemFailures named some records
    ERROR = "error"
    TIMEOUT = "timeout"
    KILLED = "killed"
    INVALID = "invalid"  # a response Lambda cannot read as a partial batch response (the whole batch fails)

    @classmethod
    def of_failed(cls, status: str) -> "Outcome":
        """A failed invocation's outcome: its runtime status when that is a timeout or a kill, else an error."""
        return cls(status) if status in (Status.TIMEOUT, Status.KILLED) else cls.ERROR
