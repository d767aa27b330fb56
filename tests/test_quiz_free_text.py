"""Free-text grading measured on labelled learner answers: no wrong answer is ever graded correct.

tests/data/free_text_labelled.yaml holds, per free-text question, at least 30 right and 30 wrong answers (paraphrases,
negations, reversals, partial answers, typos) plus held-out answers that were not used to tune the rules.
Precision must be 100% (no wrong answer graded correct); recall (right answers graded correct, the rest are "cannot
tell" and go to self-assessment) is printed (run with -s) and must stay at or above its measured floor.
"""
import pathlib

import pytest
import yaml

from lambdalab.quiz import grading
from lambdalab.quiz.bank import load_bank
from lambdalab.quiz.free_text import CORRECT, INCORRECT, UNSURE, Rules, compile_phrase, judge, tokenize

BANK = load_bank()
LABELLED = yaml.safe_load((pathlib.Path(__file__).parent / "data" / "free_text_labelled.yaml").read_text())
TEXT_IDS = [q.id for q in BANK if q.type == "text"]
RECALL_FLOOR = 0.90  # measured 0.94-1.00 per question on the first answers, 0.93-1.00 on the later batches
HELDOUT_RECALL_FLOOR = 0.80


def verdicts(qid, answers):
    return [(a, grading.text_verdict(BANK[qid], a)) for a in answers]


def test_every_free_text_question_has_a_labelled_set():
    assert sorted(LABELLED) == sorted(TEXT_IDS)
    for qid, sets in LABELLED.items():
        assert len(sets["right"]) >= 30 and len(sets["wrong"]) >= 30, qid
        assert len(set(sets["right"])) == len(sets["right"]) and len(set(sets["wrong"])) == len(sets["wrong"]), qid
        assert not set(sets["right"] + sets["heldout_right"]) & set(sets["wrong"] + sets["heldout_wrong"]), qid


@pytest.mark.parametrize("qid", TEXT_IDS)
def test_no_wrong_answer_is_ever_graded_correct(qid):
    wrong = LABELLED[qid]["wrong"] + LABELLED[qid]["heldout_wrong"]
    passed = [a for a, v in verdicts(qid, wrong) if v == CORRECT]
    assert passed == [], f"{qid}: wrong answers graded correct: {passed}"


@pytest.mark.parametrize("qid", TEXT_IDS)
def test_no_right_answer_is_graded_incorrect(qid):
    """A right answer may be 'cannot tell' (the learner self-assesses), but is never called wrong."""
    right = LABELLED[qid]["right"] + LABELLED[qid]["heldout_right"]
    refused = [a for a, v in verdicts(qid, right) if v == INCORRECT]
    assert refused == [], f"{qid}: right answers graded incorrect: {refused}"


@pytest.mark.parametrize("qid", TEXT_IDS)
def test_recall_on_right_answers(qid):
    for label, floor in (("right", RECALL_FLOOR), ("heldout_right", HELDOUT_RECALL_FLOOR)):
        results = verdicts(qid, LABELLED[qid][label])
        recall = sum(v == CORRECT for _, v in results) / len(results)
        wrong = verdicts(qid, LABELLED[qid][label.replace("right", "wrong")])
        caught = sum(v == INCORRECT for _, v in wrong) / len(wrong)
        print(f"\n{qid} {label}: recall {recall:.0%} ({len(results)} right answers); precision 100%; "
              f"wrong answers called wrong {caught:.0%}, the rest 'cannot tell'")
        assert recall >= floor, [a for a, v in results if v != CORRECT]


def test_overall_numbers(capsys):
    right = [(q, a) for q in TEXT_IDS for a in LABELLED[q]["right"] + LABELLED[q]["heldout_right"]]
    wrong = [(q, a) for q in TEXT_IDS for a in LABELLED[q]["wrong"] + LABELLED[q]["heldout_wrong"]]
    tp = sum(grading.text_verdict(BANK[q], a) == CORRECT for q, a in right)
    fp = sum(grading.text_verdict(BANK[q], a) == CORRECT for q, a in wrong)
    with capsys.disabled():
        print(f"\nfree text, all labelled answers: recall {tp}/{len(right)} = {tp / len(right):.1%}, "
              f"precision {tp}/{tp + fp} = {tp / (tp + fp):.1%} ({len(wrong)} wrong answers, {fp} graded correct)")
    assert fp == 0 and tp / len(right) >= RECALL_FLOOR


# --- the seed complaints from issue 15, by name --------------------------------------------------------------------

@pytest.mark.parametrize("qid, answer", [
    ("seed-memory-text", "Memory has no impact on CPU; you only get more RAM"),
    ("seed-memory-text", "CPU stays the same, only more memory"),
    ("seed-secrets-text", "environment variables are more secure than secrets manager"),
    ("seed-least-privilege-text", "all the access it could need"),
])
def test_the_audits_contradictions_are_graded_incorrect(qid, answer):
    result = grading.grade(qid, answer)
    assert not result.correct and result.verdict == INCORRECT


