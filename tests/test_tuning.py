"""lambdalab.tuning: power_tune's rows, costs and strategies, measured through the runtime's CPU share."""
import math

import pytest
from matplotlib.figure import Figure

from lambdalab import tuning
from lambdalab.runtime import LambdaFunction
from test_cpu_share import measured_until, share_ratio_ok

X86, ARM = 0.0000166667, 0.0000133334  # $ per GB-second, us-east-1 (shared/reference/aws-facts.md)


@pytest.fixture
def function(backend):
    made = []

    def make(handler, **settings):
        f = LambdaFunction(f"tuned-{len(made)}", handler, **{"timeout_s": 30, **settings})
        made.append(f)
        return f

    yield make
    for f in made:
        f.shutdown()


def row(memory_mb, duration_ms, errors=0):
    """A hand-made row: billed = duration rounded up, as the runtime bills."""
    billed = math.ceil(duration_ms)
    return {"memory_mb": memory_mb, "duration_ms": duration_ms, "billed_ms": billed, "errors": errors,
            "error": "out of memory" if errors else None}


HAND_MADE = [row(128, 1000), row(512, 200), row(1024, 110), row(3008, 100)]
# compute cost (GB x s, times the price): 128 -> 0.125, 512 -> 0.100, 1024 -> 0.110, 3008 -> 0.294 (x price)
# balanced, weight 0.5: 0.713, 0.270, 0.242, 0.550 -> 1024 MB


def test_cost_picks_the_cheapest_speed_the_fastest_and_balanced_the_weighted_best():
    assert tuning.recommend(HAND_MADE, "cost")["memory_mb"] == 512
    assert tuning.recommend(HAND_MADE, "speed")["memory_mb"] == 3008
    assert tuning.recommend(HAND_MADE, "balanced")["memory_mb"] == 1024
    assert tuning.recommend(HAND_MADE, "balanced", weight=1)["memory_mb"] == 512  # pure cost
    assert tuning.recommend(HAND_MADE, "balanced", weight=0)["memory_mb"] == 3008  # pure speed
    assert tuning.recommend(HAND_MADE, "cost", architecture="arm64")["memory_mb"] == 512


def test_ties_and_failed_rows_follow_power_tuning():
    tied = [row(256, 100), row(512, 50)]  # the same cost: 0.25 GB x 0.1 s = 0.5 GB x 0.05 s
    assert tuning.recommend(tied, "cost")["memory_mb"] == 512  # the faster of equal costs
    failing = [row(128, 10, errors=5)] + HAND_MADE[1:]
    assert tuning.recommend(failing, "cost")["memory_mb"] == 512  # the cheapest failed: never recommended
    with pytest.raises(ValueError, match="No memory size ran without errors"):
        tuning.recommend([row(128, 10, errors=5)], "speed")


@pytest.mark.parametrize("strategy, weight, message", [
    ("cheapest", 0.5, "use one of cost, speed, balanced"),
    ("balanced", 1.5, "from 0 \\(pure speed\\) to 1 \\(pure cost\\)"),
    ("balanced", "half", "from 0"),
])
def test_bad_strategies_and_weights_are_refused(strategy, weight, message):
    with pytest.raises(ValueError, match=message):
        tuning.recommend(HAND_MADE, strategy, weight)


def test_cost_formula_matches_the_price_sheet_to_the_cent_per_million():
    assert tuning.invocation_cost(128, 100) == pytest.approx(0.125 * 0.1 * X86 + 0.2e-6)
    assert tuning.invocation_cost(1024, 1000, "arm64") == pytest.approx(ARM + 0.2e-6)
    # 1M invocations of 1,536 MB x 120 ms on x86_64: 1.5 x 0.12 x 1e6 x price + $0.20 = $3.20
    assert round(tuning.invocation_cost(1536, 120) * 1e6, 2) == 3.20


