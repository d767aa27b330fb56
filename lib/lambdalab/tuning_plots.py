"""Figures for ``lambdalab.tuning``: the memory / duration / cost curve of one tuning, and several side by side."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

UNDER_PROVISIONED = 1.5  # a size is under-provisioned when it takes this many times the optimized size's duration


def plot_result(result, architecture: str = "x86_64"):
    """Duration (left axis) and cost per million invocations (right axis) against memory; the optimized size (the
    balanced recommendation) and the under-provisioned sizes below it marked; failed sizes crossed out."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ok = [r for r in result.rows if not r["errors"] and r["duration_ms"] is not None]
    failed = [r for r in result.rows if r["errors"]]
    sizes = [r["memory_mb"] for r in result.rows]
    duration_line = ax.plot([r["memory_mb"] for r in ok], [r["duration_ms"] for r in ok], "o-", color="#1f77b4",
                            label="duration (trimmed mean)")
    cost_ax = ax.twinx()
    cost_line = cost_ax.plot([r["memory_mb"] for r in ok], [r[f"cost_per_million_{architecture}"] for r in ok],
                             "s--", color="#ff7f0e", label=f"cost per 1M invocations ({architecture})")
    handles = duration_line + cost_line
    if failed:
        for r in failed:
            ax.axvline(r["memory_mb"], color="#b3261e", alpha=0.25, lw=6)
            ax.annotate(f"{r['memory_mb']} MB failed:\n{r['error']}", (r["memory_mb"], 0.5),
                        xycoords=("data", "axes fraction"), ha="center", va="center", rotation=90, fontsize=8,
                        color="#b3261e")
        handles.append(Line2D([], [], color="#b3261e", alpha=0.4, lw=6, label="failed (errors in every row)"))
    if ok:
        best = result.recommend("balanced")
        ax.plot([best["memory_mb"]], [best["duration_ms"]], "*", color="#2ca02c", markersize=18, zorder=5)
        ax.annotate(f"optimized\n{best['memory_mb']} MB", (best["memory_mb"], best["duration_ms"]),
                    textcoords="offset points", xytext=(0, 18), ha="center", color="#2ca02c", fontweight="bold")
        under = [r for r in ok if r["memory_mb"] < best["memory_mb"]
                 and r["duration_ms"] >= UNDER_PROVISIONED * best["duration_ms"]]
        if under:
            ax.axvspan(min(r["memory_mb"] for r in under) / 1.15, max(r["memory_mb"] for r in under) * 1.15,
                       color="#d62728", alpha=0.08)
            slowest = max(under, key=lambda r: r["duration_ms"])
            ax.annotate("under-provisioned", (slowest["memory_mb"], slowest["duration_ms"]),
                        textcoords="offset points", xytext=(12, -4), color="#d62728", fontweight="bold")
    _memory_axis(ax, sizes)
    ax.set_ylabel("duration (ms)")
    ax.set_ylim(bottom=0)
    cost_ax.set_ylabel(f"$ per 1M invocations ({architecture})")
    cost_ax.set_ylim(bottom=0)
    ax.set_title(f"{result.function_name}: duration and cost against memory")
    ax.legend(handles=handles, loc="upper center", fontsize=8)
    fig.tight_layout()
    plt.close(fig)  # Jupyter shows the returned figure once, not again at the end of the cell
    return fig


def plot_comparison(results, labels=None, architectures=("x86_64",)):
    """Duration (left panel) and cost (right panel) against memory for several tunings."""
    labels = list(labels) if labels is not None else [r.function_name for r in results]
    if len(labels) != len(results):
        raise ValueError(f"{len(results)} results but {len(labels)} labels: give one label per result.")
    if not results:
        raise ValueError("Nothing to compare: pass a list of power_tune results.")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = sorted({r["memory_mb"] for result in results for r in result.rows})
    for result, label in zip(results, labels):
        ok = [r for r in result.rows if not r["errors"] and r["duration_ms"] is not None]
        memory = [r["memory_mb"] for r in ok]
        line = left.plot(memory, [r["duration_ms"] for r in ok], "o-", label=label)[0]
        for architecture, style in zip(architectures, ("s-", "^--", "d:")):
            right.plot(memory, [r[f"cost_per_million_{architecture}"] for r in ok], style, color=line.get_color(),
                       label=f"{label} ({architecture})")
    for ax in (left, right):
        _memory_axis(ax, sizes)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    left.set_ylabel("duration (ms)")
    left.set_title("Duration against memory")
    right.set_ylabel("$ per 1M invocations")
    right.set_title("Cost against memory")
    fig.tight_layout()
    plt.close(fig)  # Jupyter shows the returned figure once, not again at the end of the cell
    return fig


def _memory_axis(ax, sizes):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{m:,}" for m in sizes], rotation=0, fontsize=8)
    ax.set_xlabel("memory (MB, log scale)")