# --- the rules, piece by piece ------------------------------------------------------------------------------------

def rules(ideas, wrong=(), context=""):
    return Rules.from_spec(ideas, wrong, context=context)


def test_an_idea_needs_every_group():
    r = rules([[["cpu"], ["scales", "increases"]]])
    assert judge(r, "CPU scales").outcome == CORRECT
    assert judge(r, "it scales").outcome == UNSURE
    assert judge(r, "CPU").outcome == UNSURE


@pytest.mark.parametrize("answer, outcome", [
    ("not real time", INCORRECT),
    ("it is never in real time", INCORRECT),
    ("real time, not batched", CORRECT),  # the negation is in another clause
    ("batched rather than real time", INCORRECT),
    ("less real time", INCORRECT),  # a diminisher negates too
    ("real time but not batched", CORRECT),
])
def test_negation_scope_stays_inside_its_clause(answer, outcome):
    assert judge(rules([[["real time"]]], context="batched"), answer).outcome == outcome


def test_a_negator_inside_a_phrase_of_the_rules_is_not_a_negation():
    r = rules([[["only", "no more"], ["needs", "needed"]]])
    assert judge(r, "no more permissions than it needs").outcome == CORRECT
    assert judge(r, "not only what it needs").outcome in (INCORRECT, UNSURE)


def test_a_phrase_marked_not_must_be_negated():
    r = rules([[["not plain text"]]], context="shown")
    assert judge(r, "it is never shown in plain text").outcome == CORRECT
    assert judge(r, "it is in plain text").outcome == UNSURE


def test_wrong_phrases_win_unless_negated():
    r = rules([[["eventbridge"]]], ["sns"])
    assert judge(r, "EventBridge or SNS").outcome == INCORRECT
    assert judge(r, "EventBridge, not SNS").outcome == CORRECT
    assert judge(r, "EventBridge (not SNS)").outcome == CORRECT


def test_gaps_and_alternatives():
    [a, b] = compile_phrase("{env var|environment variables} ... safer")
    assert a.words == ("env", "var", "...", "safer") and b.words[0] == "environment"
    r = rules([[["secure"]]], ["{env vars|environment variables} ... safer"], context="much might")
    assert judge(r, "environment variables are much safer").outcome == INCORRECT
    assert judge(r, "secure; environment variables, which you might think are safer").outcome == CORRECT  # 5 words
    with pytest.raises(ValueError, match="no words"):
        compile_phrase("{|}")


def test_typos_are_read_as_the_nearest_rule_word_only_when_unique_and_close():
    r = rules([[["eventbridge"]]], ["decrease"])
    assert judge(r, "Eventbrdige").outcome == CORRECT  # two letters swapped: one edit
    assert judge(r, "EventBrige").outcome == CORRECT
    r2 = rules([[["cpu"], ["increases"]]])
    assert judge(r2, "cpu decreases").outcome != CORRECT  # a real word is never "corrected" into its opposite


def test_an_unknown_word_makes_a_right_sounding_answer_unsure():
    r = rules([[["cpu"], ["more"]]])
    assert judge(r, "more CPU").outcome == CORRECT
    assert judge(r, "CPU goes down with more memory").outcome == UNSURE  # "down" is not a word the rules know


def test_tokens_keep_numbers_and_wildcards():
    words = [t.word for t in tokenize("At 1,769 MB: not s3:*")]
    assert words == ["at", "1769", "mb", "not", "s3", "wildcard"]


# --- results and self-assessment ----------------------------------------------------------------------------------

def test_unsure_answers_ask_for_self_assessment():
    result = grading.grade("seed-router-text", "Even Bridge")
    assert result.verdict == UNSURE and not result.correct and result.needs_self_assessment
    assert str(result).startswith("Cannot tell") and "model answer" in result.feedback
    had = grading.self_assess(result, True)
    assert had.correct and had.self_assessed and not had.needs_self_assessment
    did_not = grading.self_assess(result, False)
    assert not did_not.correct and did_not.self_assessed


def test_only_unsure_answers_can_be_self_assessed():
    with pytest.raises(ValueError, match="graded incorrect"):
        grading.self_assess(grading.grade("seed-router-text", "SNS"), True)
    with pytest.raises(ValueError, match="graded correct"):
        grading.self_assess(grading.grade("seed-router-text", "EventBridge"), False)


def test_choice_results_have_a_two_way_verdict():
    assert grading.grade("mem-1769", "A").verdict == CORRECT
    assert grading.grade("mem-1769", "B").verdict == INCORRECT