def test_trimmed_mean_drops_a_fifth_at_each_end():
    assert tuning.trimmed_mean([1, 2, 3, 4, 100]) == 3
    assert tuning.trimmed_mean([5, 1, 3], discard=0.2) == 3  # int(3 x 0.2) = 0: nothing dropped
    assert tuning.trimmed_mean(list(range(10)), discard=0.4) == 4.5
    assert tuning.trimmed_mean([]) is None


def test_power_tune_shows_the_cpu_share_in_its_rows(function):
    f = function("cpu_handlers.crunch", memory_mb=256)
    seen = measured_until(lambda r: share_ratio_ok({m: r.row(m)["duration_ms"] for m in (128, 1769)}),
                          lambda: tuning.power_tune(f, {}, memory_sizes=(1769, 128), invocations=5, progress=False))
    result = seen[-1]
    slow, fast = result.row(128), result.row(1769)
    assert [r["memory_mb"] for r in result.rows] == [128, 1769]
    assert 1769 / 128 * 0.75 <= slow["duration_ms"] / fast["duration_ms"] <= 1769 / 128 * 1.25, [
        r.rows for r in seen]
    assert slow["errors"] == fast["errors"] == 0 and slow["init_ms"] > 0
    assert f.memory_mb == 256  # given back


def test_rows_bill_and_cost_as_lambda_would(function):
    result = tuning.power_tune(function("cpu_handlers.nap"), {"seconds": 0.05}, memory_sizes=(128, 1024),
                               invocations=5, progress=False)
    for r in result.rows:
        runs = result.invocations[r["memory_mb"]]
        billed = sorted(i.billed_duration_ms for i in runs)[1:-1]  # the fastest and slowest fifth dropped
        assert r["billed_ms"] == round(sum(billed) / 3, 2)
        for price, arch in ((X86, "x86_64"), (ARM, "arm64")):
            per_million = (r["memory_mb"] / 1024 * r["billed_ms"] / 1000 * price + 0.20 / 1e6) * 1e6
            assert r[f"cost_per_million_{arch}"] == pytest.approx(per_million, abs=0.005)  # to the cent
        totals = sorted(i.duration_ms + (i.init_duration_ms or 0) for i in runs)[1:-1]
        assert r["duration_ms"] == pytest.approx(sum(totals) / 3, abs=0.01)
    # waiting is not slowed: a sleep-only handler is flat
    assert result.row(128)["duration_ms"] == pytest.approx(result.row(1024)["duration_ms"], rel=0.25)


def test_out_of_memory_at_128_mb_is_a_row_with_an_error_not_an_exception(function):
    result = tuning.power_tune(function("cpu_handlers.allocate"), {"mb": 160}, memory_sizes=(128, 512),
                               invocations=2, progress=False)
    small, large = result.row(128), result.row(512)
    assert small["errors"] == 2 and small["error"] == "out of memory" and small["max_memory_used_mb"] == 128
    assert large["errors"] == 0 and large["max_memory_used_mb"] >= 160
    assert result.recommend("cost")["memory_mb"] == 512
    assert "out of memory" in result._repr_html_() and "2/2" in result._repr_html_()


def test_a_timeout_at_a_small_size_is_a_row_too(function):
    f = function("cpu_handlers.crunch", timeout_s=1)
    result = tuning.power_tune(f, {"work": 2_500_000}, memory_sizes=(128, 1769), invocations=1,
                               discard_top_bottom=0, progress=False)
    assert result.row(128)["error"] == "timeout" and result.row(128)["billed_ms"] >= 1000
    assert result.row(1769)["errors"] == 0


def test_weighted_events_are_spread_by_weight(function):
    assert tuning.spread_weighted([("a", 3), ("b", 1)], 8) == ["a"] * 6 + ["b"] * 2
    assert tuning.spread_weighted([("a", 1), ("b", 1), ("c", 1)], 5) == ["a", "b", "c", "c", "c"]
    with pytest.raises(ValueError, match="at least 2 invocations"):
        tuning.spread_weighted([("a", 1), ("b", 1)], 1)
    with pytest.raises(ValueError, match="positive number"):
        tuning.spread_weighted([("a", 0)], 5)
    result = tuning.power_tune(function("cpu_handlers.which"), memory_sizes=(256,), invocations=4,
                               weighted_events=[({"name": "small"}, 3), ({"name": "large"}, 1)], progress=False)
    assert [i.response for i in result.invocations[256]] == ["small"] * 3 + ["large"]


