"""The practice exam, in plain Python: draw by domain weight, answer, flag, finish -> report.

The widget in ``widgets.py`` is only a face over ``Exam``; tests drive ``Exam`` directly with a fake clock.

The domain weights, the pass mark and the scaled-score estimate are in ``scoring.py``.

Scope: the questions cover one module of DVA-C02 (AWS Lambda for real-time data processing), so the report calls the
scaled estimate this module's readiness, gives the number of questions behind it and how far one answer moves it,
and says plainly that it is not a prediction of the exam score.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from .bank import DOMAINS, SELECT_WORDS, Question, load_bank
from .grading import Result, grade_question, parse_choice
from .plots import exam_figure
from .scoring import (
    DOMAIN_WEIGHTS,
    EXAM_MINUTES,
    EXAM_QUESTIONS,
    MIN_SCALED,
    PASS_FRACTION,
    PASS_SCALED,
    domain_quota,
    scaled_score,
)

SCOPE = ("This practice exam covers one module of DVA-C02, AWS Lambda for real-time data processing, not the whole "
         "exam, which covers many more services: its result is your readiness on this module, not a prediction of "
         "your exam score.")


def draw(n: int = 20, *, seed=None, bank=None) -> list[Question]:
    """``n`` exam-style (choice) questions, by domain quota, in random order. Free-text questions never appear.

    If a domain has fewer questions than its quota, the shortfall goes to the other domains by weight.
    """
    bank = bank if bank is not None else load_bank()
    rng = random.Random(seed)
    pools = {d: [q for q in bank if q.is_choice and q.domain == d] for d in DOMAIN_WEIGHTS}
    available = sum(len(p) for p in pools.values())
    if n > available:
        raise ValueError(f"The bank has {available} exam-style questions; ask for at most that many (got n={n}).")
    quota = domain_quota(n)
    picked: list[Question] = []
    short = 0
    for d, k in quota.items():
        take = min(k, len(pools[d]))
        short += k - take
        picked += rng.sample(pools[d], take)
    for d in sorted(DOMAIN_WEIGHTS, key=DOMAIN_WEIGHTS.get, reverse=True):
        left = [q for q in pools[d] if q not in picked]
        extra = rng.sample(left, min(short, len(left)))
        picked += extra
        short -= len(extra)
    rng.shuffle(picked)
    return picked


class ExamOver(RuntimeError):
    """The exam has finished (time is up, or ``finish()`` was called); answers can no longer change."""


@dataclass
class ExamItem:
    """A drawn question with its shuffled option order, the learner's answer and flag."""

    question: Question
    order: tuple[str, ...]  # option letters in the order they are shown
    answer: tuple[str, ...] | None = None
    flagged: bool = False
    answered_at: float | None = None

    @property
    def options(self) -> list[tuple[str, str]]:
        """(letter, text) in display order; answers are given by these letters (the bank's letters)."""
        return [(k, self.question.options[k]) for k in self.order]


@dataclass
class ExamReport:
    """The result of a finished exam: per-domain scores, the scaled estimate and every wrong answer explained."""

    total: int
    correct: int
    per_domain: dict[int, tuple[int, int]]  # domain -> (correct, questions)
    wrong: list[tuple[ExamItem, Result | None]]  # None result = not answered
    unanswered: int
    elapsed_s: float
    timed_out: bool
    results: list[Result | None] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def scaled(self) -> int:
        return scaled_score(self.fraction)

    @property
    def passed(self) -> bool:
        """At or above the 720 line on this module's questions (not a pass of the exam)."""
        return self.scaled >= PASS_SCALED

    @property
    def points_per_question(self) -> int:
        """About how far one answer more or less moves the readiness estimate below the pass line."""
        return round((PASS_SCALED - MIN_SCALED) / PASS_FRACTION / self.total) if self.total else 0

    @property
    def readiness(self) -> str:
        verdict = "at or above the 720 line" if self.passed else "below the 720 line"
        return (f"Module readiness: {self.scaled} on the exam's 100-1,000 scale ({verdict}), an estimate from "
                f"{self.total} questions of this module; one answer more or less moves it by about "
                f"{self.points_per_question} points.")

    def __str__(self) -> str:
        lines = [SCOPE,
                 f"Score: {self.correct}/{self.total} ({self.fraction:.0%}){' - time ran out' if self.timed_out else ''}",
                 self.readiness]
        for d, (c, t) in self.per_domain.items():
            lines.append(f"  Domain {d} {DOMAINS[d]}: {c}/{t}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(f"<tr><td>{d}. {escape(DOMAINS[d])}</td><td>{c}/{t}</td><td>{(c / t if t else 0):.0%}</td></tr>"
                       for d, (c, t) in self.per_domain.items())
        parts = [f"<h4>Practice exam report{' (time ran out)' if self.timed_out else ''}</h4>",
                 f"<p><i>{escape(SCOPE)}</i></p>",
                 f"<p><b>{self.correct}/{self.total}</b> correct ({self.fraction:.0%}).</p>",
                 f"<p>{escape(self.readiness)} The estimate assumes ~72% correct &asymp; 720.</p>",
                 f"<table><tr><th>Domain</th><th>Correct</th><th>%</th></tr>{rows}</table>"]
        if self.wrong:
            parts.append(f"<h4>Review: {len(self.wrong)} question(s) to revisit</h4>")
            for item, result in self.wrong:
                parts.append(review_html(item.question, result))
        return "\n".join(parts)

    def plot(self):
        """Bar chart per domain and a gauge of the scaled estimate with the 720 pass mark (a matplotlib Figure)."""
        return exam_figure(self)


