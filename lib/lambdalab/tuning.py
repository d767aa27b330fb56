"""Power tuning offline: run a function at several memory sizes and find the cheapest, the fastest or a balance.

This follows AWS Lambda Power Tuning (the open-source Step Functions state machine, github.com/alexcasalboni/
aws-lambda-power-tuning): real invocations at each memory size, the mean Duration after discarding the fastest and
slowest 20% (``discardTopBottom``), a cold start's Init Duration counted in its invocation's duration, and the same
three strategies:

- ``cost``: the lowest average cost (ties: the faster one);
- ``speed``: the lowest average duration (ties: the cheaper one);
- ``balanced``: the lowest ``weight x cost / max cost + (1 - weight) x duration / max duration`` (``balancedWeight``:
  0 is pure speed, 1 pure cost, 0.5 by default).

Costs are us-east-1 prices (one declaration below): memory in GB x billed seconds x the price per GB-second, plus the
request fee, for x86_64 and arm64. Power Tuning leaves the request fee out of its strategies; so do these (it is the
same at every size), and the rows show it included. Durations come from the runtime, where every worker gets
memory / 1,769 of a vCPU (``lambdalab.cpu_share``): the same curve Lambda draws, on this machine's CPU.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from . import cpu_share
from .runtime import MEMORY_RANGE_MB, Invocation, LambdaFunction

# us-east-1, shared/reference/aws-facts.md
PRICE_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST = 0.20 / 1_000_000
ARCHITECTURES = tuple(PRICE_PER_GB_SECOND)
DEFAULT_SIZES = (128, 256, 512, 1024, 1536, 3008)
STRATEGIES = ("cost", "speed", "balanced")
DEFAULT_BALANCED_WEIGHT = 0.5
DEFAULT_DISCARD = 0.2


def duration_cost(memory_mb: float, billed_ms: float, architecture: str = "x86_64") -> float:
    """Dollars for the compute of one invocation: GB x billed seconds x the price per GB-second."""
    return memory_mb / 1024 * billed_ms / 1000 * _price(architecture)


def invocation_cost(memory_mb: float, billed_ms: float, architecture: str = "x86_64") -> float:
    """Dollars for one invocation, request fee included."""
    return duration_cost(memory_mb, billed_ms, architecture) + PRICE_PER_REQUEST


def trimmed_mean(values, discard: float = DEFAULT_DISCARD) -> float | None:
    """Power Tuning's average: sort, drop ``int(n x discard)`` values at each end, average the rest."""
    values = sorted(values)
    if not values:
        return None
    cut = int(len(values) * discard)
    kept = values[cut:len(values) - cut] if cut else values
    return sum(kept) / len(kept)


def spread_weighted(pairs, invocations: int) -> list:
    """``invocations`` events from ``[(event, weight), ...]``, each repeated in proportion to its weight, as Power
    Tuning's weighted payloads are (relative weights; the last event fills what rounding leaves)."""
    pairs = list(pairs)
    if not pairs or any(not isinstance(p, (tuple, list)) or len(p) != 2 for p in pairs):
        raise ValueError("weighted_events must be a non-empty list of (event, weight) pairs, e.g. "
                         "[(small_event, 3), (large_event, 1)].")
    if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w <= 0 for _, w in pairs):
        raise ValueError("Every weight must be a positive number (weights are relative: 3 and 1 mean 75% and 25%).")
    if invocations < len(pairs):
        raise ValueError(f"{len(pairs)} weighted events need at least {len(pairs)} invocations per size; "
                         f"invocations={invocations}. Raise invocations.")
    total = sum(w for _, w in pairs)
    events = []
    for index, (event, weight) in enumerate(pairs):
        count = math.floor(weight * invocations / total)
        if count < 1:
            raise ValueError(f"The event with weight {weight} gets no invocation out of {invocations}: raise "
                             "invocations or its weight.")
        if index == len(pairs) - 1:
            count = invocations - len(events)
        events += [event] * count
    return events