def test_only_cold_starts_runs_every_invocation_in_a_fresh_environment(function):
    result = tuning.power_tune(function("cpu_handlers.which"), {"name": "x"}, memory_sizes=(128,), invocations=3,
                               only_cold_starts=True, progress=False)
    runs = result.invocations[128]
    assert all(i.cold_start for i in runs)
    totals = [i.duration_ms + i.init_duration_ms for i in runs]
    assert result.row(128)["duration_ms"] == pytest.approx(sum(totals) / 3, abs=0.01)  # nothing discarded


@pytest.mark.parametrize("settings, message", [
    ({"memory_sizes": (64, 128)}, "from 128 to 10,240"),
    ({"memory_sizes": (128, 128)}, "a size twice"),
    ({"memory_sizes": ()}, "an empty list"),
    ({"invocations": 0}, "whole number of invocations"),
    ({"discard_top_bottom": 0.5}, "0 \\(keep all\\) to 0.4"),
    ({"balanced_weight": 2}, "from 0 \\(pure speed\\)"),
])
def test_bad_settings_are_refused_before_anything_runs(function, settings, message):
    f = function("cpu_handlers.which")
    with pytest.raises(ValueError, match=message):
        tuning.power_tune(f, {"name": "x"}, progress=False, **settings)
    assert len(f.invocations) == 0


def test_a_handler_instead_of_a_function_is_refused_with_what_to_do():
    with pytest.raises(TypeError, match="wrap the handler first"):
        tuning.power_tune("cpu_handlers.which", {})


def hand_made_result():
    rows = [dict(r, vcpu_share=r["memory_mb"] / 1769, invocations=5, max_memory_used_mb=60, init_ms=100.0,
                 modelled=False, **{f"cost_per_million_{a}": tuning.invocation_cost(r["memory_mb"], r["billed_ms"], a)
                                    * 1e6 for a in tuning.ARCHITECTURES})
            for r in [row(128, 1000, errors=5)] + HAND_MADE[1:]]
    return tuning.TuningResult("hand-made", rows, {})


def test_plot_draws_duration_and_cost_on_two_axes_with_the_points_marked():
    fig = hand_made_result().plot()
    assert isinstance(fig, Figure)
    duration_ax, cost_ax = fig.axes
    assert duration_ax.get_ylabel() == "duration (ms)" and "per 1M invocations" in cost_ax.get_ylabel()
    assert "memory (MB" in duration_ax.get_xlabel() and "duration and cost against memory" in duration_ax.get_title()
    texts = " ".join(t.get_text() for t in duration_ax.texts)
    assert "optimized\n1024 MB" in texts and "128 MB failed" in texts and "out of memory" in texts
    assert "under-provisioned" in texts  # 512 MB takes 1.8 times the optimized 1,024 MB's duration


def test_compare_puts_several_results_on_one_figure():
    result = hand_made_result()
    fig = tuning.compare([result, result], ["x86 function", "again"], architectures=("x86_64", "arm64"))
    left, right = fig.axes
    assert len(left.lines) == 2 and len(right.lines) == 4
    assert {t.get_text() for t in right.get_legend().get_texts()} >= {"again (arm64)", "x86 function (x86_64)"}
    with pytest.raises(ValueError, match="one label per result"):
        tuning.compare([result], ["a", "b"])


def test_rows_are_plain_data_and_the_table_names_the_picks():
    result = hand_made_result()
    assert all(isinstance(r, dict) for r in result.rows)
    html = result._repr_html_()
    assert html.count("<tr") == 5 and "recommended for" in html and "speed" in html
    assert "hand-made" in str(result)
