"""Lab 6 (power tuning): the solution passes every check, the student version reports TODOs, and each kind of wrong
answer fails the check it should, with a message that says what to change."""
import pytest

from lambdalab import labs
from lambdalab.labs import lab06
from test_labs_check import notebook_namespace

_solution = {}


@pytest.fixture
def solution(root, backend):
    """The solution's namespace, its tuning run once for the whole module (the checks only read its rows)."""
    if not _solution:
        _solution.update(notebook_namespace(root / "solutions" / "lab06_power_tuning.ipynb"))
    return dict(_solution)


@pytest.fixture
def student(root, backend):
    return notebook_namespace(root / "labs" / "lab06_power_tuning.ipynb")


def result(namespace, check_id, hidden=False, seed=3):
    task, name = check_id.split(".")
    return labs.check("lab06", task, namespace=namespace, hidden=hidden, seed=seed)[name]


def full(r):
    return " ".join(str(x) for x in (r.message, r.expected, r.actual, r.hint) if x)


def test_the_solution_passes_every_public_and_hidden_check(solution):
    report = labs.check("lab06", namespace=solution)
    assert report.passed and report.points == report.max_points == 12, report.text()
    for seed in (1, 7, 2024):
        everything = labs.check("lab06", namespace=solution, hidden=True, seed=seed)
        assert everything.passed and everything.points == lab06.LAB.points == 20, everything.text()


def test_the_solution_really_tuned_and_chose_from_its_rows(solution):
    rows = solution["tuning_result"].rows
    assert [r["memory_mb"] for r in rows] == list(lab06.SIZES)
    assert rows[0]["duration_ms"] > 4 * rows[-2]["duration_ms"]  # 128 MB against 1,769 MB: the CPU share
    assert solution["my_memory"] == lab06.reference_cheapest_within_latency(rows, lab06.LATENCY_MS)


def test_the_student_version_is_reported_as_not_written_yet(student):
    report = labs.check("lab06", namespace=student, hidden=True, seed=1)
    assert report.points == 0 and {r.status for r in report.results} == {"todo"}, report.text()
    assert "`tuning_result` is not set yet" in report["tuned_every_size"].message


def test_a_cost_without_the_request_fee_is_told_to_add_it(solution):
    namespace = dict(solution, cost_per_million=lambda m, b, a="x86_64": m / 1024 * b / 1000 *
                     lab06.tuning.PRICE_PER_GB_SECOND[a] * 1e6)
    r = result(namespace, "task1.prices_a_small_function")
    assert r.status == "failed" and "request fee" in r.hint


def test_a_gb_of_1000_mb_is_caught(solution):
    namespace = dict(solution, cost_per_million=lambda m, b, a="x86_64": (m / 1000 * b / 1000 *
                     lab06.tuning.PRICE_PER_GB_SECOND[a] + 0.2e-6) * 1e6)
    r = result(namespace, "task1.prices_arm64")
    assert r.status == "failed" and "1,024 MB" in r.hint


def test_arm64_priced_as_x86_fails(solution):
    namespace = dict(solution, cost_per_million=lambda m, b, a="x86_64": solution["cost_per_million"](m, b))
    assert result(namespace, "task1.prices_arm64").status == "failed"
    assert result(namespace, "task1.prices_a_small_function").status == "passed"


def test_the_cheapest_instead_of_the_fastest_within_budget_fails(solution):
    def cheapest(rows, budget):
        fits = [r for r in rows if not r["errors"] and r["cost_per_million_x86_64"] <= budget]
        return min(fits, key=lambda r: r["cost_per_million_x86_64"])["memory_mb"] if fits else None

    r = result(dict(solution, fastest_within_budget=cheapest), "task2.fastest_that_fits_the_budget")
    assert r.status == "failed" and (r.expected, r.actual) == ("1024", "512") and "lowest duration_ms" in r.hint


def test_a_failed_size_is_never_a_choice(solution):
    def ignores_errors(rows, budget):
        fits = [r for r in rows if r["cost_per_million_x86_64"] <= budget]
        return min(fits, key=lambda r: r["duration_ms"])["memory_mb"] if fits else None

    namespace = dict(solution, fastest_within_budget=ignores_errors)
    assert result(namespace, "task2.fastest_that_fits_the_budget").status == "passed"  # no failed row there
    r = result(namespace, "task2.budget_on_random_tables", hidden=True)
    assert r.status == "failed" and "never a choice" in r.hint


def test_returning_the_row_instead_of_its_size_is_explained(solution):
    def whole_row(rows, max_ms):
        fits = [r for r in rows if not r["errors"] and r["duration_ms"] <= max_ms]
        return min(fits, key=lambda r: r["cost_per_million_x86_64"]) if fits else None

    r = result(dict(solution, cheapest_within_latency=whole_row), "task3.cheapest_that_is_fast_enough")
    assert r.status == "failed" and "row['memory_mb']" in r.hint


