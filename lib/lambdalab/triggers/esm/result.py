"""What ``drain()`` returns: every batch attempt, discard, blocked shard and checkpoint, as a table or a picture."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape

from .states import RETRIES, BatchKind, Outcome


def _range(records) -> str:
    if not records:
        return "-"
    first, last = records[0].sequence_number, records[-1].sequence_number
    return first if first == last else f"{first}..{last}"


class _Records:
    """What a batch, a discarded batch and a blocked one say about their ``records``."""

    records: list

    @property
    def size(self) -> int:
        return len(self.records)

    @property
    def sequence_numbers(self) -> list[str]:
        return [r.sequence_number for r in self.records]

    @property
    def range(self) -> str:
        return _range(self.records)


@dataclass(eq=False)
class BatchAttempt(_Records):
    """One invocation with one batch: which records (a sequence range of one shard) and what came of it."""

    round: int  # polling round; the batches of one round ran concurrently
    at: float  # simulated time
    shard_id: str
    lane: str  # the shard, or "shard#n": its n-th ordered sub-sequence when ParallelizationFactor > 1
    records: list = field(repr=False)
    kind: BatchKind = BatchKind.BATCH
    attempt: int = 1  # invocations that carried these records so far, this one included
    outcome: Outcome = Outcome.OK
    detail: str = ""
    failed: tuple = ()  # itemIdentifiers reported in batchItemFailures
    processed: int = 0  # records this attempt settled: all when ok, those before the lowest failure when partial
    invocation: object = field(default=None, repr=False)
    window: tuple | None = field(default=None, repr=False)

    @property
    def first(self) -> str | None:
        return self.records[0].sequence_number if self.records else None

    @property
    def last(self) -> str | None:
        return self.records[-1].sequence_number if self.records else None

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK

    def __repr__(self):
        extra = f" ({self.detail})" if self.detail and not self.ok else ""
        return (f"<round {self.round} {self.lane} {self.kind} [{self.range}] x{self.size} attempt {self.attempt}: "
                f"{self.outcome}{extra}>")


@dataclass(eq=False)
class Discarded(_Records):
    """A batch Lambda gave up on; ``message`` is what went (or would go) to the on-failure destination."""

    round: int
    at: float
    shard_id: str
    lane: str
    records: list = field(repr=False)
    condition: str = "RetryAttemptsExhausted"  # or RecordAgeExceeded
    attempts: int = 0
    detail: str = ""
    message: dict = field(default_factory=dict, repr=False)
    destination: str | None = None  # None: no on-failure destination, the records are simply skipped


@dataclass(eq=False)
class Blocked(_Records):
    """A lane whose batch keeps failing while Lambda would keep retrying: nothing after it moves."""

    shard_id: str
    lane: str
    records: list = field(repr=False)
    attempts: int
    detail: str
    expires_at: float | None  # when the batch's oldest record passes MaximumRecordAgeInSeconds / retention
    retries_left: int | None = None  # None: MaximumRetryAttempts is -1 (infinite)

    def __str__(self):
        text = f"{self.lane} BLOCKED at [{self.range}] after {self.attempts} attempts ({self.detail}); Lambda retries"
        if self.retries_left is not None:
            text += f" up to {self.retries_left} more times (MaximumRetryAttempts)"
        if self.expires_at is not None:
            moment = datetime.fromtimestamp(self.expires_at, tz=timezone.utc)
            text += f"{' or' if self.retries_left is not None else ''} until its oldest record expires at " \
                    f"{moment:%Y-%m-%d %H:%M:%S} UTC (simulated clock)"
        return text


@dataclass(eq=False)
class WindowResult:
    """A tumbling window that closed: the state its final invocation returned."""

    lane: str
    start: float
    end: float
    state: dict
    terminated_early: bool = False
    discarded: bool = False


@dataclass(eq=False)
class DrainResult:
    """What one ``drain()`` did (or, as ``mapping.history``, every drain so far)."""

    batches: list = field(default_factory=list)  # BatchAttempt, in order
    discarded: list = field(default_factory=list)  # Discarded
    blocked: dict = field(default_factory=dict)  # lane -> Blocked
    windows: list = field(default_factory=list)  # WindowResult
    checkpoints: dict = field(default_factory=dict)  # lane -> sequence number settled up to (None: nothing yet)
    pending: dict = field(default_factory=dict)  # lane -> records read but not settled
    records_read: int = 0
    filtered: int = 0  # dropped by FilterCriteria
    processed: int = 0  # records in successful batches (or before the failure of a partial one)
    bisections: int = 0
    peak_concurrency: int = 0  # the most batches that ran at once
    rounds: int = 0
    note: str = ""
    title: str = "event source mapping"

    # --- derived -------------------------------------------------------------------------------------------------
    @property
    def invocations(self) -> list:
        return [b.invocation for b in self.batches]

    @property
    def retries(self) -> int:
        """Attempts that repeated records after a failure (bisected halves are not retries: they are free)."""
        return sum(1 for b in self.batches if b.kind in RETRIES)

    @property
    def destination_messages(self) -> list[dict]:
        return [d.message for d in self.discarded if d.destination]

    @property
    def records_to_destination(self) -> int:
        return sum(d.size for d in self.discarded if d.destination)

    @property
    def ok(self) -> bool:
        """Everything read was processed or filtered: nothing discarded, nothing blocked."""
        return not self.discarded and not self.blocked

    @property
    def counts(self) -> dict:
        return {"records_read": self.records_read, "processed": self.processed, "filtered": self.filtered,
                "discarded": sum(d.size for d in self.discarded), "to_destination": self.records_to_destination,
                "invocations": len(self.batches), "retries": self.retries, "bisections": self.bisections,
                "blocked_shards": len(self.blocked), "peak_concurrency": self.peak_concurrency}

    def shard(self, shard_id: str) -> list:
        """The attempts on one shard (all its sub-sequences), in order."""
        return [b for b in self.batches if b.shard_id == shard_id]

    def absorb(self, other: "DrainResult") -> None:
        """Add a later drain to this history."""
        self.batches += other.batches
        self.discarded += other.discarded
        self.windows += other.windows
        self.blocked = dict(other.blocked)
        self.checkpoints, self.pending = dict(other.checkpoints), dict(other.pending)
        for name in ("records_read", "filtered", "processed", "bisections"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.peak_concurrency = max(self.peak_concurrency, other.peak_concurrency)
        self.rounds, self.note = other.rounds, other.note

    # --- showing it ----------------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """One row per shard (per sub-sequence with ParallelizationFactor > 1): the summary table."""
        lanes = list(self.checkpoints) or sorted({b.lane for b in self.batches})
        rows = []
        for lane in lanes:
            mine = [b for b in self.batches if b.lane == lane]
            gone = [d for d in self.discarded if d.lane == lane]
            status = "BLOCKED" if lane in self.blocked else ("pending" if self.pending.get(lane) else "caught up")
            rows.append({"shard": lane, "batches": len(mine), "ok": sum(b.ok for b in mine),
                         "failed": sum(not b.ok for b in mine),
                         "retries": sum(b.kind in RETRIES for b in mine),
                         "records_processed": sum(b.processed for b in mine),
                         "discarded": sum(d.size for d in gone), "checkpoint": self.checkpoints.get(lane),
                         "status": status})
        return rows

    def summary(self) -> str:
        c = self.counts
        text = (f"{self.title}: {c['records_read']} records read, {c['processed']} processed, {c['filtered']} filtered "
                f"out, {c['discarded']} discarded ({c['to_destination']} to the on-failure destination); "
                f"{c['invocations']} invocations, {c['retries']} retries, {c['bisections']} bisections, "
                f"peak concurrency {c['peak_concurrency']}")
        for blocked in self.blocked.values():
            text += f"\n  {blocked}"
        if self.note:
            text += f"\n  note: {self.note}"
        return text

    def __repr__(self):
        lines = [self.summary()]
        for row in self.rows():
            lines.append(f"  {row['shard']:<28} {row['batches']:>4} batches {row['retries']:>3} retries "
                         f"{row['records_processed']:>6} processed {row['discarded']:>4} discarded  "
                         f"checkpoint {row['checkpoint']}  {row['status']}")
        return "\n".join(lines)

    def _repr_html_(self):
        head = ["shard", "batches", "ok", "failed", "retries", "records_processed", "discarded", "checkpoint",
                "status"]
        body = "".join(
            "<tr>" + "".join(
                f"<td style='color:{'#b3261e' if k == 'status' and r[k] == 'BLOCKED' else 'inherit'}'>"
                f"{escape(str(r[k]))}</td>" for k in head) + "</tr>"
            for r in self.rows())
        blocked = "".join(f"<li style='color:#b3261e'>{escape(str(b))}</li>" for b in self.blocked.values())
        note = f"<p><i>{escape(self.note)}</i></p>" if self.note else ""
        summary = escape(self.summary().split("\n")[0])
        return (f"<div><p>{summary}</p><table><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>{body}</table>"
                f"{'<ul>' + blocked + '</ul>' if blocked else ''}{note}</div>")

    def plot(self, ax=None):
        """A per-shard timeline: one row per shard, one box per batch attempt, coloured by outcome."""
        from .timeline import plot_timeline

        return plot_timeline(self, ax=ax)