@dataclass(repr=False)
class TuningResult:
    """What ``power_tune`` measured: ``rows`` (one plain dict per memory size) and every Invocation behind them."""

    function_name: str
    rows: list[dict]
    invocations: dict[int, list[Invocation]] = field(repr=False)
    balanced_weight: float = DEFAULT_BALANCED_WEIGHT

    def row(self, memory_mb: int) -> dict:
        for row in self.rows:
            if row["memory_mb"] == memory_mb:
                return row
        raise KeyError(f"{memory_mb} MB was not measured; measured sizes: {[r['memory_mb'] for r in self.rows]}")

    def recommend(self, strategy: str = "cost", weight: float | None = None, architecture: str = "x86_64") -> dict:
        """The row Power Tuning would pick: ``"cost"``, ``"speed"`` or ``"balanced"`` (``weight`` 0 = speed ... 1 =
        cost; the tuning's ``balanced_weight`` by default). Sizes with errors are never recommended."""
        return recommend(self.rows, strategy, self.balanced_weight if weight is None else weight, architecture)

    def plot(self, architecture: str = "x86_64"):
        """Duration and cost against memory on two axes, with the under-provisioned and optimized sizes marked."""
        from .tuning_plots import plot_result

        return plot_result(self, architecture)

    def _repr_html_(self):
        picks = {}
        for strategy in STRATEGIES:
            try:
                picks.setdefault(self.recommend(strategy)["memory_mb"], []).append(strategy)
            except ValueError:
                pass
        head = ("<tr><th>memory (MB)</th><th>vCPU share</th><th>duration (ms)</th><th>billed (ms)</th>"
                "<th>max used (MB)</th><th>init (ms)</th><th>$ / 1M x86_64</th><th>$ / 1M arm64</th>"
                "<th>errors</th><th>recommended for</th></tr>")
        body = []
        for r in self.rows:
            style = " style='color:#b3261e'" if r["errors"] else ""
            error = f"{r['errors']}/{r['invocations']}: {escape(r['error'] or '')}" if r["errors"] else "0"
            body.append(
                f"<tr{style}><td>{r['memory_mb']:,}</td><td>{r['vcpu_share']:.3f}</td>"
                f"<td>{_fmt(r['duration_ms'])}</td><td>{_fmt(r['billed_ms'])}</td>"
                f"<td>{r['max_memory_used_mb'] if r['max_memory_used_mb'] is not None else 'n/a'}</td>"
                f"<td>{_fmt(r['init_ms'])}</td><td>{r['cost_per_million_x86_64']:.2f}</td>"
                f"<td>{r['cost_per_million_arm64']:.2f}</td><td>{error}</td>"
                f"<td>{', '.join(picks.get(r['memory_mb'], []))}</td></tr>")
        return (f"<div><b>Power tuning of {escape(self.function_name)}</b> (duration: trimmed mean; costs per million "
                f"invocations, request fee included)<table>{head}{''.join(body)}</table></div>")

    def __repr__(self):
        return str(self)

    def __str__(self):
        lines = [f"Power tuning of {self.function_name}",
                 f"{'memory':>7} {'duration ms':>12} {'billed ms':>10} {'$/1M x86':>9} {'$/1M arm':>9}  errors"]
        for r in self.rows:
            lines.append(f"{r['memory_mb']:>7} {_fmt(r['duration_ms']):>12} {_fmt(r['billed_ms']):>10} "
                         f"{r['cost_per_million_x86_64']:>9.2f} {r['cost_per_million_arm64']:>9.2f}  "
                         f"{r['errors']}{' ' + r['error'] if r['error'] else ''}")
        return "\n".join(lines)


