"""Grading in plain Python: right and wrong for every question type, answer formats, clear errors."""
import pytest

from lambdalab import quiz
from lambdalab.quiz import grading
from lambdalab.quiz.bank import load_bank

BANK = load_bank()
CHOICE = [q for q in BANK if q.is_choice]


# --- single answer ----------------------------------------------------------------------------------------------

def test_single_answer_right_and_wrong():
    right = quiz.grade("s3-unquote-plus", "A")
    assert right.correct and right.feedback == "Correct."
    wrong = quiz.grade("s3-unquote-plus", "B")
    assert not wrong.correct and wrong.given == ("B",)
    q = BANK["s3-unquote-plus"]
    assert wrong.chosen == {"B": q.explanations["B"]}
    # the explanation covers every option, and says which one is right
    for text in q.explanations.values():
        assert text in wrong.explanation
    assert "A. " in wrong.explanation and "Correct: " + q.explanations["A"] in wrong.explanation


@pytest.mark.parametrize("answer", ["a", " A ", ["A"], ("a",), {"A"}])
def test_single_answer_formats(answer):
    assert quiz.grade("mem-1769", answer).correct


def test_single_answer_by_option_text():
    assert quiz.grade("mem-1769", "1,769 MB").correct
    assert not quiz.grade("mem-1769", "1,792 mb").correct  # the stale figure is a wrong option


@pytest.mark.parametrize("q", CHOICE, ids=lambda q: q.id)
def test_every_key_is_graded_right_and_every_other_option_wrong(q):
    assert grading.grade_question(q, list(q.answer)).correct
    for key in q.options:
        if key not in q.answer:
            given = [key] if q.type == "single" else [key, *q.answer[1:]]
            assert not grading.grade_question(q, given).correct, (q.id, given)


# --- multiple response ------------------------------------------------------------------------------------------

def test_select_two_needs_exactly_both():
    q = BANK["s3-recursion"]
    assert q.answer == ("A", "B")
    assert quiz.grade(q.id, ["A", "B"]).correct
    assert quiz.grade(q.id, "B, A").correct and quiz.grade(q.id, "ab").correct
    one = quiz.grade(q.id, ["A"])  # one of the two right is still wrong, as on the exam
    assert not one.correct and "select TWO; you selected 1" in one.feedback
    three = quiz.grade(q.id, ["A", "B", "C"])
    assert not three.correct and "you selected 3" in three.feedback
    mixed = quiz.grade(q.id, ["A", "E"])
    assert not mixed.correct and "Part of your selection is right" in mixed.feedback
    assert not quiz.grade(q.id, ["C", "D"]).correct


def test_select_three():
    q = next(q for q in BANK if q.type == "multiple" and q.select == 3)
    assert quiz.grade(q.id, list(q.answer)).correct
    assert not quiz.grade(q.id, list(q.answer[:2])).correct
    wrong = next(k for k in q.options if k not in q.answer)
    assert not quiz.grade(q.id, [*q.answer[:2], wrong]).correct


# --- free text --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("qid, answer", [
    ("seed-router-text", "Amazon EventBridge"),
    ("seed-router-text", "eventbridge"),
    ("seed-router-text", "  EVENT-BRIDGE!! "),
    ("seed-router-text", "Amazon CloudWatch Events"),
    ("seed-streams-text", "Real-time reaction to every change; downstream systems stay in sync."),
    ("seed-streams-text", "it keeps downstream systems in sync"),
    ("seed-streams-text", "the function reacts immediately to each update"),
    ("seed-secrets-text", "Better security, rotation, no plain text in the console"),
    ("seed-secrets-text", "the password can be rotated automatically"),
    ("seed-secrets-text", "It isn't visible in plaintext"),
    ("seed-memory-text", "CPU scales linearly with configured memory"),
    ("seed-memory-text", "more memory gives proportionally more CPU"),
    ("seed-memory-text", "At 1,769 MB you get a full vCPU"),
    ("seed-least-privilege-text", "Only the permissions the task needs"),
    ("seed-least-privilege-text", "just the minimum access required"),
    ("seed-least-privilege-text", "the permissions it needs and never full access"),
])
def test_free_text_right_answers_and_synonyms(qid, answer):
    assert quiz.grade(qid, answer).correct, answer