def review_html(q: Question, result: Result | None) -> str:
    """One wrong (or unanswered) question with the explanation of every option, for the report."""
    from html import escape

    given = "not answered" if result is None else "answered wrongly"
    chosen = set(result.given) if result is not None else set()
    items = "".join(f"<li>{escape(text)}{' <b>(your choice)</b>' if k in chosen else ''}<br>"
                    f"<i>{'Correct' if k in q.answer else 'Wrong'}:</i> {escape(q.explanations[k])}</li>"
                    for k, text in q.options.items())
    return (f"<details><summary>{escape(q.question.splitlines()[0][:120])}... ({given})</summary>"
            f"<p>{escape(q.question)}</p><ul>{items}</ul><p><a href='{q.doc}' target='_blank'>AWS documentation</a></p>"
            "</details>")


class Exam:
    """A timed mock exam. ``clock`` returns seconds (``time.monotonic`` by default; tests pass a fake one)."""

    def __init__(self, n: int = 20, minutes: float | None = None, *, seed=None, bank=None,
                 clock=time.monotonic, store=None, record: bool = True):
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.bank = bank if bank is not None else load_bank()
        rng = random.Random(f"options-{self.seed}")
        self.items = [ExamItem(q, tuple(rng.sample(list(q.options), len(q.options))))
                      for q in draw(n, seed=self.seed, bank=self.bank)]
        self.minutes = minutes if minutes is not None else round(EXAM_MINUTES * n / EXAM_QUESTIONS, 1)
        if not self.minutes > 0:
            raise ValueError(f"minutes must be more than 0 (got {minutes!r}); leave it out for 2 minutes a question, "
                             "as on the real exam.")
        self.clock = clock
        self.started_at: float | None = None
        self.report: ExamReport | None = None
        self._store = store
        self._record = record

    def __len__(self):
        return len(self.items)

    # -- time ----------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.started_at is None:
            self.started_at = self.clock()

    @property
    def started(self) -> bool:
        return self.started_at is not None

    def elapsed(self) -> float:
        return 0.0 if self.started_at is None else self.clock() - self.started_at

    def time_left(self) -> float:
        return max(0.0, self.minutes * 60 - self.elapsed())

    @property
    def expired(self) -> bool:
        return self.started and self.time_left() <= 0

    @property
    def finished(self) -> bool:
        return self.report is not None

    def check_time(self) -> bool:
        """Finish the exam if time is up; True when the exam is over."""
        if self.expired and not self.finished:
            self.finish()
        return self.finished

    # -- answering -----------------------------------------------------------------------------------------------
    def _open(self, index: int) -> ExamItem:
        if self.check_time():
            raise ExamOver("The exam is over" + (" (time ran out)" if self.report.timed_out else "") +
                           "; see exam.report.")
        self.start()
        if not 0 <= index < len(self.items):
            raise IndexError(f"Question index {index} is out of range 0-{len(self.items) - 1}.")
        return self.items[index]

    def answer(self, index: int, answer) -> None:
        """Record (or change, or with None clear) the answer to question ``index`` (0-based), by option letter(s)."""
        item = self._open(index)
        if answer is None or answer == [] or answer == ():
            item.answer, item.answered_at = None, None
            return
        item.answer = parse_choice(item.question, answer)
        item.answered_at = time.time()

    def flag(self, index: int, on: bool = True) -> None:
        self._open(index).flagged = bool(on)

    def flagged(self) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.flagged]

    def unanswered(self) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.answer is None]

    def select_hint(self, index: int) -> str:
        q = self.items[index].question
        return "" if q.type == "single" else f"Select {SELECT_WORDS.get(q.select, q.select)}."

    # -- the end -------------------------------------------------------------------------------------------------
    def finish(self) -> ExamReport:
        """Grade what was answered (unanswered counts as wrong), record every question in progress, return the report."""
        if self.report is not None:
            return self.report
        self.start()
        timed_out = self.expired
        per_domain = {d: [0, 0] for d in DOMAIN_WEIGHTS}
        wrong, results = [], []
        for item in self.items:
            result = grade_question(item.question, item.answer) if item.answer else None
            results.append(result)
            ok = bool(result and result.correct)
            per_domain[item.question.domain][0] += ok
            per_domain[item.question.domain][1] += 1
            if not ok:
                wrong.append((item, result))
        correct = sum(c for c, _ in per_domain.values())
        self.report = ExamReport(
            total=len(self.items), correct=correct,
            per_domain={d: (c, t) for d, (c, t) in per_domain.items() if t},
            wrong=wrong, unanswered=len(self.unanswered()), elapsed_s=min(self.elapsed(), self.minutes * 60),
            timed_out=timed_out, results=results)
        if self._record:
            self._save(results)
        return self.report

    def _save(self, results) -> None:
        """Record every question the exam asked: an unanswered one as not correct, as the real exam scores it, so the
        progress chart and this report agree."""
        import datetime as dt

        from .progress import default_store

        store = self._store if self._store is not None else default_store()
        with store.batch():
            for item, result in zip(self.items, results):
                at = dt.datetime.fromtimestamp(item.answered_at, dt.timezone.utc) if item.answered_at else None
                store.record(item.question.id, correct=bool(result and result.correct), mode="exam",
                             answer=list(result.given) if result is not None else None,
                             section=item.question.section, domain=item.question.domain, at=at, source=self)

    def __repr__(self):
        state = "finished" if self.finished else ("running" if self.started else "not started")
        return f"<Exam {len(self.items)} questions, {self.minutes:g} min, seed {self.seed}, {state}>"