def test_picking_anyway_when_nothing_is_fast_enough_fails(solution):
    def never_none(rows, max_ms):
        fits = [r for r in rows if not r["errors"] and r["duration_ms"] <= max_ms] or rows
        return min(fits, key=lambda r: r["cost_per_million_x86_64"])["memory_mb"]

    r = result(dict(solution, cheapest_within_latency=never_none), "task3.none_when_nothing_is_fast_enough")
    assert r.status == "failed" and r.expected == "None" and "return None" in r.hint


def test_a_typed_in_choice_fails_against_the_measured_rows(solution):
    wrong = next(m for m in lab06.SIZES if m != solution["my_memory"])
    r = result(dict(solution, my_memory=wrong), "task4.chose_what_the_rows_say")
    assert r.status == "failed" and "not from a number you typed" in r.hint


def test_a_justification_without_numbers_fails(solution):
    namespace = dict(solution, justification=f"{solution['my_memory']} MB looked like a good compromise to me.")
    r = result(namespace, "task4.justified_with_numbers")
    assert r.status == "failed" and "Missing:" in r.hint


def test_a_tuning_of_other_sizes_is_refused(solution):
    tuned = solution["tuning_result"]
    partial = lab06.tuning.TuningResult(tuned.function_name, tuned.rows[:3], {})
    r = result(dict(solution, tuning_result=partial), "task4.tuned_every_size")
    assert r.status == "failed" and "memory_sizes=SIZES" in r.hint


def test_hidden_targets_use_the_students_own_rows(solution):
    def fixed(rows, target):
        return 1024  # one answer, whatever the target

    # measured rows vary with the machine's load; hand-made rows of the same shape keep this test deterministic
    rows = [dict(lab06.row(m, ms), invocations=5) for m, ms in zip(lab06.SIZES, (900, 420, 200, 110, 70, 68))]
    tuned = lab06.tuning.TuningResult(lab06.FUNCTION_NAME, rows, {})
    namespace = dict(solution, tuning_result=tuned, fastest_within_budget=fixed, cheapest_within_latency=fixed)
    failures = [result(namespace, "task4.other_targets_on_your_rows", hidden=True, seed=s).status
                for s in range(6)]
    assert "failed" in failures
    honest = dict(namespace, fastest_within_budget=solution["fastest_within_budget"],
                  cheapest_within_latency=solution["cheapest_within_latency"])
    assert result(honest, "task4.other_targets_on_your_rows", hidden=True, seed=0).status == "passed"


def test_a_nan_cost_scores_nothing(solution):
    namespace = dict(solution, cost_per_million=lambda m, b, a="x86_64": float("nan"))
    for check in ("task1.prices_a_small_function", "task1.prices_arm64"):
        r = result(namespace, check)
        assert r.status == "failed" and "not right to the cent" in r.message
    r = result(namespace, "task1.prices_other_sizes", hidden=True)
    assert r.status == "failed"


def test_a_numpy_integer_size_counts_as_a_size(solution):
    np = pytest.importorskip("numpy")

    def as_numpy(rows, max_ms):
        return np.int64(solution["cheapest_within_latency"](rows, max_ms))

    namespace = dict(solution, cheapest_within_latency=as_numpy, my_memory=np.int64(solution["my_memory"]))
    assert result(namespace, "task3.cheapest_that_is_fast_enough").status == "passed"
    assert result(namespace, "task4.chose_what_the_rows_say").status == "passed"
    r = result(dict(namespace, my_memory=np.int64(next(m for m in lab06.SIZES if m != solution["my_memory"]))),
               "task4.chose_what_the_rows_say")
    assert r.status == "failed"


@pytest.mark.parametrize("broken", [
    "def cheapest_within_latency(rows, max_ms):\n    return undefined_name\n",
    "def cheapest_within_latency(rows, max_ms):\n    pass\n",
    "def cheapest_within_latency(rows, max_ms):\n    return '1024'\n",
])
def test_broken_answers_fail_cleanly(solution, broken):
    namespace = dict(solution)
    exec(broken, namespace)
    r = result(namespace, "task3.cheapest_that_is_fast_enough")
    assert r.status in ("failed", "error") and r.points == 0 and full(r)


def test_strict_comparisons_at_the_boundary_fail_the_hidden_checks(solution):
    def under_budget(rows, budget):
        fits = [r for r in rows if not r["errors"] and r["cost_per_million_x86_64"] < budget]
        return min(fits, key=lambda r: (r["duration_ms"], r["cost_per_million_x86_64"]))["memory_mb"] if fits else None

    def under_target(rows, max_ms):
        fits = [r for r in rows if not r["errors"] and r["duration_ms"] < max_ms]
        return min(fits, key=lambda r: (r["cost_per_million_x86_64"], r["duration_ms"]))["memory_mb"] if fits else None

    namespace = dict(solution, fastest_within_budget=under_budget, cheapest_within_latency=under_target)
    assert result(namespace, "task2.fastest_that_fits_the_budget").status == "passed"  # public checks miss it
    assert result(namespace, "task3.cheapest_that_is_fast_enough").status == "passed"
    for check in ("task2.budget_on_random_tables", "task3.latency_on_random_tables"):
        r = result(namespace, check, hidden=True)
        assert r.status == "failed" and "<=, not <" in r.hint, full(r)
