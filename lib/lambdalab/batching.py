"""What BatchSize and MaximumBatchingWindowInSeconds do to one shard's invocations and latency: a small model of the
poller, run over a steady stream of records.

The poller reads a shard about once a second (GetRecords). With no batching window it invokes the function as soon
as a read finds records; with a window it waits until BatchSize records are there or the window (opened when the
first record was read) has passed. One batch at a time per shard: the next read waits for the invocation to finish.
A record's latency is the time from its arrival to the start of the invocation that carries it.

    rows = sweep(rate_per_s=20, batch_sizes=(10, 100, 500), windows_s=(0, 1, 2, 5, 10, 20))
    plot(rows)
"""
from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

POLL_S = 1.0  # Lambda reads each shard about once a second


@dataclass(frozen=True)
class Outcome:
    batch_size: int
    window_s: float
    invocations_per_min: float
    mean_batch: float
    mean_latency_s: float
    p95_latency_s: float


def simulate(rate_per_s: float, batch_size: int, window_s: float, duration_s: float = 300, seed: int = 0,
             invoke_s=lambda n: 0.02 + 0.0005 * n) -> Outcome:
    """One shard receiving ``rate_per_s`` records a second (Poisson) for ``duration_s``; ``invoke_s(n)`` is how long
    an invocation with n records runs."""
    rng = random.Random(seed)
    arrivals, t = [], 0.0
    while t < duration_s:
        t += rng.expovariate(rate_per_s)
        arrivals.append(t)
    latencies, batches, next_record, now, opened = [], [], 0, 0.0, None
    while next_record < len(arrivals):  # each turn: one read of the shard at time `now`
        visible = 0
        while next_record + visible < len(arrivals) and arrivals[next_record + visible] <= now:
            visible += 1
        if visible and opened is None:
            opened = now  # the batching window opens with the first record read
        if not visible or (window_s and visible < batch_size and now < opened + window_s):
            now = min(now + POLL_S, opened + window_s) if visible else now + POLL_S
            continue
        n = min(visible, batch_size)
        latencies += [now - a for a in arrivals[next_record:next_record + n]]
        batches.append(n)
        next_record += n
        backlog = visible > n
        opened = now if backlog else None
        now += invoke_s(n) if backlog else max(invoke_s(n), POLL_S)  # a backlog is read again at once
    minutes = max(now, duration_s) / 60
    ordered = sorted(latencies)
    return Outcome(batch_size, window_s, len(batches) / minutes, statistics.fmean(batches),
                   statistics.fmean(latencies), ordered[int(0.95 * (len(ordered) - 1))])


def sweep(rate_per_s: float, batch_sizes=(10, 100, 1000), windows_s=(0, 1, 2, 5, 10, 20, 30),
          duration_s: float = 300) -> list[Outcome]:
    return [simulate(rate_per_s, size, window, duration_s) for size in batch_sizes for window in windows_s]


def plot(rows: list[Outcome], rate_per_s: float | None = None):
    """Invocations per minute and mean latency against the batching window, one line per batch size."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for size in sorted({r.batch_size for r in rows}):
        mine = [r for r in rows if r.batch_size == size]
        windows = [r.window_s for r in mine]
        left.plot(windows, [r.invocations_per_min for r in mine], "o-", label=f"BatchSize {size}")
        right.plot(windows, [r.mean_latency_s for r in mine], "o-", label=f"BatchSize {size}")
    load = f" ({rate_per_s:g} records/s on one shard)" if rate_per_s else ""
    left.set_title("Invocations" + load)
    left.set_xlabel("MaximumBatchingWindowInSeconds (s)")
    left.set_ylabel("invocations per minute")
    right.set_title("Latency: record arrival to function start")
    right.set_xlabel("MaximumBatchingWindowInSeconds (s)")
    right.set_ylabel("mean latency (s)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig
