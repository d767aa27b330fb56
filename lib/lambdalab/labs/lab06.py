"""Lab 6 checks: power tuning (notebook: solutions/lab06_power_tuning.ipynb).

Task 1 ``cost_per_million(memory_mb, billed_ms, architecture="x86_64")``: the price formula.
Task 2 ``fastest_within_budget(rows, budget)`` and task 3 ``cheapest_within_latency(rows, max_ms)``: pick a memory
size from tuning rows. Task 4: run ``power_tune`` on the given function, choose a size for the latency target with
the task 3 function, and justify it. Checks compare with reference picks computed here, on hand-made tables, on
random tables (hidden), and on the student's own measured rows with other targets (hidden), so a choice read off
one table, or a number typed in, does not pass.
"""
from __future__ import annotations

import math
import numbers

from .. import tuning
from .core import CheckFailed, Lab, NotDone, Plain

LAB = Lab("lab06", "Lab 6: power tuning", "lab06_power_tuning",
          hidden_summary="other memory sizes, durations and architectures, random tuning tables with failed sizes, "
                         "targets nothing meets, and other budgets and latency targets on the rows you measured.")
LAB.task("task1", "Task 1: the cost of a million invocations", ["cost_per_million"])
LAB.task("task2", "Task 2: the fastest size within a budget", ["fastest_within_budget"])
LAB.task("task3", "Task 3: the cheapest size within a latency target", ["cheapest_within_latency"])
LAB.task("task4", "Task 4: tune the function and choose", ["tuning_result", "my_memory", "justification"])

FUNCTION_NAME = "order-report"  # the function the notebook gives
SIZES = (128, 256, 512, 1024, 1769, 3008)
LATENCY_MS = 150  # task 4's target


# --- reference answers ---------------------------------------------------------------------------------------------

def reference_cost(memory_mb, billed_ms, architecture="x86_64") -> float:
    return tuning.invocation_cost(memory_mb, billed_ms, architecture) * 1_000_000


def usable(rows):
    return [r for r in rows if not r["errors"] and r["duration_ms"] is not None]


def reference_fastest_within_budget(rows, budget):
    fits = [r for r in usable(rows) if r["cost_per_million_x86_64"] <= budget]
    return min(fits, key=lambda r: (r["duration_ms"], r["cost_per_million_x86_64"]))["memory_mb"] if fits else None


def reference_cheapest_within_latency(rows, max_ms):
    fits = [r for r in usable(rows) if r["duration_ms"] <= max_ms]
    return min(fits, key=lambda r: (r["cost_per_million_x86_64"], r["duration_ms"]))["memory_mb"] if fits else None


def row(memory_mb, duration_ms, errors=0):
    """A tuning row as ``power_tune`` makes it (billed = duration rounded up), for hand-made tables."""
    billed = math.ceil(duration_ms)
    return {"memory_mb": memory_mb, "duration_ms": duration_ms, "billed_ms": billed, "errors": errors,
            "error": "out of memory" if errors else None,
            "cost_per_million_x86_64": reference_cost(memory_mb, billed, "x86_64"),
            "cost_per_million_arm64": reference_cost(memory_mb, billed, "arm64")}


# The table of tasks 2 and 3: x86_64 $ per million = 2.08, 1.95, 1.87, 2.03, 2.22, 3.53
TABLE = [row(128, 900), row(256, 420), row(512, 200), row(1024, 110), row(1769, 70), row(3008, 68)]


def random_table(rng):
    """A table like a CPU-bound function's: duration falls with memory up to ~1,769 MB; a small size may fail."""
    sizes = sorted(rng.sample([128, 192, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096], rng.randint(4, 7)))
    cpu_ms, io_ms = rng.uniform(10, 80), rng.uniform(2, 60)
    table = [row(m, round(io_ms + cpu_ms * 1769 / min(m, 1769) * rng.uniform(0.9, 1.1), 2)) for m in sizes]
    if rng.random() < 0.6:
        table[0] = dict(table[0], errors=rng.randint(1, 5), error="out of memory")
    return table


def show(table) -> Plain:
    return Plain("; ".join(f"{r['memory_mb']} MB: {r['duration_ms']} ms, ${r['cost_per_million_x86_64']:.2f}"
                           + (" (errors)" if r["errors"] else "") for r in table))


def expect_pick(ctx, name, rows, target, want, *, hint):
    got = ctx.call_as(f"{name}(<rows: {show(rows)}>, {target!r})", name, [dict(r) for r in rows], target)
    if isinstance(got, numbers.Integral) and not isinstance(got, bool):
        got = int(got)  # a NumPy or pandas integer (e.g. from idxmin) is a size too
    if got is not None and (isinstance(got, bool) or not isinstance(got, int)):
        ctx.fail(f"{name} should return a memory size in MB (an int), or None.", call=f"{name}(rows, {target!r})",
                 expected=want, actual=got, hint="Return the chosen row's row['memory_mb'], not the row itself.")
    ctx.expect_equal(got, want, call=f"{name}(<rows: {show(rows)}>, {target!r})",
                     message=f"{name} chose another size.", hint=hint)


