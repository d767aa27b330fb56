"""The picture of a drain: one row per shard, one box per batch attempt (coloured by outcome) along polling rounds,
a cross where a batch was discarded, and BLOCKED where a shard is stuck behind a failing batch."""
from __future__ import annotations

import re

from .states import BatchKind, Outcome

COLOURS = {Outcome.OK: "#2e7d32", Outcome.PARTIAL: "#ef6c00", Outcome.ERROR: "#c62828", Outcome.TIMEOUT: "#c62828",
           Outcome.KILLED: "#c62828", Outcome.INVALID: "#ad1457", BatchKind.WINDOW_END: "#1565c0"}
LEGEND = [(Outcome.OK, "succeeded"), (Outcome.PARTIAL, "partial failure (retried from the lowest failed record)"),
          (Outcome.ERROR, "failed (error, timeout)"), (Outcome.INVALID, "invalid partial-batch response"),
          (BatchKind.WINDOW_END, "tumbling window's final invocation")]
HATCHES = {BatchKind.RETRY: "/", BatchKind.PARTIAL_RETRY: "/"}  # bisected halves get a dashed black outline instead
HATCH_LEGEND = [(BatchKind.RETRY, "retry of the same records"),
                (BatchKind.PARTIAL_RETRY, "retry after a partial failure")]
MAX_LABELS = 60


def shard_label(lane: str) -> str:
    """'shardId-000000000003#1' -> 'shard 3 / part 1' (long DynamoDB shard ids keep their last 8 characters)."""
    shard, _, part = lane.partition("#")
    found = re.fullmatch(r"shardId-0*(\d+)", shard)
    name = f"shard {found.group(1) if found else '…' + shard[-8:]}"
    return f"{name} / part {part}" if part else name


def _label(batch) -> str:
    """A batch's sequence range, or its record count when the numbers are AWS's 56-digit ones (too long to show)."""
    if len(batch.first) > 6:
        return f"{batch.size} rec"
    return batch.range if batch.size > 1 else batch.first


def plot_timeline(result, ax=None):
    """Draw ``result`` (a DrainResult) and return the matplotlib Figure."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    lanes = sorted(set(result.checkpoints) | {b.lane for b in result.batches} | {d.lane for d in result.discarded})
    rounds = max([b.round for b in result.batches] + [d.round for d in result.discarded] + [1])
    first = min([b.round for b in result.batches] + [d.round for d in result.discarded] + [1])
    if ax is None:
        width = min(18.0, max(9.0, 0.35 * (rounds - first + 1) + 6))
        figure = Figure(figsize=(width, 1.6 + 0.55 * max(1, len(lanes))))
        ax = figure.subplots()
    row = {lane: i for i, lane in enumerate(lanes)}
    labelled = len(result.batches) <= MAX_LABELS
    seen = set()
    for b in result.batches:
        key = BatchKind.WINDOW_END if b.kind == BatchKind.WINDOW_END and b.ok else b.outcome
        seen.update({key, b.kind})
        half = b.kind == BatchKind.BISECT
        ax.add_patch(Rectangle((b.round - 0.4, row[b.lane] - 0.35), 0.8, 0.7, facecolor=COLOURS.get(key, "#757575"),
                               edgecolor="black" if half else "white", linestyle="--" if half else "-",
                               linewidth=1.2 if half else 1.0, hatch=HATCHES.get(b.kind)))
        if labelled and b.records:
            ax.text(b.round, row[b.lane], _label(b), ha="center", va="center",
                    fontsize=7, color="white", clip_on=True)
    for d in result.discarded:
        ax.plot(d.round + 0.42, row[d.lane], marker="X", markersize=11, color="#4a148c", linestyle="none")
    for lane in result.blocked:
        ax.text(rounds + 0.6, row[lane], "BLOCKED", color="#c62828", fontweight="bold", va="center", fontsize=9)
    ax.set_xlim(first - 0.8, rounds + (2.4 if result.blocked else 0.8))
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_yticks(range(len(lanes)), [shard_label(lane) for lane in lanes])
    ax.invert_yaxis()
    ax.set_xlabel("polling round (batches in the same round ran concurrently)")
    ax.set_ylabel("shard")
    c = result.counts
    ax.set_title(f"{result.title}\n{c['invocations']} invocations, {c['retries']} retries, "
                 f"{c['bisections']} bisections, {c['discarded']} discarded, {len(result.blocked)} blocked",
                 fontsize=10)
    handles = [Patch(facecolor=COLOURS[k], label=text) for k, text in LEGEND if k in seen]
    handles += [Patch(facecolor="#9e9e9e", edgecolor="#333", hatch=HATCHES[k], label=text)
                for k, text in HATCH_LEGEND if k in seen]
    if BatchKind.BISECT in seen:
        handles.append(Patch(facecolor="#9e9e9e", edgecolor="black", linestyle="--", label="half of a bisected batch"))
    if result.discarded:
        handles.append(ax.plot([], [], marker="X", color="#4a148c", linestyle="none", label="batch discarded")[0])
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.2)
    ax.figure.tight_layout()
    return ax.figure