@pytest.mark.parametrize("qid, answer", [
    ("seed-router-text", "Amazon SQS"),
    ("seed-router-text", "AWS Step Functions"),
    ("seed-streams-text", "cheaper storage"),
    ("seed-streams-text", "it backs up the table"),
    ("seed-secrets-text", "it is faster"),
    ("seed-secrets-text", "Secrets Manager is cheaper and more secure"),  # a rejected claim makes it wrong
    ("seed-memory-text", "it has no effect on CPU"),
    ("seed-memory-text", "memory doesn't affect CPU"),
    ("seed-memory-text", "CPU is configured separately"),
    ("seed-least-privilege-text", "give it admin access"),
    ("seed-least-privilege-text", "all permissions"),
    ("seed-least-privilege-text", "least privilege"),  # restating the question is not an answer
])
def test_free_text_wrong_answers(qid, answer):
    result = quiz.grade(qid, answer)
    assert not result.correct, answer
    assert result.explanation.startswith("Expected answer: ")


def test_normalize_is_case_and_punctuation_insensitive():
    assert grading.normalize("  Amazon-EventBridge!! ") == "amazon eventbridge"
    assert grading.normalize("doesn\u2019t") == grading.normalize("doesnt") == "doesnt"


# --- errors -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("qid, answer, message", [
    ("nope-not-a-question", "A", "No question with id"),
    ("mem-1769", None, "No answer given"),
    ("mem-1769", "", "No answer given"),
    ("mem-1769", [], "No answer given"),
    ("mem-1769", "Z", "Z is not an option"),
    ("mem-1769", "A, B", "choose one option"),
    ("mem-1769", "Amazon Kinesis", "option letters"),
    ("seed-router-text", "   ", "No answer given"),
    ("s3-recursion", ["A", "X"], "X is not an option"),
])
def test_unusable_answers_raise_a_clear_error(qid, answer, message):
    with pytest.raises(ValueError, match=message):
        quiz.grade(qid, answer)


def test_result_reads_well_as_text():
    text = str(quiz.grade("mem-1769", "B"))
    assert text.startswith("Not quite") and "1,769 MB" in text


@pytest.mark.parametrize("qid, answer", [
    ("seed-streams-text", "not real time, changes are batched"),
    ("seed-streams-text", "the table is never up to date after changes"),
    ("seed-router-text", "SQS, not EventBridge"),
    ("seed-memory-text", "CPU is not proportional to memory"),
    ("seed-memory-text", "memory does not increase the CPU"),
    ("seed-secrets-text", "it is not more secure"),
])
def test_a_negated_keyword_does_not_count(qid, answer):
    assert not quiz.grade(qid, answer).correct, answer


def test_negation_elsewhere_in_a_right_answer_is_fine():
    assert quiz.grade("seed-secrets-text", "it is not stored in plain text").correct
    assert quiz.grade("seed-streams-text", "you do not have to poll: every change reaches Lambda in real time").correct


def test_a_list_of_every_keyword_is_not_an_answer():
    dump = " ".join(w for idea in BANK["seed-streams-text"].ideas for group in idea for w in group)
    result = quiz.grade("seed-streams-text", dump * 3)
    assert not result.correct and "at most 40 words" in result.feedback
    assert not quiz.grade("seed-streams-text", "real time change " * 10_000).correct  # and a long one is quick


@pytest.mark.parametrize("answer", ["A and B", "A & B", "options A and B", "A. B", "(a), (b)", ["A, B"],
                                    ["a", "b", "a"], "B; A;"])
def test_select_two_answer_formats_a_learner_types(answer):
    assert quiz.grade("s3-recursion", answer).correct


@pytest.mark.parametrize("answer", ["b.", "(B)", "B)", ["1,792 MB"]])
def test_single_answer_with_punctuation_or_option_text_in_a_list(answer):
    result = quiz.grade("mem-1769", answer)
    assert result.given == ("B",) and not result.correct


@pytest.mark.parametrize("answer", [1, 2.5, "A or B", "A-B"])
def test_answers_that_are_not_option_letters_get_the_format_error(answer):
    with pytest.raises(ValueError, match="with option letters"):
        quiz.grade("s3-recursion", answer)


@pytest.mark.parametrize("question_id, answer", [
    ("seed-router-text", "Amazon EventBridge (formerly CloudWatch Events)"),
    ("seed-streams-text", "Your code reacts to every change in near real time and downstream systems stay in sync"),
    ("seed-secrets-text", "Better security: secrets are rotated and never shown in plain text in the console"),
    ("seed-memory-text", "CPU is allocated in proportion to the memory you configure"),
    ("seed-least-privilege-text", "Grant no more permissions than the function needs"),
    ("seed-least-privilege-text", "only the permissions its task requires, nothing more"),
])
def test_natural_right_answers_to_the_seed_questions_are_accepted(question_id, answer):
    assert quiz.grade(question_id, answer).correct, answer