# --- task 1: cost_per_million --------------------------------------------------------------------------------------

def expect_cost(ctx, memory_mb, billed_ms, architecture=None):
    args = (memory_mb, billed_ms) if architecture is None else (memory_mb, billed_ms, architecture)
    got = ctx.call("cost_per_million", *args)
    want = reference_cost(memory_mb, billed_ms, architecture or "x86_64")
    call = f"cost_per_million({', '.join(repr(a) for a in args)})"
    if isinstance(got, bool) or not isinstance(got, numbers.Real) or not abs(got - want) < 0.005:  # NaN fails too
        hint = ("Memory in GB is memory_mb / 1024; seconds are billed_ms / 1000; multiply by the price per "
                "GB-second, add the request fee (0.20 / 1,000,000), then multiply by 1,000,000.")
        if isinstance(got, (int, float)) and abs(got - (want - 0.20)) < 0.005:
            hint = "Add the request fee: $0.20 per million invocations."
        elif isinstance(got, (int, float)) and abs(got - want * 1024 / 1000) < 0.01 * max(want, 1):
            hint = "Lambda's GB is 1,024 MB: divide memory_mb by 1024, not 1000."
        raise CheckFailed("The cost is not right to the cent.", call=call, expected=round(want, 4),
                          actual=got, hint=hint)


@LAB.check("task1", points=1)
def prices_a_small_function(ctx):
    """128 MB billed 100 ms, on x86_64 (the default)"""
    expect_cost(ctx, 128, 100)


@LAB.check("task1", points=1)
def prices_arm64(ctx):
    """1,024 MB billed 1,000 ms on arm64"""
    expect_cost(ctx, 1024, 1000, "arm64")


@LAB.check("task1", hidden=True, points=2)
def prices_other_sizes(ctx):
    """other memory sizes, durations and both architectures"""
    for _ in range(8):
        expect_cost(ctx, ctx.rng.randint(128, 10_240), ctx.rng.randint(1, 900_000),
                    ctx.rng.choice(["x86_64", "arm64"]))


# --- task 2: fastest_within_budget ---------------------------------------------------------------------------------

@LAB.check("task2", points=2)
def fastest_that_fits_the_budget(ctx):
    """$2.10 per million: 1,024 MB is the fastest size that costs no more"""
    expect_pick(ctx, "fastest_within_budget", TABLE, 2.10, 1024,
                hint="Keep the rows whose cost_per_million_x86_64 is at most the budget; of those, take the one "
                     "with the lowest duration_ms.")


@LAB.check("task2", points=1)
def none_when_nothing_fits(ctx):
    """a budget below every size's cost gives None"""
    expect_pick(ctx, "fastest_within_budget", TABLE, 1.00, None,
                hint="When no row is within the budget, return None (do not pick the cheapest anyway).")


@LAB.check("task2", hidden=True, points=2)
def budget_on_random_tables(ctx):
    """random tables, some with a failed size, and random budgets"""
    trap = [row(512, 200), row(1024, 110, errors=2), row(3008, 68)]  # the failed size would be the pick
    expect_pick(ctx, "fastest_within_budget", trap, 2.10, 512,
                hint="A size with errors (here 1,024 MB ran out of memory twice) is never a choice: skip rows whose "
                     "'errors' is not 0.")
    expect_pick(ctx, "fastest_within_budget", TABLE, TABLE[3]["cost_per_million_x86_64"], 1024,
                hint="A size that costs exactly the budget is within it: compare with <=, not <.")
    for _ in range(6):
        table = random_table(ctx.rng)
        costs = [r["cost_per_million_x86_64"] for r in table]
        budget = round(ctx.rng.uniform(min(costs) * 0.95, max(costs) * 1.05), 2)
        expect_pick(ctx, "fastest_within_budget", table, budget, reference_fastest_within_budget(table, budget),
                    hint="Skip rows with errors (a failed size is never a choice), then keep those within the "
                         "budget and take the fastest.")


# --- task 3: cheapest_within_latency -------------------------------------------------------------------------------

@LAB.check("task3", points=2)
def cheapest_that_is_fast_enough(ctx):
    """150 ms: 1,024 MB is the cheapest size that fast"""
    expect_pick(ctx, "cheapest_within_latency", TABLE, 150, 1024,
                hint="Keep the rows whose duration_ms is at most the target; of those, take the one with the lowest "
                     "cost_per_million_x86_64.")


@LAB.check("task3", points=1)
def none_when_nothing_is_fast_enough(ctx):
    """50 ms: no size is that fast, so None"""
    expect_pick(ctx, "cheapest_within_latency", TABLE, 50, None,
                hint="When no row meets the target, return None: more memory does not help past one vCPU here.")


