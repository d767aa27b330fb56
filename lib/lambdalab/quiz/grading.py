"""Grading, in plain Python: ``grade(question_id, answer)`` -> ``Result``. No widgets, no side effects.

Choice questions take option letters (``"B"``, ``["A", "D"]``, ``"A, D"``) or, for a single answer, the option's
text. A multiple-response question is right only when exactly the correct set is chosen ("Select TWO" with one of
the two right is wrong, as on the exam).

Free text has three outcomes (``Result.verdict``): "correct" when the answer equals a model answer or states the key
idea, "incorrect" when it states something wrong or negates the idea, and "unsure" when the rules cannot tell
(``free_text.py`` says how). An unsure answer is not guessed: the learner sees the model answer and says whether they
had it (``self_assess``), and progress records that it was self-assessed. Answers over 40 words are not graded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .bank import SELECT_WORDS, Question, load_bank
from .free_text import CORRECT, INCORRECT, UNSURE, judge

MAX_TEXT_WORDS = 40  # free-text answers are a phrase or a sentence; longer ones are not graded


@dataclass
class Result:
    """The outcome of one answer: ``correct``, a short ``feedback`` line, and the ``explanation`` of every option.

    ``verdict`` is "correct", "incorrect" or (free text the grader cannot judge) "unsure"; an unsure result has
    ``correct`` False until the learner assesses it with ``self_assess``, which sets ``self_assessed``.
    """

    question_id: str
    correct: bool
    given: tuple | str
    feedback: str
    explanation: str
    chosen: dict = field(default_factory=dict)  # letter -> explanation, for the options the learner picked
    verdict: str = ""
    self_assessed: bool = False

    def __post_init__(self):
        if not self.verdict:
            self.verdict = CORRECT if self.correct else INCORRECT

    @property
    def needs_self_assessment(self) -> bool:
        return self.verdict == UNSURE and not self.self_assessed

    def __str__(self):
        head = ("Cannot tell" if self.needs_self_assessment else "Correct" if self.correct else "Not quite")
        return f"{head}: {self.feedback}\n\n{self.explanation}"


def grade(question_id: str, answer, *, bank=None) -> Result:
    """Grade ``answer`` for the question ``question_id``; ValueError for an unknown id or an unusable answer."""
    q = (bank if bank is not None else load_bank())[question_id]
    return grade_question(q, answer)


def grade_question(q: Question, answer) -> Result:
    return _grade_text(q, answer) if q.type == "text" else _grade_choice(q, answer)


# --- choice questions -------------------------------------------------------------------------------------------

def parse_choice(q: Question, answer) -> tuple[str, ...]:
    """Turn what the learner gave into option letters, or raise ValueError saying what to give instead.

    Accepted: ``"B"``, ``"b."``, ``"(B)"``, ``"A, D"``, ``"A and D"``, ``"AD"``, a list/tuple/set of those, or a single
    option's text. Duplicates count once.
    """
    valid = list(q.options)
    if answer is None or (isinstance(answer, (str, list, tuple, set, frozenset)) and not answer):
        raise ValueError(f"No answer given for {q.id!r}: choose {'one option' if q.select == 1 else f'{q.select} options'} "
                         f"from {', '.join(valid)}.")
    if isinstance(answer, (str, bytes)):
        parts = [answer.decode() if isinstance(answer, bytes) else answer]
    else:
        try:
            parts = [str(a) for a in answer]
        except TypeError:
            raise ValueError(f"Answer {q.id!r} with option letters (e.g. 'B' or 'A, D'), not {answer!r}.") from None
    letters = [letter for part in parts for letter in _letters(q, part)]
    unknown = [s for s in dict.fromkeys(letters) if s not in valid]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not an option of {q.id!r}; the options are {', '.join(valid)}.")
    if not letters:
        raise ValueError(f"No answer given for {q.id!r}: choose from {', '.join(valid)}.")
    if q.type == "single" and len(set(letters)) != 1:
        raise ValueError(f"{q.id!r} has one correct answer: choose one option, not {len(set(letters))}.")
    return tuple(sorted(set(letters)))


def _letters(q: Question, text: str) -> list[str]:
    """The option letters in one piece of an answer: an option's text, or letters with separators between them."""
    by_text = {normalize(t): k for k, t in q.options.items()}
    if normalize(text) in by_text:
        return [by_text[normalize(text)]]
    words = re.sub(r"(?i)\b(options?|answers?|and)\b|[&+|]", " ", text)  # "options A and D", "A & D"
    tokens = [t.strip(".()[]'\"") for t in re.split(r"[\s,;/]+", words)]
    tokens = [t for t in tokens if t]
    valid = set(q.options)
    if not tokens or not all(re.fullmatch(r"[A-Za-z]+", t) for t in tokens) or \
            any(len(t) > 1 and not set(t.upper()) <= valid for t in tokens) or sum(map(len, tokens)) > len(valid):
        raise ValueError(f"Answer {q.id!r} with option letters (e.g. 'B' or 'A, D'), not {text!r}.")
    return [letter.upper() for t in tokens for letter in t]


