"""The practice exam in plain Python: domain-weighted draw, shuffling, flags, timer, report, scaled score."""
from collections import Counter

import pytest

from lambdalab.quiz import exam as ex
from lambdalab.quiz import scoring
from lambdalab.quiz.bank import Bank, load_bank
from lambdalab.quiz.progress import ProgressStore

BANK = load_bank()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def store(tmp_path):
    return ProgressStore(tmp_path / "progress.sqlite")


# --- domain weights ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, expected", [
    (100, {1: 32, 2: 26, 3: 24, 4: 18}),
    (65, {1: 21, 2: 17, 3: 15, 4: 12}),
    (20, {1: 6, 2: 5, 3: 5, 4: 4}),
    (10, {1: 3, 2: 3, 3: 2, 4: 2}),
    (1, {1: 1, 2: 0, 3: 0, 4: 0}),
])
def test_domain_quota_follows_the_exam_weights(n, expected):
    assert scoring.domain_quota(n) == expected


def test_domain_quota_is_close_to_proportional_for_every_size():
    for n in range(1, 120):
        quota = scoring.domain_quota(n)
        assert sum(quota.values()) == n
        for d, w in scoring.DOMAIN_WEIGHTS.items():
            assert abs(quota[d] - n * w / 100) < 1, (n, quota)


@pytest.mark.parametrize("n", [10, 20, 40, 65])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_draw_follows_domain_weights(n, seed):
    drawn = ex.draw(n, seed=seed, bank=BANK)
    assert len(drawn) == n == len({q.id for q in drawn})
    assert Counter(q.domain for q in drawn) == Counter({d: k for d, k in scoring.domain_quota(n).items() if k})
    assert all(q.is_choice for q in drawn), "free-text questions never appear in the exam"


def test_draw_is_reproducible_with_a_seed_and_random_without():
    assert [q.id for q in ex.draw(20, seed=7)] == [q.id for q in ex.draw(20, seed=7)]
    assert [q.id for q in ex.draw(20, seed=7)] != [q.id for q in ex.draw(20, seed=8)]


def test_draw_fills_a_short_domain_from_the_others():
    few_deployment = [q for q in BANK if q.is_choice and (q.domain != 3 or q.id in ("mem-range", "eb-test-pattern"))]
    small = Bank(few_deployment)
    drawn = ex.draw(40, seed=1, bank=small)
    counts = Counter(q.domain for q in drawn)
    assert len(drawn) == 40 and counts[3] == 2
    assert counts[1] > scoring.domain_quota(40)[1]


def test_draw_refuses_more_questions_than_the_bank_has():
    with pytest.raises(ValueError, match="exam-style questions"):
        ex.draw(10_000)


# --- scaled score -----------------------------------------------------------------------------------------------

def test_scaled_score_is_monotonic_and_clamped():
    scores = [scoring.scaled_score(i / 1000) for i in range(1001)]
    assert all(a <= b for a, b in zip(scores, scores[1:]))
    assert scores[0] == 100 and scores[-1] == 1000
    assert scoring.scaled_score(0.72) == 720
    assert scoring.scaled_score(0.71) < 720 <= scoring.scaled_score(0.72)
    assert scoring.scaled_score(-3) == 100 and scoring.scaled_score(7) == 1000


# --- the exam object --------------------------------------------------------------------------------------------

def make_exam(n=20, minutes=None, store=None, clock=None):
    return ex.Exam(n, minutes, seed=42, clock=clock or FakeClock(), store=store, record=store is not None)


def test_default_time_is_proportional_to_the_real_exam():
    assert make_exam(20).minutes == 40
    assert make_exam(65).minutes == 130
    assert make_exam(10, minutes=5).minutes == 5


def test_options_are_shuffled_but_answers_use_the_bank_letters():
    e = make_exam(40)
    orders = [it.order for it in e.items]
    assert any(list(o) != sorted(o) for o in orders), "options should be shuffled"
    for it in e.items:
        assert sorted(it.order) == sorted(it.question.options)
        assert [k for k, _ in it.options] == list(it.order)


def test_answer_flag_revisit_and_finish(store):
    e = make_exam(20, store=store)
    assert not e.started
    right = e.items[0].question.answer
    e.answer(0, list(right))
    assert e.started
    wrong_q = e.items[1].question
    e.answer(1, [k for k in wrong_q.options if k not in wrong_q.answer][: wrong_q.select])
    e.answer(2, list(e.items[2].question.answer))
    e.answer(2, None)  # cleared again
    e.flag(1)
    e.flag(5)
    e.flag(5, False)
    assert e.flagged() == [1]
    assert e.unanswered() == list(range(2, 20))
    e.answer(1, list(wrong_q.answer))  # revisit a flagged question and fix it
    report = e.finish()
    assert report.total == 20 and report.correct == 2 and report.unanswered == 18
    assert sum(t for _, t in report.per_domain.values()) == 20
    assert report.per_domain == {d: (c, t) for d, (c, t) in report.per_domain.items()}
    assert len(report.wrong) == 18 and all(result is None for _, result in report.wrong)
    assert report.scaled == scoring.scaled_score(2 / 20) and not report.passed
    assert e.finish() is report  # idempotent
    with pytest.raises(ex.ExamOver):
        e.answer(3, "A")
    answers = store.answers(mode="exam")  # every question asked is recorded; unanswered ones as not correct
    assert sorted(a.question_id for a in answers) == sorted(it.question.id for it in e.items)
    assert sorted(a.question_id for a in answers if a.correct) == sorted([e.items[0].question.id, wrong_q.id])
    assert all(a.answer is None for a in answers if not a.correct)