@LAB.check("task3", hidden=True, points=2)
def latency_on_random_tables(ctx):
    """random tables, some with a failed size, and random latency targets"""
    trap = [row(512, 200), row(1024, 110, errors=1), row(1769, 70)]  # the failed size would be the pick
    expect_pick(ctx, "cheapest_within_latency", trap, 150, 1769,
                hint="A size with errors is never a choice: skip rows whose 'errors' is not 0.")
    expect_pick(ctx, "cheapest_within_latency", TABLE, 110, 1024,
                hint="A size whose duration equals the target meets it: compare with <=, not <.")
    for _ in range(6):
        table = random_table(ctx.rng)
        durations = [r["duration_ms"] for r in table]
        target = round(ctx.rng.uniform(min(durations) * 0.9, max(durations)), 1)
        expect_pick(ctx, "cheapest_within_latency", table, target,
                    reference_cheapest_within_latency(table, target),
                    hint="Skip rows with errors, keep those within the target, take the cheapest.")


# --- task 4: tune and choose ---------------------------------------------------------------------------------------

def measured_rows(ctx):
    """The student's tuning: a power_tune result of the given function at every size of SIZES, 5 invocations each."""
    result = ctx.get("tuning_result")
    if result is None:
        raise NotDone("`tuning_result` is not set yet: run the tuning in task 4 (tuning.power_tune(...)), then run "
                      "this check again.")
    if not isinstance(result, tuning.TuningResult):
        ctx.fail("tuning_result should be what tuning.power_tune(...) returns.", expected=Plain("a TuningResult"),
                 actual=Plain(type(result).__name__),
                 hint="tuning_result = tuning.power_tune(report_fn, EVENT, memory_sizes=SIZES)")
    sizes = tuple(r["memory_mb"] for r in result.rows)
    if result.function_name != FUNCTION_NAME or sizes != SIZES:
        ctx.fail("Tune the given function at the given sizes.", expected=Plain(f"{FUNCTION_NAME} at {SIZES}"),
                 actual=Plain(f"{result.function_name} at {sizes}"),
                 hint="Pass report_fn and memory_sizes=SIZES to tuning.power_tune.")
    if any(r["invocations"] != 5 for r in result.rows):
        ctx.fail("Power Tuning's trimmed mean needs 5 invocations per size here.",
                 expected=5, actual=[r["invocations"] for r in result.rows], hint="Keep invocations=5 (the default).")
    return result.rows


@LAB.check("task4", points=1)
def tuned_every_size(ctx):
    """tuning_result holds the given function measured at every size"""
    measured_rows(ctx)


@LAB.check("task4", points=2)
def chose_what_the_rows_say(ctx):
    """my_memory is the cheapest measured size within 150 ms"""
    rows = measured_rows(ctx)
    want = reference_cheapest_within_latency(rows, LATENCY_MS)
    chosen = ctx.get("my_memory")
    if isinstance(chosen, numbers.Integral) and not isinstance(chosen, bool):
        chosen = int(chosen)  # a NumPy or pandas integer is a size too
    ctx.expect_equal(chosen, want, call="my_memory",
                     message="my_memory is not the cheapest measured size within the latency target.",
                     hint="my_memory = cheapest_within_latency(tuning_result.rows, LATENCY_MS): choose from what "
                          "you measured, not from a number you typed.")


@LAB.check("task4", points=1)
def justified_with_numbers(ctx):
    """the justification names the size and its measured duration and cost"""
    rows = measured_rows(ctx)
    text, memory = ctx.get("justification"), ctx.get("my_memory")
    if not isinstance(text, str) or len(text.split()) < 8:
        ctx.fail("Write the justification as a sentence or two (a string).", actual=text,
                 hint='justification = f"{my_memory} MB: ... ms on average, $... per million, ..."')
    if memory is None:
        return
    chosen = next((r for r in rows if r["memory_mb"] == memory), None)
    needed = [str(memory)]
    if chosen is not None:
        needed += [f"{chosen['duration_ms']:.0f}", f"{chosen['cost_per_million_x86_64']:.2f}"]
    missing = [n for n in needed if n not in text.replace(",", "")]
    if missing:
        ctx.fail("The justification should quote the measurements behind the choice.", expected=Plain(
                 f"the size ({memory}), its duration in whole ms and its cost per million to the cent"),
                 actual=text, hint=f"Missing: {', '.join(missing)}. Use an f-string with the chosen row's "
                                   "duration_ms (:.0f) and cost_per_million_x86_64 (:.2f).")


@LAB.check("task4", hidden=True, points=2)
def other_targets_on_your_rows(ctx):
    """another budget and another latency target, on the rows you measured"""
    rows = measured_rows(ctx)
    costs = sorted(r["cost_per_million_x86_64"] for r in usable(rows))
    durations = sorted(r["duration_ms"] for r in usable(rows))
    budget = round(ctx.rng.uniform(costs[0], costs[-1]), 2)
    latency = round(ctx.rng.uniform(durations[0], durations[-1]), 1)
    expect_pick(ctx, "fastest_within_budget", rows, budget, reference_fastest_within_budget(rows, budget),
                hint="The same rule as task 2, on your measured rows.")
    expect_pick(ctx, "cheapest_within_latency", rows, latency, reference_cheapest_within_latency(rows, latency),
                hint="The same rule as task 3, on your measured rows.")