def _grade_choice(q: Question, answer) -> Result:
    given = parse_choice(q, answer)
    correct = set(given) == set(q.answer)
    if correct:
        feedback = "Correct."
    elif q.type == "multiple" and len(given) != q.select:
        word = SELECT_WORDS.get(q.select, str(q.select))
        feedback = f"This question asks you to select {word}; you selected {len(given)}."
    elif q.type == "multiple" and set(given) & set(q.answer):
        feedback = "Part of your selection is right, but every selected option must be correct."
    else:
        feedback = "That is not the best answer."
    return Result(q.id, correct, given, feedback, explain_choice(q), {k: q.explanations[k] for k in given})


def explain_choice(q: Question) -> str:
    """Every option with whether it is right and why (shown only after the learner answers)."""
    lines = []
    for key, text in q.options.items():
        mark = "Correct" if key in q.answer else "Wrong"
        lines.append(f"{key}. {text}\n   {mark}: {q.explanations[key]}")
    return "\n".join(lines)


# --- free text --------------------------------------------------------------------------------------------------

def normalize(text) -> str:
    """Lower case, apostrophes dropped, every other non-alphanumeric run turned into one space."""
    text = str(text).lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def text_verdict(q: Question, answer: str) -> str:
    """"correct", "incorrect" or "unsure" for a free-text answer (see ``free_text.judge``)."""
    norm = normalize(answer)
    if len(norm.split()) > MAX_TEXT_WORDS:  # a list of every keyword is not an answer
        return INCORRECT
    accepted = {normalize(a) for a in q.accepted}
    if norm in accepted or norm.replace(" ", "") in {a.replace(" ", "") for a in accepted}:
        return CORRECT
    return judge(q.rules, answer).outcome


def text_matches(q: Question, answer: str) -> bool:
    """True only when the answer is graded correct (unsure is not a match)."""
    return text_verdict(q, answer) == CORRECT


def _grade_text(q: Question, answer) -> Result:
    if answer is None or not normalize(answer):
        raise ValueError(f"No answer given for {q.id!r}: type a few words.")
    verdict = text_verdict(q, str(answer))
    if verdict == CORRECT:
        feedback = "Correct."
    elif len(normalize(answer).split()) > MAX_TEXT_WORDS:
        feedback = f"Answer in one short sentence (at most {MAX_TEXT_WORDS} words), as on a flashcard."
    elif verdict == UNSURE:
        feedback = ("The grader cannot tell from these words whether your answer says the same thing. Compare it "
                    "with the model answer and say whether you had it.")
    else:
        feedback = "That does not match the expected answer."
    model = q.accepted[0]
    explanation = f"Expected answer: {model}.\n{q.explanation}"
    return Result(q.id, verdict == CORRECT, str(answer), feedback, explanation, verdict=verdict)


def self_assess(result: Result, had_it: bool) -> Result:
    """The learner's own judgement of an answer the grader could not judge: "I had it" (True) or "I did not"."""
    if result.verdict != UNSURE:
        raise ValueError(f"Only an answer the grader could not judge is self-assessed; {result.question_id!r} was "
                         f"graded {result.verdict}.")
    feedback = ("You said your answer matches the model answer." if had_it else
                "You said your answer does not match the model answer: read the explanation, then try again later.")
    return Result(result.question_id, bool(had_it), result.given, feedback, result.explanation,
                  verdict=UNSURE, self_assessed=True)