def recommend(rows, strategy: str = "cost", weight: float = DEFAULT_BALANCED_WEIGHT,
              architecture: str = "x86_64") -> dict:
    """Pick a row as Power Tuning's analyzer does (see the module's docstring), from rows without errors."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}.")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
        raise ValueError(f"weight={weight!r}: the balanced weight is a number from 0 (pure speed) to 1 (pure cost).")
    _price(architecture)
    usable = [r for r in rows if not r["errors"] and r["duration_ms"] is not None]
    if not usable:
        raise ValueError("No memory size ran without errors, so there is nothing to recommend: look at the rows' "
                         "'error' column (a timeout? out of memory?) and fix the function or try larger sizes.")
    cost = {r["memory_mb"]: duration_cost(r["memory_mb"], r["billed_ms"], architecture) for r in usable}
    if strategy == "cost":
        return min(usable, key=lambda r: (cost[r["memory_mb"]], r["duration_ms"]))
    if strategy == "speed":
        return min(usable, key=lambda r: (r["duration_ms"], cost[r["memory_mb"]]))
    max_cost, max_duration = max(cost.values()), max(r["duration_ms"] for r in usable)
    return min(usable, key=lambda r: weight * cost[r["memory_mb"]] / max_cost
               + (1 - weight) * r["duration_ms"] / max_duration)


def power_tune(function: LambdaFunction, event=None, memory_sizes=DEFAULT_SIZES, invocations: int = 5, *,
               weighted_events: list | None = None, only_cold_starts: bool = False,
               discard_top_bottom: float = DEFAULT_DISCARD, balanced_weight: float = DEFAULT_BALANCED_WEIGHT,
               progress: bool = True) -> TuningResult:
    """Invoke ``function`` ``invocations`` times at each memory size and measure what each size costs and takes.

    - ``event``: the event every invocation gets; or ``weighted_events=[(event, weight), ...]`` to mix several in
      proportion (Power Tuning's weighted payloads).
    - ``only_cold_starts``: every invocation in a fresh environment (then nothing is discarded, as in Power Tuning).
    - ``discard_top_bottom``: the share of fastest and slowest invocations left out of the mean (0 to 0.4).
    An invocation that fails (a timeout, out of memory, an exception) is counted in its row's ``errors``; it is never
    raised. The function gets its own memory size back at the end.
    """
    sizes = _check_sizes(memory_sizes)
    if isinstance(invocations, bool) or not isinstance(invocations, int) or invocations < 1:
        raise ValueError(f"invocations={invocations!r}: give a whole number of invocations per size, e.g. 5.")
    if not 0 <= discard_top_bottom <= 0.4:
        raise ValueError(f"discard_top_bottom={discard_top_bottom!r}: use 0 (keep all) to 0.4, as Power Tuning does.")
    if isinstance(balanced_weight, bool) or not isinstance(balanced_weight, (int, float)) \
            or not 0 <= balanced_weight <= 1:
        raise ValueError(f"balanced_weight={balanced_weight!r}: a number from 0 (pure speed) to 1 (pure cost).")
    if not isinstance(function, LambdaFunction):
        raise TypeError(f"power_tune needs a LambdaFunction, not a {type(function).__name__}: wrap the handler first, "
                        "e.g. LambdaFunction('my-fn', handler, timeout_s=30).")
    events = spread_weighted(weighted_events, invocations) if weighted_events is not None else [event] * invocations
    discard = 0.0 if only_cold_starts else discard_top_bottom
    original = function.memory_mb
    runs: dict[int, list[Invocation]] = {}
    bar = _progress_bar(len(sizes) * invocations, function.name, progress)
    try:
        for size in sizes:
            function.update(memory_mb=size)  # new configuration: the first invocation is a cold start
            runs[size] = []
            for event_ in events:
                if only_cold_starts:
                    function.shutdown()
                runs[size].append(function.invoke(event_))
                bar.update(1)
            bar.set_postfix_str(f"{size} MB done")
    finally:
        bar.close()
        function.update(memory_mb=original)
    rows = [_row(size, runs[size], discard) for size in sizes]
    return TuningResult(function.name, rows, runs, balanced_weight)


def compare(results, labels=None, architectures=("x86_64",)):
    """Several tunings on one figure: duration and cost against memory for each (two functions, or one function's
    x86_64 and arm64 costs with ``architectures=("x86_64", "arm64")``)."""
    from .tuning_plots import plot_comparison

    return plot_comparison(list(results), labels, architectures)


def _row(memory_mb: int, runs: list[Invocation], discard: float) -> dict:
    failed = [i for i in runs if not i.ok]
    totals = [i.duration_ms + (i.init_duration_ms or 0.0) for i in runs]
    billed = trimmed_mean([i.billed_duration_ms for i in runs], discard)
    cold = [i.init_duration_ms for i in runs if i.init_duration_ms is not None]
    used = [i.max_memory_used_mb for i in runs if i.max_memory_used_mb is not None]
    row = {
        "memory_mb": memory_mb,
        "vcpu_share": round(cpu_share.share(memory_mb), 4),
        "invocations": len(runs),
        "duration_ms": _round(trimmed_mean(totals, discard)),
        "billed_ms": _round(billed),
        "max_memory_used_mb": max(used) if used else None,
        "init_ms": cold[0] if cold else None,
        "errors": len(failed),
        "error": _error_text(failed[0]) if failed else None,
        "modelled": any(i.modelled for i in runs),
    }
    for architecture in ARCHITECTURES:
        each = invocation_cost(memory_mb, row["billed_ms"], architecture)
        row[f"cost_{architecture}"] = each
        row[f"cost_per_million_{architecture}"] = each * 1_000_000
    return row


def _error_text(invocation: Invocation) -> str:
    if invocation.status == "timeout":
        return "timeout"
    if invocation.status == "killed" and invocation.max_memory_used_mb == invocation.memory_size_mb:
        return "out of memory"
    return f"{invocation.error.get('errorType')}: {invocation.error.get('errorMessage', '')}"[:120]


def _check_sizes(memory_sizes) -> list[int]:
    low, high = MEMORY_RANGE_MB
    sizes = list(memory_sizes)
    bad = [m for m in sizes if isinstance(m, bool) or not isinstance(m, int) or not low <= m <= high]
    if not sizes or bad:
        raise ValueError(f"memory_sizes must be whole MB from {low:,} to {high:,}; refused: {bad or 'an empty list'}. "
                         f"For example {list(DEFAULT_SIZES)}.")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"memory_sizes lists a size twice: {sizes}. Give each size once.")
    return sorted(sizes)


def _price(architecture: str) -> float:
    try:
        return PRICE_PER_GB_SECOND[architecture]
    except KeyError:
        raise ValueError(f"Unknown architecture {architecture!r}: use 'x86_64' or 'arm64'.") from None


def _progress_bar(total: int, name: str, shown: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"power tuning {name}", unit="invocation", disable=not shown, leave=False)


def _round(value):
    return None if value is None else round(value, 2)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:,.2f}"