def test_exam_report_and_progress_chart_agree(store):
    """The report's per-domain numbers are the chart's: 3/20 in the report is 3/20 in the chart, not 3/3."""
    from lambdalab.quiz import plots

    bank = load_bank()
    e = make_exam(20, store=store)
    for i in (0, 4, 9):
        e.answer(i, list(e.items[i].question.answer))
    wrong = e.items[5].question
    e.answer(5, [k for k in wrong.options if k not in wrong.answer][: wrong.select])
    heard = []
    store.subscribe(heard.append)
    report = e.finish()
    assert report.correct == 3 and report.total == 20
    assert len(heard) == 1 and len(heard[0]) == 20  # one notification for the whole exam (views redraw once)
    summary = store.summary(bank)
    chart = {d: (v["correct"], v["attempted"]) for d, v in summary["domains"].items() if v["attempted"]}
    assert chart == report.per_domain
    fig = plots.progress_figure(store, bank)
    labels = sorted(t.get_text() for t in fig.axes[1].texts)
    domains = summary["domains"]
    assert labels == sorted(f"{domains[d]['correct']}/{domains[d]['attempted']}" for d in (1, 2, 3, 4))
    assert sum(int(x.split("/")[0]) for x in labels) == 3 and sum(int(x.split("/")[1]) for x in labels) == 20


def test_all_right_passes_and_wrong_answers_are_explained():
    e = make_exam(20)
    for i, it in enumerate(e.items):
        e.answer(i, list(it.question.answer))
    wrong_item = e.items[3]
    bad = [k for k in wrong_item.question.options if k not in wrong_item.question.answer][: wrong_item.question.select]
    e.answer(3, bad)
    report = e.finish()
    assert report.correct == 19 and report.passed and report.scaled >= 720
    (item, result), = report.wrong
    assert item is wrong_item and not result.correct
    html = report._repr_html_()
    assert "720" in html and "Development with AWS Services" in html
    for text in wrong_item.question.explanations.values():
        assert text.replace("'", "&#x27;").replace('"', "&quot;")[:40] in html
    text = str(report)
    assert "not the whole exam" in text and "this module" in text
    assert "Module readiness: " in text and "from 20 questions" in text and "PASS" not in text
    assert "not the whole exam" in html and "from 20 questions" in html


@pytest.mark.parametrize("n, step", [(10, 86), (20, 43), (65, 13)])
def test_the_report_says_how_many_questions_the_readiness_rests_on(n, step):
    report = make_exam(n).finish()
    assert report.points_per_question == step
    assert f"from {n} questions of this module" in str(report) and f"about {step} points" in str(report)
    # one more right answer moves the estimate by about that much
    assert abs(ex.scaled_score((n // 2) / n) - ex.scaled_score((n // 2 - 1) / n) - step) <= 2


def test_time_up_ends_the_exam_and_grades_what_was_answered():
    clock = FakeClock()
    e = make_exam(10, minutes=5, clock=clock)
    e.answer(0, list(e.items[0].question.answer))
    clock.advance(4 * 60)
    assert not e.check_time() and e.time_left() == pytest.approx(60)
    e.answer(1, list(e.items[1].question.answer))
    clock.advance(61)
    assert e.expired
    with pytest.raises(ex.ExamOver, match="time ran out"):
        e.answer(2, "A")
    assert e.finished and e.report.timed_out
    assert e.report.correct == 2 and e.report.unanswered == 8
    assert e.report.elapsed_s == pytest.approx(300)


def test_bad_indexes_and_answers_are_clear_errors():
    e = make_exam(10)
    with pytest.raises(IndexError):
        e.answer(10, "A")
    with pytest.raises(ValueError, match="not an option"):
        e.answer(0, "Z")


def test_report_plot_marks_the_pass_mark():
    e = make_exam(10)
    fig = e.finish().plot()
    titles = [ax.get_title() for ax in fig.axes]
    assert "Per domain" in titles and "Module readiness (estimate)" in titles
    assert "this module" in fig._suptitle.get_text()
    gauge = fig.axes[1]
    assert gauge.get_xlim() == (100, 1000) and gauge.get_xlabel()
    assert any("720" in t.get_text() for t in gauge.texts)


def test_below_72_percent_never_shows_the_pass_mark():
    for n in range(1, 200):
        for k in range(n + 1):
            assert (scoring.scaled_score(k / n) >= scoring.PASS_SCALED) == (k / n >= scoring.PASS_FRACTION), (k, n)
    assert scoring.scaled_score(59 / 82) == 719  # 71.95% used to round up to 720, a "PASS"


@pytest.mark.parametrize("minutes", [0, -5])
def test_an_exam_with_no_time_is_refused_clearly(minutes):
    with pytest.raises(ValueError, match="minutes must be more than 0"):
        make_exam(5, minutes=minutes)
