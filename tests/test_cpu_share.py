"""Lambda's CPU share (memory / 1,769 of a vCPU) enforced on every invocation's worker (lambdalab.cpu_share).

Timing tests compare runs made in the same test, interleaved, with medians: the machine may be busy with other work,
and the runtime leaves out the time other programs keep the worker from a CPU.
"""
import re
import statistics
import warnings

import pytest

from lambdalab import cpu_share
from lambdalab.runtime import LambdaFunction

DURATION = re.compile(r"\tDuration: (\d+\.\d\d) ms\t")


def report_ms(invocation) -> float:
    return float(DURATION.search(invocation.report).group(1))


def medians(functions, event, rounds=3):
    """Warm every function, then invoke them in turn ``rounds`` times; median REPORT Duration of each."""
    for f in functions.values():
        f.invoke({"work": 1, "seconds": 0})
    seen = {size: [] for size in functions}
    for _ in range(rounds):
        for size, f in functions.items():
            inv = f.invoke(event)
            assert inv.ok, inv.error
            seen[size].append(report_ms(inv))
    return {size: statistics.median(values) for size, values in seen.items()}


def measured_until(ok, measure, attempts=2):
    """Measure; once more if a load spike on this shared machine put the result out of bounds. Returns every
    measurement: assert on the last, show them all."""
    seen = [measure()]
    while not ok(seen[-1]) and len(seen) < attempts:
        seen.append(measure())
    return seen


def share_ratio_ok(took, small=128, large=1769):
    return 1769 / 128 * 0.75 <= took[small] / took[large] <= 1769 / 128 * 1.25  # 13.8 within 25%


@pytest.fixture
def sized(backend):
    made = []

    def make(handler, sizes, timeout_s=30):
        functions = {m: LambdaFunction(f"share-{m}-{len(made)}", handler, memory_mb=m, timeout_s=timeout_s)
                     for m in sizes}
        made.extend(functions.values())
        return functions

    yield make
    for f in made:
        f.shutdown()


def test_the_share_is_memory_over_1769():
    assert cpu_share.share(1769) == 1.0
    assert cpu_share.share(128) == pytest.approx(0.07236, abs=1e-5)
    assert cpu_share.share(10_240) == pytest.approx(5.79, abs=0.01)


def test_cpu_bound_work_at_128_mb_takes_1769_over_128_times_as_long(sized):
    functions = sized("cpu_handlers.crunch", (128, 1769))
    seen = measured_until(share_ratio_ok, lambda: medians(functions, {}, rounds=5))
    assert share_ratio_ok(seen[-1]), seen


def test_single_threaded_work_is_no_faster_above_one_vcpu(sized):
    functions = sized("cpu_handlers.crunch", (1769, 3008))
    seen = measured_until(lambda t: 0.75 <= t[3008] / t[1769] <= 1.5, lambda: medians(functions, {}))
    took = seen[-1]
    assert took[3008] >= took[1769] * 0.75, seen  # within noise of 1,769 MB, not 1.7 times faster
    assert took[3008] <= took[1769] * 1.5, seen


def test_waiting_is_not_slowed(sized):
    took = medians(sized("cpu_handlers.nap", (128, 1769)), {"seconds": 0.2})
    assert took[128] / took[1769] == pytest.approx(1.0, abs=0.2), took
    assert 190 <= took[128] <= 300


def test_a_timeout_that_would_not_fire_at_a_full_vcpu_fires_at_128_mb(sized):
    functions = sized("cpu_handlers.crunch", (128, 1769), timeout_s=1)
    event = {"work": 5 * cpu_handlers_work()}  # ~0.15 s of CPU: ~2 s at 128 MB
    fast = functions[1769].invoke(event)
    slow = functions[128].invoke(event)
    assert fast.ok and fast.duration_ms < 1000
    assert slow.status == "timeout" and slow.error["errorType"] == "Sandbox.Timedout"
    assert slow.duration_ms == 1000.0 and "Status: timeout" in slow.report


def test_the_handler_sees_its_remaining_time_fall_at_the_throttled_pace(sized):
    inv = sized("cpu_handlers.crunch", (128,), timeout_s=10)[128].invoke({})
    spent = inv.response["before"] - inv.response["after"]
    assert inv.ok and inv.duration_ms > 250
    assert 0.6 * inv.duration_ms <= spent <= 1.1 * inv.duration_ms, (spent, inv.duration_ms)


def test_processes_the_handler_starts_share_its_cpu(sized):
    inv = sized("cpu_handlers.crunch_in_a_child", (128,))[128].invoke({})
    child_cpu_ms = inv.response["child_cpu_ms"]
    assert child_cpu_ms > 10
    # the child's CPU time counts against the function's share: ~13.8 times its CPU time, not its CPU time
    assert inv.duration_ms >= 0.6 * child_cpu_ms * 1769 / 128, (inv.duration_ms, child_cpu_ms)


@pytest.mark.skipif(cpu_share.MODE != "throttle", reason="throttling needs Linux")
def test_the_worker_is_never_left_stopped(sized):
    f = sized("cpu_handlers.crunch", (128,))[128]
    assert f.invoke({}).ok
    (environment,) = f._idle
    with open(f"/proc/{environment.process.pid}/stat") as stat:
        state = stat.read().rsplit(")", 1)[1].split()[0]
    assert state in "SR"  # sleeping (waiting for the next invocation) or running, not T (stopped)


def test_where_throttling_cannot_work_duration_is_modelled(sized, monkeypatch):
    monkeypatch.setattr(cpu_share, "MODE", "model")
    functions = sized("cpu_handlers.crunch", (128, 1769))
    seen = measured_until(share_ratio_ok, lambda: medians(functions, {}))
    assert share_ratio_ok(seen[-1]), seen
    inv = functions[128].invoke({})
    assert inv.modelled and inv.ok
    assert inv.response["before"] - inv.response["after"] < inv.duration_ms / 3  # it really ran at full speed


def test_modelled_duration_stretches_only_the_cpu_part():
    assert cpu_share.modelled_duration_ms(100, 30, 1769) == 100
    assert cpu_share.modelled_duration_ms(100, 30, 3008) == 100
    assert cpu_share.modelled_duration_ms(100, 30, 128) == pytest.approx(70 + 30 * 1769 / 128)
    assert cpu_share.modelled_duration_ms(100, 0, 128) == 100


def test_a_modelled_run_past_the_timeout_is_a_timeout(sized, monkeypatch):
    monkeypatch.setattr(cpu_share, "MODE", "model")
    inv = sized("cpu_handlers.crunch", (128,), timeout_s=1)[128].invoke({"work": 5 * cpu_handlers_work()})
    assert inv.status == "timeout" and inv.duration_ms == 1000.0


def test_a_share_beyond_this_machines_cores_is_said_once(sized, monkeypatch):
    monkeypatch.setattr(cpu_share.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cpu_share, "_warned_cores", set())
    f = sized("cpu_handlers.nap", (10_240,))[10_240]
    with pytest.warns(UserWarning, match="10240 MB gets 5.79 vCPUs on Lambda but this machine has 2 cores"):
        f.invoke({"seconds": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f.invoke({"seconds": 0})


def test_a_mistyped_mode_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("LAMBDALAB_CPU_SHARE", "fast")
    with pytest.raises(ValueError, match="'throttle'.*'model'"):
        cpu_share._detect_mode()


def cpu_handlers_work():
    import cpu_handlers

    return cpu_handlers.WORK
