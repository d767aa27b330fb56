"""Helpers for notebook 01 (the event-driven model): push vs polling, what each costs, how soon a function starts
after a write, and events shown side by side.

Prices are Lambda's us-east-1 list prices (x86_64) from the course's facts sheet; the free tier is left out so the
comparison shows the shape of the cost, not a bill.
"""
from __future__ import annotations

import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from html import escape

from . import aws, clock

PRICE_PER_GB_SECOND = 0.0000166667  # x86_64, us-east-1
PRICE_PER_REQUEST = 0.20 / 1_000_000
SECONDS_PER_MONTH = 30 * 24 * 3600


def monthly_cost(invocations: float, billed_ms: float, memory_mb: int = 128) -> float:
    """Lambda's cost in USD for ``invocations`` a month of ``billed_ms`` each at ``memory_mb``."""
    gb_seconds = invocations * (billed_ms / 1000) * (memory_mb / 1024)
    return gb_seconds * PRICE_PER_GB_SECOND + invocations * PRICE_PER_REQUEST


@dataclass
class Approach:
    """One way to notice new files: how many invocations a month, what they cost, how late work starts."""

    name: str
    invocations: float
    useful: float  # invocations that found work
    cost_usd: float
    mean_delay_s: float


def push_vs_poll(uploads_per_month: int, poll_every_s: list, work_ms: float = 200, check_ms: float = 20,
                 memory_mb: int = 128) -> list[Approach]:
    """A function triggered by each upload (push) against a function polling every N seconds. A poll that finds
    nothing still costs an invocation of ``check_ms``; a file waits half an interval on average before a poll sees it."""
    rows = [Approach("triggered by each upload (push)", uploads_per_month, uploads_per_month,
                     monthly_cost(uploads_per_month, work_ms, memory_mb), 0.0)]
    for every in poll_every_s:
        polls = SECONDS_PER_MONTH / every
        useful = min(polls, uploads_per_month)
        billed = useful * work_ms + (polls - useful) * check_ms
        rows.append(Approach(f"polling every {every:g} s", polls, useful,
                             monthly_cost(polls, billed / polls, memory_mb), every / 2))
    return rows


def plot_push_vs_poll(rows: list[Approach]):
    """Bar chart of the monthly cost and the invocations that found nothing, per approach."""
    import matplotlib.pyplot as plt

    fig, (cost_ax, waste_ax) = plt.subplots(1, 2, figsize=(11, 3.6))
    names = [r.name.replace(" (push)", "\n(push)") for r in rows]
    cost_ax.barh(names, [r.cost_usd for r in rows], color=["#1b7f3b"] + ["#b3261e"] * (len(rows) - 1))
    cost_ax.set(title="Lambda cost a month", xlabel="USD per month (free tier not applied)")
    waste_ax.barh(names, [r.invocations - r.useful for r in rows], color="#888")
    waste_ax.set(title="Invocations that found nothing", xlabel="invocations per month")
    waste_ax.set_yticklabels([])
    cost_ax.invert_yaxis()
    waste_ax.invert_yaxis()
    fig.tight_layout()
    plt.close(fig)
    return fig


@dataclass
class PollRun:
    """What a poller did: how many times it looked, how many looks found nothing, how late it found each file."""

    every_s: float
    polls: int = 0
    empty_polls: int = 0
    delays_s: list = field(default_factory=list)

    def __str__(self):
        found = len(self.delays_s)
        mean = statistics.mean(self.delays_s) if self.delays_s else 0
        return (f"polling every {self.every_s:g} s: {self.polls} polls, {self.empty_polls} found nothing; "
                f"{found} files found on average {mean:.1f} s after they arrived")


def poll_folder(bucket: str, every_s: float, uploads: dict, duration_s: float) -> PollRun:
    """Play a server that lists ``bucket`` every ``every_s`` seconds for ``duration_s`` (simulated) seconds, while
    ``uploads`` ({seconds after start: key}) arrive, under a folder of this run's own (so a second run finds its
    files as new too). Every poll is a real ListObjectsV2 call."""
    s3 = aws.client("s3")
    folder = f"run-{uuid.uuid4().hex[:8]}/"
    run, seen = PollRun(every_s), _keys(s3, bucket)
    waiting = {at: folder + key for at, key in sorted(uploads.items())}
    elapsed = 0.0
    while elapsed <= duration_s:
        for at in [t for t in waiting if t <= elapsed]:
            s3.put_object(Bucket=bucket, Key=waiting[at], Body=b"data")
        new = _keys(s3, bucket) - seen
        run.polls += 1
        run.empty_polls += not new
        for at in [t for t in waiting if waiting[t] in new]:
            run.delays_s.append(elapsed - at)
            del waiting[at]
        seen |= new
        clock.advance(every_s)
        elapsed += every_s
    return run


def _keys(s3, bucket: str) -> set:
    return {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])}


def measure_latency(write, trigger, n: int = 20) -> list[float]:
    """Milliseconds from ``write(i)`` to the start of the function's handler, ``n`` times. The function must return
    ``time.time()`` from the first line of its handler; ``trigger.drain()`` delivers right after each write."""
    latencies = []
    for i in range(n):
        started = time.time()
        write(i)
        responses = trigger.drain().responses
        if len(responses) != 1:
            raise RuntimeError(f"write {i} reached the function {len(responses)} times; expected once.")
        latencies.append((responses[0] - started) * 1000)
    return latencies


class SideBySide:
    """Events in columns, pretty-printed (long ones cut), for comparing their shapes."""

    def __init__(self, events: dict, max_lines: int = 32):
        self.events, self.max_lines = events, max_lines

    def _text(self, event) -> str:
        lines = json.dumps(event, indent=1).splitlines()
        if len(lines) > self.max_lines:
            lines = lines[: self.max_lines - 1] + [f"  ... {len(lines) - self.max_lines + 1} more lines"]
        return "\n".join(lines)

    def _repr_html_(self):
        columns = "".join(f"<div style='flex:1;min-width:14em'><b>{escape(name)}</b><pre style='font-size:75%'>"
                          f"{escape(self._text(event))}</pre></div>" for name, event in self.events.items())
        return f"<div style='display:flex;gap:1em;align-items:flex-start'>{columns}</div>"

    def __repr__(self):
        return "\n\n".join(f"== {name} ==\n{self._text(event)}" for name, event in self.events.items())


def side_by_side(events: dict, max_lines: int = 32) -> SideBySide:
    """Show ``events`` ({title: event}) next to each other."""
    return SideBySide(events, max_lines)
